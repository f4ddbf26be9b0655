"""Run the real app under gunicorn in a subprocess, on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """Started from gunicorn.conf.py, as `make run` and the Docker image are (gevent workers)."""

    def __init__(self, env: dict, workers: int = 1, extra: tuple[str, ...] = (), module: str = "wsgi:app"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "gunicorn.conf.py"), "--workers",
                   str(workers), "--bind", f"127.0.0.1:{self.port}", *extra, module]
        env = {"JOBS_CONSUMER": "none", **env}  # a test that wants the embedded consumer says so
        self.process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)

    def wait(self, timeout: float = 30) -> "Gunicorn":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            try:
                requests.get(f"{self.url}/health", timeout=5)
                return self
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"{self.url} did not come up")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
