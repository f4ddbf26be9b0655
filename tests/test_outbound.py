"""Outbound requests to addresses users type ("Test connection"): a total deadline, a few at a
time, never to link-local or metadata addresses, to private ones only where allowed, no redirects,
no rebinding, and failures that do not tell a closed port from a filtered one."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from tests.conftest import post, register
from webapp import create_app
from webapp.llm_configs.providers import Limits, list_models
from webapp.outbound import Destination, OutboundRefused, destination, request_json

HX = {"HX-Request": "true"}
OPEN = Limits(deadline=1.5, max_in_flight=4, allow_private=True)


class RawServer:
    """A loopback TCP server whose handler does whatever a test needs, one thread per client."""

    def __init__(self, handler):
        self.handler, self.hits = handler, 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.stopping = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stopping:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            self.hits += 1
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client):
        try:
            client.recv(65536)
            self.handler(client, self)
        except OSError:
            pass
        finally:
            client.close()

    def stop(self):
        self.stopping = True
        self.sock.close()


@pytest.fixture
def server_factory():
    servers = []

    def start(handler):
        servers.append(RawServer(handler))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def drip(client, server):
    """Headers one byte at a time, a second apart: each read succeeds, the whole never ends."""
    for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: " + b"y" * 60:
        if server.stopping:
            return
        client.sendall(bytes([byte]))
        time.sleep(1)


def hang(client, server):
    while not server.stopping:
        time.sleep(0.05)


def test_a_dripping_server_is_cut_off_at_the_total_deadline(server_factory):
    server = server_factory(drip)
    started = time.monotonic()
    probe = list_models("ollama", server.url, "", OPEN)
    elapsed = time.monotonic() - started
    assert not probe.ok and elapsed < OPEN.deadline + 1, elapsed
    assert probe.message == f"Could not get a model list from 127.0.0.1:{server.port}."


def test_only_a_few_probes_run_at_once_the_rest_are_told_to_retry(server_factory):
    server = server_factory(hang)
    limits = Limits(deadline=3, max_in_flight=2, allow_private=True)
    results = []
    threads = [threading.Thread(target=lambda: results.append(list_models("ollama", server.url, "", limits)))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 2
    while server.hits < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    started = time.monotonic()
    third = list_models("ollama", server.url, "", limits)
    assert time.monotonic() - started < 0.5 and "already running" in third.message
    for thread in threads:
        thread.join()
    assert server.hits == 2 and all(not r.ok for r in results)


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/",
                                 "http://[::ffff:169.254.169.254]/", "http://100.100.100.200/", "http://0.0.0.0:80/"])
def test_link_local_and_metadata_addresses_are_never_reached(url):
    with pytest.raises(OutboundRefused) as refused:
        destination(url, allow_private=True)
    assert refused.value.reason == "blocked"


@pytest.mark.parametrize("url", ["http://127.0.0.1:11434/", "http://localhost:1234/", "http://10.1.2.3/",
                                 "http://192.168.0.10/", "http://[::1]/"])
def test_private_addresses_only_when_the_instance_allows_them(url):
    with pytest.raises(OutboundRefused):
        destination(url, allow_private=False)
    assert destination(url, allow_private=True).address


def test_production_does_not_reach_loopback_by_default(app_env, server_factory):
    server = server_factory(hang)
    app = create_app(env={**app_env, "OUTBOUND_ALLOW_PRIVATE": "false"})
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    register(client)
    html = post(client, "/settings/llm/test", {"provider": "ollama", "ollama_endpoint": server.url},
                headers=HX).get_data(as_text=True)
    assert "local or private network" in html and server.hits == 0


def test_redirects_are_not_followed(server_factory):
    target = server_factory(hang)

    def redirect(client, server):
        client.sendall(f"HTTP/1.1 302 Found\r\nLocation: {target.url}/api/tags\r\nContent-Length: 0\r\n\r\n".encode())

    start = server_factory(redirect)
    probe = list_models("ollama", start.url, "", OPEN)
    assert probe.message == f"127.0.0.1:{start.port} answered HTTP 302." and target.hits == 0


def test_the_connection_goes_to_the_checked_address_without_resolving_again(llm_server):
    """A rebinding DNS answer after the check changes nothing: the request carries the address."""
    port = int(llm_server.url.rsplit(":", 1)[1])
    checked = Destination("http", "name-that-does-not-resolve.invalid", "127.0.0.1", port, "/api/tags")
    body = request_json(checked, deadline=2, max_in_flight=4)
    assert [m["name"] for m in body["models"]] == llm_server.ollama_models


def test_a_closed_port_and_a_silent_one_give_the_same_answer(server_factory):
    silent = server_factory(hang)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    limits = Limits(deadline=1, max_in_flight=4, allow_private=True)
    answers = {list_models("ollama", url, "", limits).message.split(" from ")[0]
               for url in (silent.url, f"http://127.0.0.1:{closed_port}", "http://does-not-exist.invalid")}
    assert answers == {"Could not get a model list"}
