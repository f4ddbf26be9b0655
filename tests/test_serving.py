"""The serving model, measured as it ships: gunicorn from gunicorn.conf.py (gevent workers) facing
clients directly, and docker/nginx.conf in front of it. Slow clients and open WebSockets must not
keep anyone else waiting. (The throughput figures are in bench/serving.py and the README.)"""

from __future__ import annotations

import socket
import threading
import time

import pytest
import requests
import socketio

from tests.api_helpers import make_user
from tests.conftest import PASSWORD, login
from tests.gunicorn_server import Gunicorn
from tests.nginx_server import Nginx
from webapp import create_app

SLOW_CLIENTS = 100


@pytest.fixture
def served(app_env):
    server = Gunicorn(app_env).wait()
    yield server
    server.stop()


@pytest.fixture
def proxied(served):
    proxy = Nginx(served.port)
    yield proxy
    proxy.stop()


def slow_header_clients(port: int, count: int = SLOW_CLIENTS) -> list[socket.socket]:
    """Connections that start a request and never finish its headers (the reported attack)."""
    clients = []
    for _ in range(count):
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        client.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        clients.append(client)
    return clients


def _health_while(url: str, port: int) -> int:
    clients = slow_header_clients(port)
    try:
        time.sleep(0.3)
        return requests.get(f"{url}/health", timeout=5).status_code
    finally:
        for client in clients:
            client.close()


def test_a_hundred_slow_clients_do_not_stop_the_app(served):
    assert _health_while(served.url, served.port) == 200


def test_nor_through_the_proxy(served, proxied):
    assert _health_while(proxied.url, proxied.port) == 200


def test_the_proxy_holds_a_slowly_sent_body_until_it_is_complete():
    """nginx buffers the request: the upstream sees no connection while a body is still trickling in."""
    upstream = socket.create_server(("127.0.0.1", 0))
    upstream.settimeout(1.5)
    proxy = Nginx(upstream.getsockname()[1])
    client = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
    try:
        client.sendall(b"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
                       b"\r\nContent-Length: 1000\r\n\r\nlogin=")
        with pytest.raises(socket.timeout):
            upstream.accept()  # nothing reaches the app ...
        client.sendall(b"x" * 994)
        connection, _ = upstream.accept()  # ... until the whole body is there
        connection.settimeout(5)
        received = b""
        while b"x" * 994 not in received:
            received += connection.recv(65536)
        connection.close()
    finally:
        client.close()
        proxy.stop()
        upstream.close()


def _signed_in_cookie(app_env) -> str:
    app = create_app(env=app_env)
    make_user(app, "live@example.com")
    client = app.test_client()
    assert login(client, "live@example.com", PASSWORD).status_code == 302
    return client.get_cookie("agentdesk_session").value


@pytest.mark.parametrize("through", ["gunicorn", "nginx"])
def test_signed_in_browsers_hold_a_websocket_and_strangers_are_refused(app_env, served, through, request):
    url = served.url if through == "gunicorn" else request.getfixturevalue("proxied").url
    cookie = _signed_in_cookie(app_env)
    member = socketio.Client(reconnection=False)
    member.connect(url, headers={"Cookie": f"agentdesk_session={cookie}"}, transports=["websocket"],
                   wait_timeout=5)
    try:
        assert member.connected and member.transport() == "websocket"
        assert requests.get(f"{url}/health", timeout=5).status_code == 200  # the app serves on meanwhile
    finally:
        member.disconnect()
    stranger = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        stranger.connect(url, transports=["websocket"], wait_timeout=5)


def test_the_image_boot_script_starts_alone_in_production(tmp_path):
    """README's single-container `docker run`: production settings, no Redis, so one worker."""
    import os
    import secrets
    import subprocess
    import sys
    from pathlib import Path

    from cryptography.fernet import Fernet

    from tests.gunicorn_server import ROOT, free_port

    port = free_port()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "APP_ENV": "production",
           "SECRET_KEY": secrets.token_urlsafe(48), "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
           "JWT_SIGNING_KEYS": f"k1:{secrets.token_urlsafe(48)}", "METRICS_TOKEN": secrets.token_urlsafe(24), "DATABASE_URL": f"sqlite:///{tmp_path}/agentdesk.db",
           "PORT": str(port), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    env.pop("RATELIMIT_STORAGE_URI", None)
    process = subprocess.Popen(["sh", "docker/boot.sh"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read().decode()[-2000:]
            try:
                assert requests.get(f"http://127.0.0.1:{port}/health", timeout=2).json()["status"] == "healthy"
                break
            except requests.RequestException:
                time.sleep(0.3)
        else:
            raise AssertionError("the image's boot script never answered /health")
        assert (tmp_path / "agentdesk.db").stat().st_mode & 0o777 == 0o600
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_other_requests_are_served_while_a_sign_in_hashes_its_password(app_env):
    """Argon2 with the shipped parameters takes a tenth of a second of CPU by design: it runs off the
    event loop, so a /health sent while a sign-in is hashing is answered before the sign-in is."""
    server = Gunicorn(app_env, module="tests.strong_hashing:app").wait()
    finished = {}

    def sign_in(name):
        requests.post(f"{server.url}/api/auth/login", json={"username": "nobody", "password": "not-a-password"},
                      timeout=30)
        finished[name] = time.monotonic()

    try:
        sign_in("first")  # the first one also makes the hash that unknown names are checked against
        signing_in = threading.Thread(target=sign_in, args=("login",))
        signing_in.start()
        time.sleep(0.04)
        assert requests.get(f"{server.url}/health", timeout=30).status_code == 200
        finished["health"] = time.monotonic()
        signing_in.join()
        assert finished["health"] < finished["login"]
    finally:
        server.stop()
