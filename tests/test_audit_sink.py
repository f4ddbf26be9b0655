"""The background writer used in production: rows reach the database without the request waiting."""

import time
from datetime import datetime, timezone

from sqlalchemy import insert

from webapp.audit.models import AuditEvent
from webapp.db.orm import db
from webapp.db.writer import BackgroundWriter
from webapp.tokens import service as tokens
from webapp.tokens.models import ApiToken

AUDIT = insert(AuditEvent)


def _row(n):
    return {"created_at": datetime.now(timezone.utc), "actor_user_id": None, "actor_token_id": None,
            "actor_label": "t", "action": "api.test", "target": f"github:u{n}", "outcome": "success",
            "ip_address": "127.0.0.1", "status_code": 200, "latency_ms": 1, "details": {}}


def count(app):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(AuditEvent))


def wait_for(app, expected):
    deadline = time.monotonic() + 5
    while count(app) < expected and time.monotonic() < deadline:
        time.sleep(0.02)
    return count(app)


def test_rows_are_written_in_the_background_within_the_flush_interval(app):
    writer = BackgroundWriter(lambda: _engine(app), asynchronous=True, flush_seconds=0.05, batch=1000)
    for n in range(25):
        writer.append(AUDIT, _row(n))
    assert wait_for(app, 25) == 25


def test_a_full_batch_is_written_at_once_and_flush_drains_the_rest(app):
    writer = BackgroundWriter(lambda: _engine(app), asynchronous=True, flush_seconds=3600, batch=10)
    for n in range(3):
        writer.append(AUDIT, _row(n))
    time.sleep(0.2)
    assert count(app) == 0  # nothing is written before the interval or a full batch
    for n in range(3, 10):
        writer.append(AUDIT, _row(n))
    assert wait_for(app, 10) == 10
    for n in range(3):
        writer.append(AUDIT, _row(n))
    assert writer.flush() == 3  # what the exit hook does
    assert count(app) == 13


def test_token_last_use_is_merged_and_written_with_the_batch(app):
    from tests.api_helpers import make_token

    token_id, _ = make_token(app)
    writer = BackgroundWriter(lambda: _engine(app), asynchronous=True, flush_seconds=3600, batch=1000)
    first, last = datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2026, 1, 2, tzinfo=timezone.utc)
    writer.keep_latest(tokens._TOUCH, token_id, {"token_id": token_id, "when": first})
    writer.keep_latest(tokens._TOUCH, token_id, {"token_id": token_id, "when": last})
    assert writer.flush() == 1  # merged: one UPDATE for the token
    with app.app_context():
        assert db.session.get(ApiToken, token_id).last_used_at == last


def test_a_database_error_is_logged_not_raised(app, caplog):
    def broken():
        raise RuntimeError("database is gone")

    writer = BackgroundWriter(broken, asynchronous=False, flush_seconds=1, batch=1)
    writer.append(AUDIT, _row(0))  # must not raise into the request
    assert "could not write 1 row(s) for insert into audit_events" in caplog.text


def _engine(app):
    with app.app_context():
        return db.engine


def test_rows_come_back_as_they_were_written(app):
    """PostgreSQL gets them by COPY, SQLite by executemany: the values are the same either way."""
    from tests.api_helpers import make_token

    token_id, _ = make_token(app)
    writer = BackgroundWriter(lambda: _engine(app), asynchronous=True, flush_seconds=3600, batch=1000)
    moment = datetime(2026, 11, 29, 4, 5, 6, 123456, tzinfo=timezone.utc)
    awkward = "tab\there, new\nline, back\\slash, \"quoted\", 日本語, \\N"
    writer.append(AUDIT, {**_row(0), "created_at": moment, "actor_token_id": token_id, "target": awkward,
                          "status_code": None, "details": {"ja": "移行", "nested": {"list": [1, 2.5, None, awkward]}}})
    writer.append(AUDIT, {**_row(1), "details": {}})
    assert writer.flush() == 2
    with app.app_context():
        first, second = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "api.test")
                                           .order_by(AuditEvent.id)).all()
        assert (first.created_at, first.actor_token_id, first.target, first.status_code) == (
            moment, token_id, awkward, None)
        assert first.details == {"ja": "移行", "nested": {"list": [1, 2.5, None, awkward]}}
        assert (second.target, second.details) == ("github:u1", {})
