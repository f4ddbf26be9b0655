"""Run docker/nginx.conf, the shipped reverse-proxy configuration, in front of a test server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.gunicorn_server import free_port

CONFIG = Path(__file__).resolve().parent.parent / "docker" / "nginx.conf"


def find_nginx() -> str:
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if binary is None:
        raise RuntimeError("nginx not found: apt-get install nginx (.ci/run does)")
    return binary


class Nginx:
    """The shipped configuration with two substitutions: the upstream address and the port."""

    def __init__(self, upstream_port: int):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.prefix = Path(tempfile.mkdtemp(prefix="agentdesk-nginx-"))
        text = CONFIG.read_text()
        assert "server app:5000;" in text and "listen 8080;" in text
        text = text.replace("server app:5000;", f"server 127.0.0.1:{upstream_port};")
        text = text.replace("listen 8080;", f"listen 127.0.0.1:{self.port};")
        if os.geteuid() == 0:  # workers would otherwise run as nobody, who cannot use the temp prefix
            text = "user root;\n" + text
        (self.prefix / "logs").mkdir()
        (self.prefix / "nginx.conf").write_text(text)
        self.process = subprocess.Popen(
            [find_nginx(), "-p", str(self.prefix), "-c", str(self.prefix / "nginx.conf"), "-g",
             f"daemon off; pid {self.prefix}/nginx.pid; error_log {self.prefix}/logs/error.log;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError((self.prefix / "logs/error.log").read_text()) from None
                time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        shutil.rmtree(self.prefix, ignore_errors=True)
