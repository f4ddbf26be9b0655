"""The agents' kept reads (webapp/db/read_cache.py): with Redis, a worker answers an agent's repeated
call without reading its token and settings again, and still sees every change the next call,
whichever process made it. Each "process" here is an app of its own over the same database and
Redis, with its own kept rows."""

import time

import pytest
import redis
from sqlalchemy import text, update

from tests.api_helpers import OPENAI, bearer, dbapi_statements, make_token, make_user, selects, set_config
from webapp import create_app
from webapp.accounts import service as accounts
from webapp.accounts.models import User
from webapp.db.orm import db
from webapp.llm_configs import lookup
from webapp.tokens import service as tokens
from webapp.tokens.models import ApiToken

PATH = "/v1/users/github/octo/llm-config"


@pytest.fixture
def store(redis_url):
    client = redis.Redis.from_url(redis_url)
    client.flushdb()  # counters and the generation of another test or backend
    return client


@pytest.fixture
def apps(app_env, redis_url, store):
    """(serving, other): two processes' apps sharing the database and Redis; octo has settings."""
    env = {**app_env, "RATELIMIT_STORAGE_URI": redis_url}
    serving, other = create_app(env=env), create_app(env=env)
    make_user(other, "admin@example.com", admin=True)
    set_config(other, make_user(other, "octo@example.com", github="octo"), OPENAI, api_key="sk-proj-" + "o" * 40)
    return serving, other


def token_reads(statements):
    return [s for s in selects(statements) if "api_tokens" in s]


def warm(client, raw):
    """The first call tags nothing (no generation seen yet); the second keeps the rows."""
    for _ in range(2):
        assert client.get(PATH, headers=bearer(raw)).status_code == 200


def kept_caller(app):
    """A new token whose rows `app` now keeps: (a client, the raw token, the token's id)."""
    token_id, raw = make_token(app)
    client = app.test_client()
    warm(client, raw)
    return client, raw, token_id


def test_a_repeated_call_reads_nothing_from_the_database(apps):
    serving, _ = apps
    client, raw, _ = kept_caller(serving)
    with dbapi_statements(serving) as statements:
        response = client.get(PATH, headers=bearer(raw))
        head = client.head(PATH, headers=bearer(raw))
    assert response.status_code == 200 and head.status_code == 200
    assert response.get_json()["data"]["llm_config"]["openai"]["api_key"] == "sk-proj-" + "o" * 40
    assert token_reads(statements) == []
    assert response.headers["X-RateLimit-Remaining"] == "57"  # still counted, every call


def test_without_redis_nothing_is_kept(app_env):
    app = create_app(env={**app_env, "RATELIMIT_STORAGE_URI": "memory://"})
    make_user(app, "admin@example.com", admin=True)
    set_config(app, make_user(app, "octo@example.com", github="octo"), OPENAI)
    client, raw, _ = kept_caller(app)
    with dbapi_statements(app) as statements:
        assert client.get(PATH, headers=bearer(raw)).status_code == 200
    assert len(token_reads(statements)) == 1  # the CLI or the job consumer could not have said what changed


def test_a_token_revoked_in_another_process_is_refused_on_the_next_call(apps):
    serving, other = apps
    client, raw, token_id = kept_caller(serving)
    with other.app_context():
        admin = db.session.scalar(db.select(User).where(User.is_admin.is_(True)))
        tokens.revoke_token(admin, token_id, ip="127.0.0.1")
    response = client.get(PATH, headers=bearer(raw))
    assert response.status_code == 401, response.get_json()
    with other.app_context():  # audited as a refused caller, not as a call of the token its kept row named
        from webapp.audit.models import AuditEvent

        named = db.session.scalars(db.select(AuditEvent).where(AuditEvent.status_code == 401,
                                                                AuditEvent.actor_token_id == token_id)).all()
        assert named == []  # (refused callers are tallied per address and minute, written later)


def test_a_person_deactivated_elsewhere_is_refused_on_the_next_call(apps):
    serving, other = apps
    client, raw, _ = kept_caller(serving)
    with other.app_context():
        admin = db.session.scalar(db.select(User).where(User.is_admin.is_(True)))
        octo = db.session.scalar(db.select(User).where(User.email == "octo@example.com"))
        accounts.set_active(admin, octo.id, False, ip="127.0.0.1")
    assert client.get(PATH, headers=bearer(raw)).status_code == 403


def test_settings_saved_elsewhere_are_served_on_the_next_call_and_counted_once(apps):
    serving, other = apps
    client, raw, _ = kept_caller(serving)
    with other.app_context():
        octo = db.session.scalar(db.select(User).where(User.email == "octo@example.com"))
    set_config(other, octo.id, {**OPENAI, "openai_model": "gpt-4.1"})
    response = client.get(PATH, headers=bearer(raw))
    assert response.get_json()["data"]["llm_config"]["openai"]["model"] == "gpt-4.1"
    assert response.headers["X-RateLimit-Remaining"] == "57"  # the third call, counted once though read twice
    with dbapi_statements(serving) as statements:
        assert client.get(PATH, headers=bearer(raw)).status_code == 200
    assert len(token_reads(statements)) == 1  # kept again after the change: read once more, then not


def test_what_kept_rows_give_is_worked_out_once_and_afresh_after_a_change(apps, monkeypatch):
    """The caller and the settings are worked out from kept rows once, not per call; a change
    elsewhere drops them with the rows, and the next calls serve the change."""
    serving, other = apps
    client, raw, _ = kept_caller(serving)
    worked_out = []
    for module, name in ((lookup, "_found"), (tokens, "_principal")):
        monkeypatch.setattr(module, name, lambda *row, work=getattr(module, name), name=name:
                            worked_out.append(name) or work(*row))
    for _ in range(3):
        assert client.get(PATH, headers=bearer(raw)).status_code == 200
    assert worked_out == []  # all three from what the second call of kept_caller() worked out
    with other.app_context():
        octo = db.session.scalar(db.select(User).where(User.email == "octo@example.com"))
    set_config(other, octo.id, {**OPENAI, "openai_model": "gpt-4.1"})
    models = [client.get(PATH, headers=bearer(raw)).get_json()["data"]["llm_config"]["openai"]["model"]
              for _ in range(4)]
    assert models == ["gpt-4.1"] * 4
    # Read past the kept rows once (a stale tag), kept again by the next call, then from memory.
    assert worked_out == ["_principal", "_found"] * 2


def test_a_bulk_update_through_the_session_is_seen_too(apps):
    serving, other = apps
    client, raw, _ = kept_caller(serving)
    with other.app_context():
        db.session.execute(update(ApiToken).values(status="revoked"))
        db.session.commit()
    assert client.get(PATH, headers=bearer(raw)).status_code == 401


def test_rows_changed_outside_the_application_are_read_again_within_the_age_limit(app_env, redis_url, store):
    app = create_app(env={**app_env, "RATELIMIT_STORAGE_URI": redis_url, "AGENT_READ_CACHE_SECONDS": "1"})
    make_user(app, "admin@example.com", admin=True)
    set_config(app, make_user(app, "octo@example.com", github="octo"), OPENAI)
    client, raw, _ = kept_caller(app)
    with app.app_context(), db.engine.begin() as connection:  # SQL by hand: no commit hook, no bump
        connection.execute(text("UPDATE api_tokens SET status = 'revoked'"))
    assert client.get(PATH, headers=bearer(raw)).status_code == 200  # kept rows, up to a second old
    time.sleep(1.1)
    assert client.get(PATH, headers=bearer(raw)).status_code == 401


def test_a_flushed_redis_never_vouches_for_rows_kept_before(apps, store):
    """A restarted Redis starts its generation from a random value: rows tagged before never match."""
    serving, _ = apps
    client, raw, _ = kept_caller(serving)
    store.flushall()
    with serving.app_context(), db.engine.begin() as connection:  # and a change no commit hook saw
        connection.execute(text("UPDATE api_tokens SET status = 'revoked'"))
    assert client.get(PATH, headers=bearer(raw)).status_code == 401


def test_a_tokens_last_use_is_written_once_an_interval_though_its_row_is_kept(apps, monkeypatch):
    from datetime import timedelta

    monkeypatch.setattr(tokens, "LAST_USED_WRITE_INTERVAL", timedelta(seconds=1))
    serving, _ = apps
    _, raw = make_token(serving)
    client = serving.test_client()
    warm(client, raw)  # the kept row holds the first call's last use
    time.sleep(1.1)
    with dbapi_statements(serving) as statements:
        for _ in range(4):
            assert client.get(PATH, headers=bearer(raw)).status_code == 200
    touches = [s for s in statements if s.lstrip().upper().startswith("UPDATE") and "api_tokens" in s]
    assert len(touches) == 1, touches  # not once per call, though the kept row still shows the old time


def test_a_lost_generation_starts_again_from_a_random_value(redis_url, store):
    """Were it to start from a fixed value, a restarted Redis could vouch for rows a process kept
    under the same number before the restart."""
    from webapp.machine.ratelimit import RedisCounters

    counters = RedisCounters(redis_url)
    first = counters.hit(["k/{a}/60/60"], [60], [60])[2]
    assert counters.hit(["k/{a}/60/60"], [60], [60])[2] == first  # read, not changed, by every call
    counters.bump()
    assert counters.hit(["k/{a}/60/60"], [60], [60])[2] == first + 1
    store.flushall()
    assert counters.hit(["k/{a}/60/60"], [60], [60])[2] not in (first, first + 1)
    store.flushall()
    counters.bump()  # a bump that finds no generation seeds it too
    assert counters.hit(["k/{a}/60/60"], [60], [60])[2] not in (first, first + 1, 1)


def test_a_commit_redis_cannot_hear_of_still_succeeds_and_is_logged(app_env, caplog):
    app = create_app(env={**app_env, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:9/0"})
    user_id = make_user(app, "octo@example.com", github="octo")
    set_config(app, user_id, OPENAI)  # commits; the bump cannot reach Redis
    with app.app_context():
        from webapp.llm_configs.models import LLMConfig

        saved = db.session.scalar(db.select(LLMConfig).where(LLMConfig.user_id == user_id))
        assert saved is not None and saved.openai_model == "gpt-4o"
    assert "could not tell other processes of a change" in caplog.text


def test_a_bump_redis_missed_is_made_with_the_next_call(app_env):
    """Redis down while an admin revokes a token: the revocation commits, and this process tells
    Redis with its next call (before counting it), so the others see it too."""
    from tests.redis_server import RedisServer

    server = RedisServer(persistent=True)
    env = {**app_env, "RATELIMIT_STORAGE_URI": server.start()}
    try:
        admin_side, agent_side = create_app(env=env), create_app(env=env)
        make_user(admin_side, "admin@example.com", admin=True)
        set_config(admin_side, make_user(admin_side, "octo@example.com", github="octo"), OPENAI)
        token_id, raw = make_token(admin_side)
        admins, agents = admin_side.test_client(), agent_side.test_client()
        warm(admins, raw)
        warm(agents, raw)
        server.stop(keep_data=True)
        with admin_side.app_context():
            admin = db.session.scalar(db.select(User).where(User.is_admin.is_(True)))
            tokens.revoke_token(admin, token_id, ip="127.0.0.1")  # committed; the bump cannot be made
            assert db.session.get(ApiToken, token_id).status == "revoked"
        server.start()  # the same data: the generation the agent side's rows were tagged with
        assert admins.get(PATH, headers=bearer(raw)).status_code == 401  # the bump made first
        assert agents.get(PATH, headers=bearer(raw)).status_code == 401  # ... so the other process sees it
    finally:
        server.stop()
