"""The agents' read pool (webapp/db/prepared.py): a bounded set of autocommit connections, kept once
made; a request that finds none free within READ_POOL_WAIT gets the family's 503, not a hang."""

import threading

import pytest

from tests.api_helpers import OPENAI, bearer, make_token, make_user, set_config
from webapp import create_app
from webapp.db.orm import db
from webapp.db.prepared import ReadPool, ReadPoolTimeout


def test_pool_bounds_connections_and_reuses_them(app):
    with app.app_context():
        pool = ReadPool(db.engine, size=2, wait=0.2)
        first, second = pool.acquire(), pool.acquire()
        assert first.dbapi is not second.dbapi
        with pytest.raises(ReadPoolTimeout):
            pool.acquire()  # both taken: waits 0.2 s, then refuses
        kept = first.dbapi
        first.release()
        third = pool.acquire()
        assert third.dbapi is kept  # given back, not closed
        second.release()
        third.release()
        pool.dispose()


def test_a_waiting_request_gets_the_connection_given_back(app):
    with app.app_context():
        pool = ReadPool(db.engine, size=1, wait=5)
        held = pool.acquire()
        got = []
        waiter = threading.Thread(target=lambda: got.append(pool.acquire()))
        waiter.start()
        waiter.join(0.2)
        assert waiter.is_alive() and not got  # still waiting for the one connection
        held.release()
        waiter.join(5)
        assert got and got[0].dbapi is held.dbapi
        got[0].release()
        pool.dispose()


def test_a_failed_new_connection_frees_its_slot(app, monkeypatch):
    with app.app_context():
        pool = ReadPool(db.engine, size=1, wait=0.2)
        monkeypatch.setattr(pool, "_new", lambda: (_ for _ in ()).throw(OSError("server gone")))
        with pytest.raises(OSError):
            pool.acquire()
        monkeypatch.undo()
        pool.acquire().release()  # the slot came back: no ReadPoolTimeout
        pool.dispose()


def test_an_exhausted_pool_answers_503_in_the_family_shape(app_env):
    app = create_app(env={**app_env, "READ_POOL_SIZE": "1", "READ_POOL_WAIT": "0.2"}, overrides={"TESTING": True})
    user_id = make_user(app, github="pooled")
    set_config(app, user_id, OPENAI, api_key="sk-proj-" + "p" * 40)
    _, raw = make_token(app)
    client = app.test_client()
    url = "/v1/users/github/pooled/llm-config"
    assert client.get(url, headers=bearer(raw)).status_code == 200
    with app.app_context():
        from webapp.db.prepared import _pool

        held = _pool().acquire()  # the worker's only read connection, busy elsewhere
    try:
        response = client.get(url, headers=bearer(raw))
    finally:
        held.release()
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "error" and body["error"]["code"] == "SERVICE_UNAVAILABLE", body
    assert client.get(url, headers=bearer(raw)).status_code == 200
