"""The serving model, measured: what slow clients and idle WebSockets cost everyone else.

    .venv/bin/python bench/serving.py [--duration 8]

For gunicorn from gunicorn.conf.py with gevent workers (as shipped) and, for comparison, gthread
with 8 threads, each directly and behind docker/nginx.conf:

1. /health latency while 100 connections hold half-sent request headers (target < 1 s);
2. spec-000 GET throughput (wrk, 32 connections) with no other clients, then with 200 idle
   Socket.IO connections (python-socketio clients over WebSocket) open (target: at most 20 % lower).

SQLite and in-process rate limits, one worker; the spec-000 ratio itself is bench/run.py's.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests
import socketio
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import PATH, free_port, prepare, serve, wrk  # noqa: E402
from tests.nginx_server import Nginx  # noqa: E402

SLOW = 100
IDLE_SOCKETS = 200
TARGETS = {"slow_health_ms": 1000.0, "socket_throughput": 0.8}


def health_latency_ms(url: str, port: int) -> float:
    """Median /health latency (5 tries, 5 s timeout each) while SLOW clients hold half a request."""
    clients = []
    try:
        for _ in range(SLOW):
            client = socket.create_connection(("127.0.0.1", port), timeout=5)
            client.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            clients.append(client)
        time.sleep(0.5)
        samples = []
        for _ in range(5):
            started = time.perf_counter()
            try:
                requests.get(f"{url}/health", timeout=5)
                samples.append((time.perf_counter() - started) * 1000)
            except requests.RequestException:
                samples.append(5000.0)
        return statistics.median(samples)
    finally:
        for client in clients:
            client.close()


def session_cookie(env: dict) -> str:
    from webapp import create_app
    from webapp.accounts import service as accounts

    app = create_app(env=env)
    with app.app_context():
        accounts.create_account(email="live@bench.example.com", password="Bench-passw0rd", username=None,
                                admin=False, logins={})
    client = app.test_client()  # production cookies are Secure: sign in over (simulated) HTTPS
    page = client.get("/auth/login", base_url="https://localhost").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    signed_in = client.post("/auth/login", base_url="https://localhost", headers={"Referer": "https://localhost/"},
                            data={"login": "live@bench.example.com", "password": "Bench-passw0rd", "csrf_token": token})
    assert signed_in.status_code == 302, signed_in.status_code
    return client.get_cookie("agentdesk_session").value


def idle_sockets(url: str, cookie: str) -> list:
    clients = []
    for _ in range(IDLE_SOCKETS):
        client = socketio.Client(reconnection=False)
        client.connect(url, headers={"Cookie": f"agentdesk_session={cookie}"}, transports=["websocket"],
                       wait_timeout=10)
        clients.append(client)
    return clients


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=8)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    workdir = Path(tempfile.mkdtemp(prefix="agentdesk-serving-"))
    env = {"APP_ENV": "production", "SECRET_KEY": Fernet.generate_key().decode() * 2,
           "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
           "JWT_SIGNING_KEYS": "bench:" + Fernet.generate_key().decode(), "DATABASE_URL": f"sqlite:///{workdir}/bench.db",
           "RATELIMIT_STORAGE_URI": "memory://", "LOG_LEVEL": "WARNING", "BENCH_PATH": PATH,
           "METRICS_TOKEN": "bench-metrics-token-not-scraped-here", "DB_WRITER_SPILL_PATH": str(workdir / "spill")}
    results, ok = {}, True
    try:
        tokens_file, _ = prepare(env, workdir)
        env["BENCH_TOKENS_FILE"] = str(tokens_file)
        cookie = session_cookie(env)
        for worker_class in ("gevent", "gthread"):
            port = free_port()
            server = serve("wsgi:app", {**env, "GUNICORN_WORKER_CLASS": worker_class, "GUNICORN_THREADS": "8"}, port)
            proxy = Nginx(port)
            try:
                direct, proxied = f"http://127.0.0.1:{port}", proxy.url
                row = {"health_ms_direct": health_latency_ms(direct, port),
                       "health_ms_nginx": health_latency_ms(proxied, proxy.port)}
                time.sleep(1)
                if worker_class == "gevent":
                    wrk(port, env, 3, 32)  # warm-up
                    quiet = wrk(port, env, args.duration, 32)["rps"]
                    sockets = idle_sockets(direct, cookie)
                    try:
                        busy = wrk(port, env, args.duration, 32)["rps"]
                    finally:
                        for client in sockets:
                            client.disconnect()
                    row.update(rps_quiet=quiet, rps_with_idle_sockets=busy, socket_ratio=busy / quiet)
                results[worker_class] = row
            finally:
                proxy.stop()
                server.terminate()
                server.wait(timeout=30)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    for worker_class, row in results.items():
        print(f"{worker_class:8} /health with {SLOW} slow clients: {row['health_ms_direct']:.0f} ms direct, "
              f"{row['health_ms_nginx']:.0f} ms behind nginx")
    gevent = results["gevent"]
    print(f"gevent   GET llm-config: {gevent['rps_quiet']:.0f} req/s alone, {gevent['rps_with_idle_sockets']:.0f} "
          f"req/s with {IDLE_SOCKETS} idle Socket.IO connections ({gevent['socket_ratio']:.2f}x, target >= "
          f"{TARGETS['socket_throughput']}x)")
    ok = (gevent["health_ms_direct"] < TARGETS["slow_health_ms"] and gevent["health_ms_nginx"] < TARGETS["slow_health_ms"]
          and gevent["socket_ratio"] >= TARGETS["socket_throughput"])
    print(json.dumps({"results": results, "targets_met": ok}, default=lambda v: round(v, 2)))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
