"""Spec 003's POST /codereview: the key check, every bad input, the quota, and findings that point at
real lines and functions."""

from __future__ import annotations

import base64
import threading
from datetime import timedelta

import pytest
import requests

from tests.gunicorn_server import Gunicorn
from webapp.db.base import utcnow
from webapp.db.orm import db
from webapp.tokens.models import ApiToken
from webapp.usage.models import UsageEvent

PYTHON = '''import os


def incNumber(a, b):
    password = "hunter2hunter2"
    return a / b


class Shape:
    def area(self, items):
        for item in items:
            if item:
                while item:
                    if item > 1:
                        if item > 2:
                            return 1
        # TODO: negative sizes
        return 0
'''
CLEAN = '''def add(a, b):
    """Add two numbers."""
    return a + b
'''


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def usage_key(app, quota: int = 50, email: str = "tomtom@example.com") -> str:
    """A key made the way a person gets one: asked for, then approved from the shell."""
    client = app.test_client()
    assert client.post("/usagekey", json={"username": "Tom", "email": email}).json == {"status": "PENDING"}
    result = app.test_cli_runner().invoke(args=["usage-keys", "approve", email, "--quota", str(quota)])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def review(client, key: str | None, source=PYTHON, language="Python", **headers):
    if key is not None:
        headers["x-api-key"] = key
    return client.post("/codereview", json={"source_base64": b64(source) if isinstance(source, str) else source,
                                            "language": language}, headers=headers)


def test_findings_point_at_real_lines_and_functions(app, client):
    key = usage_key(app)
    answer = review(client, key, **{"Accept-Language": "en"})
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert body["review_result"] == "NG"
    lines = PYTHON.splitlines()
    by_rule = {}
    for point in body["review_points"]:
        assert set(point) >= {"location", "codeline", "category", "overview", "details", "suggestion"}
        assert 1 <= point["codeline"] <= len(lines)
        assert point["category"] in {"Readability", "Maintainability", "Correctness", "Security", "Style"}
        by_rule.setdefault(point["rule"], []).append(point)
    naming = by_rule["function-naming"][0]
    assert (naming["codeline"], naming["location"]) == (4, "incNumber")
    secret = by_rule["hardcoded-secret"][0]
    assert (secret["codeline"], secret["location"], secret["category"]) == (5, "incNumber", "Security")
    nesting = by_rule["deep-nesting"][0]
    assert nesting["location"] == "Shape.area" and "if item > 2" in lines[nesting["codeline"] - 1]
    todo = by_rule["todo"][0]
    assert "TODO" in lines[todo["codeline"] - 1] and todo["location"] == "Shape.area"
    ruff = {p["overview"].split(":")[0] for p in by_rule["ruff"]}
    assert "F401" in ruff  # `os` imported but unused, from ruff itself
    assert not any(p["overview"].startswith("S105") for p in by_rule["ruff"])  # said once, by the secret rule


def test_clean_code_is_ok_without_review_points(app, client):
    answer = review(client, usage_key(app), CLEAN)
    assert answer.json == {"review_result": "OK"}


def test_findings_in_japanese_for_a_japanese_requester(app, client):
    key = usage_key(app)
    answer = review(client, key, **{"Accept-Language": "ja"})
    overviews = [p["overview"] for p in answer.json["review_points"]]
    assert "関数名「incNumber」が命名規則に沿っていません" in overviews


@pytest.mark.parametrize("language, source, rule, line, location", [
    ("TypeScript", "class Calc {\n  do_thing(x: number): number {\n    return x;\n  }\n}\n", "function-naming", 2,
     "Calc.do_thing"),
    ("JavaScript", "const total = (a) => {\n  if (a) { if (a) { if (a) { if (a) { if (a) { return 1; } } } } }\n};\n",
     "deep-nesting", 2, "total"),
    ("Go", "package main\n\nfunc do_work(a int) int {\n\treturn a\n}\n", "function-naming", 3, "do_work"),
    ("Java", "class order_item {\n  int total() { return 1; }\n}\n", "class-naming", 1, "order_item"),
    ("golang", "package main\n\ntype bad_name struct{}\n", "class-naming", 3, "bad_name"),
])
def test_structural_findings_in_every_language(app, client, language, source, rule, line, location):
    answer = review(client, usage_key(app), source, language)
    assert answer.status_code == 200, answer.json
    points = [p for p in answer.json["review_points"] if p["rule"] == rule]
    assert [(p["codeline"], p["location"]) for p in points] == [(line, location)]


@pytest.mark.parametrize("key", [None, "", "nonsense", "adk_usg_" + "A" * 32 + "_AAAAAA"])
def test_missing_or_unknown_keys_are_403(app, client, key):
    answer = review(client, key)
    assert answer.status_code == 403
    assert answer.json["error"]["code"] == "INVALID_API_KEY"
    assert "x-api-key" in answer.json["error"]["message"]


def test_revoked_expired_and_other_kinds_of_keys_are_403(app, client):
    emails = ["revoked@example.com", "expired@example.com", "pending@example.com", "rejected@example.com"]
    keys = {email: usage_key(app, email=email) for email in emails}
    with app.app_context():
        rows = {k.contact_email: k for k in db.session.scalars(db.select(ApiToken).where(ApiToken.kind == "usage"))}
        rows["revoked@example.com"].status = "revoked"
        rows["expired@example.com"].expires_at = utcnow() - timedelta(minutes=1)
        # A key always has a decision behind it; a row put back to pending or rejected must not work either.
        rows["pending@example.com"].status = "pending"
        rows["rejected@example.com"].status = "rejected"
        db.session.commit()
    for email in emails:
        assert review(client, keys[email]).status_code == 403, email
    result = app.test_cli_runner().invoke(args=["tokens", "create", "--kind", "service", "--name", "agent"])
    assert review(client, result.output.strip().splitlines()[-1]).status_code == 403


@pytest.mark.parametrize("body, code, says", [
    ({"language": "Python"}, "INVALID_REQUEST", "source_base64"),
    ({"source_base64": "", "language": "Python"}, "INVALID_REQUEST", "source_base64"),
    ({"source_base64": "   ", "language": "Python"}, "INVALID_REQUEST", "empty"),
    ({"source_base64": "!!!notbase64", "language": "Python"}, "INVALID_REQUEST", "Base64"),
    ({"source_base64": "abcde", "language": "Python"}, "INVALID_REQUEST", "Base64"),
    ({"source_base64": b64(b"\xff\xfe\x00binary"), "language": "Python"}, "INVALID_REQUEST", "UTF-8"),
    ({"source_base64": b64("x = 1\n"), "language": "COBOL"}, "UNSUPPORTED_LANGUAGE", "TypeScript"),
    ({"source_base64": b64("x = 1\n")}, "INVALID_REQUEST", "language"),
    ({"source_base64": b64("x" * (1024 * 1024 + 1)), "language": "Python"}, "SOURCE_TOO_LARGE", "1024 KB"),
    ({"source_base64": 42, "language": "Python"}, "INVALID_REQUEST", "source_base64"),
])
def test_bad_input_is_400_and_costs_no_quota(app, client, body, code, says):
    key = usage_key(app, quota=1)
    answer = client.post("/codereview", json=body, headers={"x-api-key": key})
    assert answer.status_code == 400, answer.json
    assert answer.json["error"]["code"] == code
    assert says in str(answer.json["error"])
    assert review(client, key, CLEAN).status_code == 200  # the one review of the day is still there


def test_an_oversized_body_is_refused_before_it_is_read(app, client):
    key = usage_key(app)
    answer = client.post("/codereview", data=b"{" + b" " * (4 * 1024 * 1024) + b"}", content_type="application/json",
                         headers={"x-api-key": key})
    assert answer.status_code == 413 and answer.json["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_quota_then_429_with_retry_after_and_usage_is_recorded(app, client):
    key = usage_key(app, quota=2)
    assert [review(client, key).status_code for _ in range(2)] == [200, 200]
    over = review(client, key)
    assert over.status_code == 429
    assert over.json["error"]["code"] == "QUOTA_EXCEEDED"
    assert 0 < int(over.headers["Retry-After"]) <= 86400
    with app.app_context():
        events = list(db.session.scalars(db.select(UsageEvent)))
        assert [(e.kind, e.language, e.lines) for e in events] == [("review", "python", len(PYTHON.splitlines()))] * 2
        assert all(e.findings > 3 for e in events)


@pytest.fixture
def two_workers(app, app_env, redis_url):
    env = {**app_env, "RATELIMIT_STORAGE_URI": redis_url, "REVIEW_RATE_LIMITS": "100000/minute"}
    server = Gunicorn(env, workers=2)
    try:
        yield server.wait()
    finally:
        server.stop()


def test_the_quota_is_exact_across_two_workers(app, two_workers):
    key = usage_key(app, quota=7)
    barrier, codes = threading.Barrier(24, timeout=60), []

    def one():
        barrier.wait()
        answer = requests.post(f"{two_workers.url}/codereview", json={"source_base64": b64(CLEAN),
                                                                      "language": "Python"},
                               headers={"x-api-key": key}, timeout=60)
        codes.append(answer.status_code)

    threads = [threading.Thread(target=one, daemon=True) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(codes) == [200] * 7 + [429] * 17
