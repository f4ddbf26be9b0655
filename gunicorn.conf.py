"""Gunicorn settings (make run, the Docker image and the tests all start from this file).

gevent workers: every connection is a greenlet, so slow clients and open WebSockets (Socket.IO)
wait without holding a thread while other requests are served; the measurements that chose this
are in the README ("Deploying"). The database drivers cooperate (psycopg 3 detects gevent's
patched select; SQLite calls are short and run in place).
"""

import os

worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gevent")
workers = int(os.environ.get("GUNICORN_WORKERS") or os.environ.get("WEB_CONCURRENCY") or 1)
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "2000"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))  # only for GUNICORN_WORKER_CLASS=gthread
keepalive = 5  # idle keep-alive connections are closed after this (a proxy in front keeps clients')
timeout = 60  # a worker silent this long is restarted
graceful_timeout = 20
# Requests larger than these are refused before the app sees them.
limit_request_line = 8190
limit_request_fields = 100
# gunicorn's control socket is one path per user: several instances on a machine would share it.
control_socket_disable = True


def child_exit(server, worker):
    """Tell Prometheus' multiprocess collector that a worker's live gauges are gone."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker):
    """Everything loaded so far lives as long as the worker: keep it out of the garbage collector's
    scans, which otherwise stall every request in the process now and then."""
    import gc
    import logging

    gc.freeze()
    # No format of the app's or gunicorn's names the calling function, file or thread: a serving
    # worker skips working them out for every record (the logging HOWTO's "Optimization"; the
    # agents' access line is one record per call). The CLI and the tests keep them.
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False


# Background jobs (webapp/jobs): one consumer beside the web workers, so `make run` and the Docker
# image need nothing else. JOBS_CONSUMER=none when consumers run elsewhere (another host, on Redis).
def when_ready(server):
    if os.environ.get("JOBS_CONSUMER", "embedded") != "embedded":
        return
    import subprocess
    import sys

    server.jobs_consumer = subprocess.Popen([sys.executable, "-m", "webapp.jobs"])
    server.log.info("Started the background job consumer (pid %s)", server.jobs_consumer.pid)


def on_exit(server):
    consumer = getattr(server, "jobs_consumer", None)
    if consumer is not None and consumer.poll() is None:
        consumer.terminate()
        try:
            consumer.wait(timeout=15)
        except Exception:  # noqa: BLE001 (a consumer that will not stop is killed)
            consumer.kill()
