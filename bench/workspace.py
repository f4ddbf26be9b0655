"""The workspace under load: 50 people, each with a session whose agent streams 1 MB of output.

    .venv/bin/python bench/workspace.py [--sessions 50] [--kb 1024] [--seconds 10] [--database sqlite|postgres]

gunicorn from gunicorn.conf.py (gevent, one worker, as shipped), SQLite, production settings. Each
person signs in with spec 004's /api/auth/login, connects a Socket.IO client with the token,
and sends `stamp <kb> <seconds>` to tests/fake_agent.py in a new session: the agent writes 1 KB
lines, each starting with the wall-clock time it was written, spread over <seconds>. The latency of
a line is when its `message` event reached the client minus that time: the PTY, the runner's read,
the transcript's writes, Socket.IO and the client's own parsing (bench/workspace_clients.js: the 50
clients share one Node process, so this is an upper bound). Targets: p99 ≤ 100 ms; every byte
arrives; the worker's memory after the run stays within 64 MB of where it started (output is stored
and sent, never kept).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import free_port, serve  # noqa: E402

PASSWORD = "Bench-passw0rd"
TARGETS = {"p99_ms": 100.0, "memory_growth_mb": 64.0}


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and its ended children so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def children(master: int) -> tuple[int, list[int]]:
    """gunicorn's worker, and the other children (the job consumer)."""
    pids = [int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    worker = next(p for p in pids if b"gunicorn" in Path(f"/proc/{p}/cmdline").read_bytes())
    return worker, [p for p in pids if p != worker]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--kb", type=int, default=1024)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    cluster = None
    if args.database == "postgres":
        from tests.postgres import PostgresServer

        cluster = PostgresServer()
        database_url = cluster.start()
    try:
        return measure(args, database_url if cluster else None)
    finally:
        if cluster is not None:
            cluster.stop()


def measure(args, database_url: str | None) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="agentdesk-workspace-"))
    env = {"APP_ENV": "production", "SECRET_KEY": Fernet.generate_key().decode() * 2,
           "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
           "JWT_SIGNING_KEYS": "bench:" + Fernet.generate_key().decode(),
           "DATABASE_URL": database_url or f"sqlite:///{workdir}/bench.db", "JOBS_URL": f"sqlite:///{workdir}/jobs.sqlite3",
           "RATELIMIT_STORAGE_URI": "memory://", "LOG_LEVEL": "WARNING",
           "METRICS_TOKEN": "bench-metrics-token-not-scraped-here", "DB_WRITER_SPILL_PATH": str(workdir / "spill"),
           "AGENT_COMMAND": f"{sys.executable} {ROOT / 'tests' / 'fake_agent.py'}",
           "AGENT_WORKDIR": str(workdir / "agents"), "AGENT_IDLE_SECONDS": "5",
           "WORKSPACE_ANONYMOUS_LIMITS": "1000/hour", "PUBLIC_URL": "https://bench.example.com"}
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT,
                   env={**os.environ, **env}, check=True, capture_output=True)
    from webapp import create_app
    from webapp.accounts.service import create_account

    app = create_app(env=env)
    with app.app_context():
        for n in range(args.sessions):
            create_account(email=f"p{n}@bench.example.com", password=PASSWORD, username=f"person{n}", admin=False,
                           logins={})
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = serve("wsgi:app", env, port)
    try:
        worker, jobs = children(server.pid)
        tokens = [requests.post(f"{url}/api/auth/login", json={"username": f"person{n}", "password": PASSWORD},
                                timeout=20).json()["data"]["accessToken"] for n in range(args.sessions)]
        clients = subprocess.Popen(["node", str(ROOT / "bench" / "workspace_clients.js"), url, str(args.kb),
                                    str(args.seconds), str(workdir / "clients.json")], cwd=ROOT,
                                   stdin=subprocess.PIPE, text=True)
        clients.stdin.write("\n".join(tokens))
        clients.stdin.close()
        time.sleep(1)
        while not (workdir / "agents").exists() or len(list((workdir / "agents").glob("*/*"))) < args.sessions:
            time.sleep(0.2)  # every session has its directory: its agent is starting
        time.sleep(2)
        before = rss_mb(worker)
        cpu_before = {"worker": cpu_seconds(worker), "jobs": sum(map(cpu_seconds, jobs)),
                      "clients": cpu_seconds(clients.pid)}
        peak = before
        while clients.poll() is None:
            peak = max(peak, rss_mb(worker))
            cpu_after = {"worker": cpu_seconds(worker), "jobs": sum(map(cpu_seconds, jobs)),
                         "clients": cpu_seconds(clients.pid)}
            time.sleep(0.25)
        seen = json.loads((workdir / "clients.json").read_text())
        time.sleep(1)
        after = rss_mb(worker)
        latencies = seen["latencies"]
        expected = args.kb * 1026  # each 1 KB line, with the terminal's \r\n
        result = {
            "database": args.database, "sessions": args.sessions, "kb_each": args.kb, "seconds_each": args.seconds,
            "finished": seen["finished"], "agents_started_s": round(seen["started_s"], 1),
            "elapsed_s": round(seen["elapsed_s"], 1),
            "lines": len(latencies), "lines_expected": args.kb * args.sessions,
            "complete": sum(received >= expected for received in seen["received"]),
            "latency_ms": {"p50": round(statistics.median(latencies), 1),
                           "p99": round(latencies[int(len(latencies) * 0.99) - 1], 1),
                           "max": round(latencies[-1], 1)} if latencies else None,
            "cpu_seconds": {name: round(cpu_after[name] - cpu_before[name], 1) for name in cpu_before},
            "worker_rss_mb": {"before": round(before, 1), "peak": round(peak, 1), "after": round(after, 1)},
            "targets": TARGETS,
        }
    finally:
        server.terminate()
        server.wait(timeout=20)
    result["ok"] = bool(result["latency_ms"]) and result["latency_ms"]["p99"] <= TARGETS["p99_ms"] and \
        result["complete"] == args.sessions and result["worker_rss_mb"]["after"] - result["worker_rss_mb"]["before"] \
        <= TARGETS["memory_growth_mb"]
    print(json.dumps(result, indent=2))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
