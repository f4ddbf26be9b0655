"""Start a throw-away redis-server on loopback for tests that need a real shared store."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time

from tests.gunicorn_server import free_port


class RedisServer:
    """`persistent`: keep its data across stop() and start() (an append-only file, synced each write)."""

    def __init__(self, persistent: bool = False):
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server not found: apt-get install redis-server (.ci/run does)")
        self.binary = binary
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="agentdesk-redis-")
        self.process = None
        self.persistence = ["--appendonly", "yes", "--appendfsync", "always"] if persistent else ["--appendonly", "no"]

    def start(self) -> str:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", *self.persistence,
             "--dir", self.dir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return f"redis://127.0.0.1:{self.port}/0"
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self, keep_data: bool = False) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
        if not keep_data:
            shutil.rmtree(self.dir, ignore_errors=True)
