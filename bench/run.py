"""Benchmark the agents' hot path against a bare Flask endpoint, in one run, on loopback, in both
topologies: the embedded one (SQLite, in-process rate limits) and the production one (PostgreSQL,
Redis rate limits), each a real server the script starts.

    .venv/bin/python bench/run.py [--duration 15] [--connections 32] [--rounds 5] [--topology both]

Both apps run under gunicorn from gunicorn.conf.py, as shipped (gevent, 1 worker: the endpoint is
CPU-bound, so one process scales with workers); wrk drives them with the same connections,
alternating bare and real for --rounds rounds after a 5 s warm-up of each, and the medians are
reported. The real endpoint does everything it does in production: token lookup (SHA-256),
fixed-window rate limits (60/min and 1000/h per token, spread over many tokens so none is
exhausted), the settings read (with Redis: kept by the worker between a token's calls and checked
each call against the generation read with the limits), decryption of the key, the audit row and
last use (batched off the request path), the JSON access-log line and Prometheus metrics. Prints req/s, p50 and p99 for
both and their ratio, then the latency of a batch of 100 users against a single GET.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
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

TOKENS = 1000
BATCH = 100
PATH = "/v1/users/github/bench-user/llm-config"
TARGETS = {"ratio": 0.3, "batch_ratio": 4.0, "p99_ms": 150.0}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(env: dict, workdir: Path) -> tuple[Path, Path]:
    """Migrate a fresh SQLite database; add the users, a ~1 KB config and the tokens."""
    from webapp import create_app
    from webapp.accounts.logins import reserve_login
    from webapp.accounts.service import create_account, new_user
    from webapp.db.orm import db
    from webapp.llm_configs import service as llm
    from webapp.tokens import service as tokens

    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT,
                   env={**os.environ, **env}, check=True, capture_output=True)
    app = create_app(env=env)
    with app.app_context():
        admin = create_account(email="admin@bench.example.com", password="Bench-passw0rd", username="admin",
                                admin=True, logins={})
        prompt = ("You are a careful senior engineer. Prefer small, reviewed changes; explain trade-offs; "
                  "write tests first. ") * 5
        for n in range(BATCH):
            login = "bench-user" if n == 0 else f"bench-user-{n}"
            user = new_user(display_name=login)
            reserve_login(user, "github", login)
            db.session.flush()
            llm.save(user, llm.Scope(user), {"provider": "openai", "openai_model": "gpt-4o",
                                             "openai_base_url": "https://api.openai.com/v1",
                                             "openai_max_token": 40960, "system_prompt": prompt,
                                             "function_calling": True, "max_llm_process_num": 1000},
                     new_api_key="sk-proj-" + "x" * 40 + f"{n:04d}", ip="bench")
        raws = [tokens.create_token(admin, kind="service", name=f"bench-{n}", ip="bench")[1] for n in range(TOKENS)]
        db.engine.dispose()
    tokens_file = workdir / "tokens.txt"
    tokens_file.write_text("\n".join(raws) + "\n")
    return tokens_file, workdir


def serve(module: str, env: dict, port: int) -> subprocess.Popen:
    """gunicorn from gunicorn.conf.py, one worker; GUNICORN_WORKER_CLASS=gthread to compare."""
    command = [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "gunicorn.conf.py"), "--workers", "1",
               "--bind", f"127.0.0.1:{port}", "--log-level", "warning", module]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/nothing", timeout=2)
            return process
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{module} did not start")


def wrk(port: int, env: dict, duration: int, connections: int) -> dict:
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(ROOT / "bench/tokens.lua"),
         f"http://127.0.0.1:{port}"], env={**os.environ, **env}, check=True, capture_output=True, text=True).stdout

    def latency(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)), "p50": latency("50"),
            "p99": latency("99"), "errors": int(non_2xx.group(1)) if non_2xx else 0}


def sequential_ms(call, repeat: int) -> float:
    call()  # warm up
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def measure(args, env: dict, workdir: Path) -> dict:
    """One topology: prepare its database, serve bare and real, drive both; the figures."""
    tokens_file, _ = prepare(env, workdir)
    env = {**env, "BENCH_TOKENS_FILE": str(tokens_file)}
    real_port, bare_port = free_port(), free_port()
    real = serve("wsgi:app", env, real_port)
    bare = None
    try:
        raws = tokens_file.read_text().split()
        session = requests.Session()
        body = session.get(f"http://127.0.0.1:{real_port}{PATH}", headers={"Authorization": f"Bearer {raws[0]}"})
        assert body.status_code == 200, body.text
        body_file = workdir / "body.json"
        body_file.write_bytes(body.content)
        bare = serve("bench.bare_app:app", {**env, "BENCH_BODY_FILE": str(body_file)}, bare_port)
        for port in (bare_port, real_port):  # warm-up, not measured: caches, first use of each token
            wrk(port, env, 5, args.connections)
        runs = {"bare": [], "real": []}
        for _ in range(args.rounds):
            runs["bare"].append(wrk(bare_port, env, args.duration, args.connections))
            runs["real"].append(wrk(real_port, env, args.duration, args.connections))
        results = {name: {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
                   for name, rounds in runs.items()}
        header = {"Authorization": f"Bearer {raws[1]}"}
        batch = {"users": [{"platform": "github", "username": "bench-user" if n == 0 else f"bench-user-{n}"}
                           for n in range(BATCH)]}
        url = f"http://127.0.0.1:{real_port}"
        single_ms = sequential_ms(lambda: session.get(f"{url}{PATH}", headers=header), 30)
        batch_ms = sequential_ms(lambda: session.post(f"{url}/v1/users/llm-configs/batch", json=batch,
                                                      headers={"Authorization": f"Bearer {raws[2]}"}), 30)
    finally:
        real.terminate()
        if bare is not None:
            bare.terminate()
    return {"runs": runs, "results": results, "body_bytes": len(body.content), "single_ms": single_ms,
            "batch_ms": batch_ms, "ratio": results["real"]["rps"] / results["bare"]["rps"],
            "batch_ratio": batch_ms / single_ms}


def report(name: str, figures: dict, args) -> bool:
    results, runs = figures["results"], figures["runs"]
    print(f"== {name}: response body {figures['body_bytes']} bytes; {args.connections} connections; medians of "
          f"{args.rounds} alternating {args.duration}s runs; gunicorn.conf.py "
          f"({os.environ.get('GUNICORN_WORKER_CLASS', 'gevent')}), 1 worker")
    print(f"{'':24}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
    for key in ("bare", "real"):
        r = results[key]
        label = "bare Flask, same bytes" if key == "bare" else "GET llm-config"
        print(f"{label:24}{r['rps']:>10.0f}{r['p50']:>10.2f}{r['p99']:>10.2f}{r['errors']:>10.0f}")
    for key in ("bare", "real"):
        print(f"  {key} rounds req/s: " + ", ".join(f"{r['rps']:.0f}" for r in runs[key]))
    print(f"real / bare throughput: {figures['ratio']:.2f}x (target >= {TARGETS['ratio']}x)")
    print(f"single GET median {figures['single_ms']:.2f} ms; batch of {BATCH} median {figures['batch_ms']:.2f} ms; "
          f"ratio {figures['batch_ratio']:.2f}x (target <= {TARGETS['batch_ratio']}x)")
    print(f"p99 at {args.connections} connections: {results['real']['p99']:.1f} ms (target <= {TARGETS['p99_ms']} ms)")
    return (figures["ratio"] >= TARGETS["ratio"] and figures["batch_ratio"] <= TARGETS["batch_ratio"]
            and results["real"]["p99"] <= TARGETS["p99_ms"] and results["real"]["errors"] == 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--topology", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    summary, ok = {}, True
    for topology in (["sqlite", "postgres"] if args.topology == "both" else [args.topology]):
        workdir = Path(tempfile.mkdtemp(prefix="agentdesk-bench-"))
        env = {"APP_ENV": "production", "SECRET_KEY": Fernet.generate_key().decode() * 2,
               "ENCRYPTION_KEYS": Fernet.generate_key().decode(), "LOG_LEVEL": "WARNING",
               "JWT_SIGNING_KEYS": "bench:" + Fernet.generate_key().decode(), "BENCH_PATH": PATH,
               "METRICS_TOKEN": "bench-metrics-token-not-scraped-here",
               "DB_WRITER_SPILL_PATH": str(workdir / "spill.jsonl")}
        servers = []
        try:
            if topology == "sqlite":
                env.update(DATABASE_URL=f"sqlite:///{workdir}/bench.db", RATELIMIT_STORAGE_URI="memory://")
            else:
                from tests.postgres import PostgresServer
                from tests.redis_server import RedisServer

                servers = [PostgresServer(), RedisServer()]
                env.update(DATABASE_URL=servers[0].start(), RATELIMIT_STORAGE_URI=servers[1].start())
            figures = measure(args, env, workdir)
        finally:
            for server in servers:
                server.stop()
            shutil.rmtree(workdir, ignore_errors=True)
        met = report("SQLite + in-process limits" if topology == "sqlite" else "PostgreSQL + Redis", figures, args)
        ok = ok and met
        summary[topology] = {"ratio": round(figures["ratio"], 3), "batch_ratio": round(figures["batch_ratio"], 3),
                             "p99_ms": figures["results"]["real"]["p99"], "targets_met": met}
    print(json.dumps(summary))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
