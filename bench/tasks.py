"""How a task's page and API answer grow with its log: a task with 100,000 log lines against one with
10, on a real server (gunicorn as shipped), in both topologies.

    .venv/bin/python bench/tasks.py [--lines 100000] [--requests 300] [--topology both]

For each topology it migrates a fresh database, writes the lines through the service's own bulk
insert (in batches of 1000, as agents send them), then times sequential requests over loopback:
the task page (HTML, 100 newest lines), the spec 002 GET /api/v1/tasks/{id} (50 newest lines), and
"load older" from the middle of the log (keyset: `before` an id). Prints p50 and p99 of each and
the ratio big/small: with keyset pages and the (task_id, id) index it stays near 1, whatever
the log's length. The issue's target is p99 < 50 ms for the 100k-line task.
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

TARGET_P99_MS = 50.0
PASSWORD = "Bench-passw0rd"


def prepare(env: dict, lines: int) -> dict:
    """A person, a service token, a task with `lines` log lines and one with 10."""
    from webapp import create_app
    from webapp.accounts.service import create_account
    from webapp.db.orm import db
    from webapp.tasks import service
    from webapp.tasks.access import Actor
    from webapp.tokens import service as tokens

    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT,
                   env={**os.environ, **env}, check=True, capture_output=True)
    app = create_app(env=env)
    with app.app_context():
        person = create_account(email="bench@example.com", password=PASSWORD, username="bench", admin=True,
                                logins={"github": "bench"})
        _, raw = tokens.create_token(person, kind="service", name="bench", ip="bench")
        actor = Actor.of_user(person)
        tasks = {}
        for name, count in (("big", lines), ("small", 10)):
            task = service.create_task(actor, title=f"{name} task")
            for start in range(0, count, 1000):
                service.add_logs(actor, task.id, [service.LogLine("ERROR" if n % 97 == 0 else "INFO",
                                                                  f"step {n}: processed batch {n % 1000} of the import")
                                                  for n in range(start, min(start + 1000, count))])
            tasks[name] = str(task.id)
        db.engine.dispose()
    return {"token": raw, "tasks": tasks}


def timed(session: requests.Session, url: str, repeat: int, **kwargs) -> dict:
    for _ in range(10):  # warm up
        session.get(url, **kwargs)
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        answer = session.get(url, **kwargs)
        samples.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, answer.text[:200]
    samples.sort()
    return {"p50": statistics.median(samples), "p99": samples[min(len(samples) - 1, int(len(samples) * 0.99))]}


def measure(env: dict, lines: int, repeat: int) -> dict:
    data = prepare(env, lines)
    port = free_port()
    server = serve("wsgi:app", {**env, "TASK_RATE_LIMITS": "1000000/minute"}, port)
    base = f"http://127.0.0.1:{port}"
    try:
        browser = requests.Session()
        page = browser.get(f"{base}/auth/login").text
        csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
        assert browser.post(f"{base}/auth/login", data={"login": "bench@example.com", "password": PASSWORD,
                                                          "csrf_token": csrf}).status_code == 200
        agent = requests.Session()
        agent.headers["Authorization"] = f"Bearer {data['token']}"
        figures = {}
        for name, task_id in data["tasks"].items():
            middle = lines // 2 if name == "big" else 6
            figures[name] = {
                "page": timed(browser, f"{base}/tasks/{task_id}", repeat),
                "api": timed(agent, f"{base}/api/v1/tasks/{task_id}", repeat),
                "older": timed(browser, f"{base}/tasks/{task_id}/logs?before={middle}", repeat,
                               headers={"HX-Request": "true"}),
            }
        return figures
    finally:
        server.terminate()
        server.wait(timeout=30)


def report(title: str, figures: dict, lines: int) -> bool:
    print(f"\n{title}: a task with {lines:,} log lines against one with 10")
    print(f"  {'request':<34}{'p50 ms':>9}{'p99 ms':>9}{'10-line p99':>13}{'ratio':>8}")
    met = True
    for key, label in (("page", "task page (HTML)"), ("api", "GET /api/v1/tasks/{id}"),
                       ("older", "load older (middle of the log)")):
        big, small = figures["big"][key], figures["small"][key]
        ratio = big["p99"] / small["p99"]
        met &= big["p99"] < TARGET_P99_MS
        print(f"  {label:<34}{big['p50']:>9.1f}{big['p99']:>9.1f}{small['p99']:>13.1f}{ratio:>7.2f}x")
    print(f"  p99 < {TARGET_P99_MS:.0f} ms for the big task: {'yes' if met else 'NO'}")
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--topology", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    all_met, summary = True, {}
    for topology in (["sqlite", "postgres"] if args.topology == "both" else [args.topology]):
        with tempfile.TemporaryDirectory() as workdir:
            env = {"APP_ENV": "development", "SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789",
                   "ENCRYPTION_KEYS": Fernet.generate_key().decode(), "ASSET_MODE": "local",
                   "AUDIT_ASYNC": "true", "LOG_LEVEL": "WARNING",
                   "JWT_SIGNING_KEYS": "bench:" + "k" * 48, "DB_WRITER_SPILL_PATH": f"{workdir}/spill.jsonl"}
            servers = []
            if topology == "sqlite":
                env["DATABASE_URL"] = f"sqlite:///{workdir}/bench.db"
            else:
                from tests.postgres import PostgresServer

                servers = [PostgresServer()]
                env["DATABASE_URL"] = servers[0].start()
            try:
                figures = measure(env, args.lines, args.requests)
            finally:
                for server in servers:
                    server.stop()
        all_met &= report("SQLite" if topology == "sqlite" else "PostgreSQL", figures, args.lines)
        summary[topology] = {key: round(figures["big"][key]["p99"], 1) for key in ("page", "api", "older")}
    print("\n" + json.dumps({"p99_ms_big_task": summary}))
    return 0 if all_met else 1


if __name__ == "__main__":
    raise SystemExit(main())
