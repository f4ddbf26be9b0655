"""Gunicorn settings read from ./gunicorn.conf.py; the command line (Makefile, docker/boot.sh) adds the rest."""

import os


def child_exit(server, worker):
    """Tell Prometheus' multiprocess collector that a worker's live gauges are gone."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
