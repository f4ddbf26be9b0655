"""Code review latency (spec 003's POST /codereview) for a 1,000-line Python file and a 1,000-line
TypeScript file, without an LLM, on a real server (gunicorn as shipped, SQLite).

    .venv/bin/python bench/review.py [--requests 40]

Prints p50 and p95 per file and the ratio to a 10-line file of the same language (what the
analysers cost per line beyond the request itself). The issue's target: p50 <= 500 ms at 1,000 lines.
"""

from __future__ import annotations

import argparse
import base64
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import free_port, serve  # noqa: E402

TARGET_P50_MS = 500.0


def python_source(lines: int) -> str:
    """Plausible Python: classes with methods, branches, a few things worth a finding."""
    out, n = ["import os", "import json", ""], 0
    while len(out) < lines - 12:
        n += 1
        out += [f"class Service{n}:", f'    """Service number {n}."""', "",
                "    def __init__(self, store, limit=10):", "        self.store = store", "        self.limit = limit", "",
                f"    def load_items_{n}(self, key):", "        items = self.store.get(key) or []",
                "        result = []", "        for item in items:", "            if item.get('active'):",
                "                if item.get('size', 0) > self.limit:", "                    result.append(item)",
                "                elif item.get('size') == 0:", "                    continue  # TODO: log empty items",
                "        return result", "",
                f"    def save{n}(self, key, value):", "        data = json.dumps(value)",
                "        self.store[key] = data", "        return len(data)", ""]
    return "\n".join(out[:lines]) + "\n"


def typescript_source(lines: int) -> str:
    """The same shape in TypeScript."""
    out, n = ["import { readFile } from 'fs';", ""], 0
    while len(out) < lines - 14:
        n += 1
        out += [f"export class Repository{n} {{", "  private cache = new Map<string, number>();", "",
                f"  constructor(private readonly limit: number = {n}) {{}}", "",
                f"  public findItems{n}(key: string, items: number[]): number[] {{", "    const found: number[] = [];",
                "    for (const item of items) {", "      if (item > this.limit) {", "        if (this.cache.has(key)) {",
                "          found.push(item);", "        }", "      } else if (item === 0) {",
                "        continue; // FIXME: zero items", "      }", "    }", "    return found;", "  }", "",
                f"  public store_value{n}(key: string, value: number): void {{", "    this.cache.set(key, value);",
                "  }", "}", ""]
    return "\n".join(out[:lines]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=40)
    options = parser.parse_args()
    from webapp import create_app  # noqa: E402  (after sys.path)

    with tempfile.TemporaryDirectory() as tmp:
        env = {"APP_ENV": "testing", "SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
               "ENCRYPTION_KEYS": Fernet.generate_key().decode(), "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
               "JOBS_URL": f"sqlite:///{tmp}/jobs.db", "JOBS_CONSUMER": "none", "REVIEW_RATE_LIMITS": "100000/minute",
               "USAGE_KEY_REQUEST_LIMIT": "1000/minute"}
        app = create_app(env=env)
        with app.app_context():
            from flask_migrate import upgrade
            upgrade()
        client = app.test_client()
        client.post("/usagekey", json={"username": "Bench", "email": "bench@example.com"})
        result = app.test_cli_runner().invoke(args=["usage-keys", "approve", "bench@example.com", "--quota", "1000000"])
        key = result.output.strip().splitlines()[-1]
        port = free_port()
        server = serve("wsgi:app", env, port)
        try:
            url = f"http://127.0.0.1:{port}/codereview"
            session = requests.Session()
            rows = []
            for language, make in (("Python", python_source), ("TypeScript", typescript_source)):
                timings = {}
                for lines in (10, 1000):
                    body = {"source_base64": base64.b64encode(make(lines).encode()).decode(), "language": language}
                    for _ in range(3):  # warm up
                        session.post(url, json=body, headers={"x-api-key": key}, timeout=60).raise_for_status()
                    samples = []
                    for _ in range(options.requests):
                        started = time.perf_counter()
                        answer = session.post(url, json=body, headers={"x-api-key": key}, timeout=60)
                        samples.append((time.perf_counter() - started) * 1000)
                        answer.raise_for_status()
                    findings = len(answer.json().get("review_points", []))
                    samples.sort()
                    timings[lines] = (statistics.median(samples), samples[int(len(samples) * 0.95) - 1], findings)
                small, big = timings[10], timings[1000]
                rows.append((language, big, small))
                print(f"{language:10} 1000 lines: p50 {big[0]:6.1f} ms  p95 {big[1]:6.1f} ms  ({big[2]} findings)   "
                      f"10 lines: p50 {small[0]:5.1f} ms   ratio {big[0] / small[0]:4.1f}x   "
                      f"{'OK' if big[0] <= TARGET_P50_MS else 'OVER'} (target p50 <= {TARGET_P50_MS:.0f} ms)")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
