"""The batched audit writer used in production: rows reach the database without the request waiting."""

import time
from datetime import datetime, timezone

from webapp.audit.models import AuditEvent
from webapp.audit.sink import AuditSink
from webapp.extensions import db
from webapp.tokens.models import ApiToken


def _row(n):
    return {"created_at": datetime.now(timezone.utc), "actor_user_id": None, "actor_token_id": None,
            "actor_label": "t", "action": "api.test", "target": f"github:u{n}", "outcome": "success",
            "ip_address": "127.0.0.1", "status_code": 200, "latency_ms": 1, "details": {}}


def count(app):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(AuditEvent))


def test_rows_are_written_in_the_background_within_the_flush_interval(app):
    sink = AuditSink(lambda: _engine(app), asynchronous=True, flush_seconds=0.05,
                     batch=1000)
    for n in range(25):
        sink.write(_row(n))
    deadline = time.monotonic() + 5
    while count(app) < 25 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert count(app) == 25


def test_a_full_batch_is_written_at_once_and_flush_drains_the_rest(app):
    sink = AuditSink(lambda: _engine(app), asynchronous=True, flush_seconds=3600, batch=10)
    for n in range(10):
        sink.write(_row(n))
    deadline = time.monotonic() + 5
    while count(app) < 10 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert count(app) == 10
    for n in range(3):
        sink.write(_row(n))
    sink.flush()  # what the exit hook does
    assert count(app) == 13


def test_token_last_use_is_merged_and_written_with_the_batch(app):
    from tests.api_helpers import make_token

    token_id, _ = make_token(app)
    sink = AuditSink(lambda: _engine(app), asynchronous=True, flush_seconds=3600, batch=1000)
    first, last = datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2026, 1, 2, tzinfo=timezone.utc)
    sink.token_used(token_id, first)
    sink.token_used(token_id, last)
    sink.flush()
    with app.app_context():
        assert db.session.get(ApiToken, token_id).last_used_at == last


def test_a_database_error_is_logged_not_raised(app, caplog):
    def broken():
        raise RuntimeError("database is gone")

    sink = AuditSink(broken, asynchronous=False, flush_seconds=1, batch=1)
    sink.write(_row(0))  # must not raise into the request
    assert "could not write 1 audit event(s)" in caplog.text


def _engine(app):
    with app.app_context():
        return db.engine
