"""Spec 004's REST API (issue 13): sign-in with its names, sessions, history search with highlights
and facets, settings; the ApiResponse envelope, §4.2's codes and §5's limits with X-RateLimit-*."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest

from webapp import create_app
from webapp.chats.models import ChatMessage, ChatSession
from webapp.db.orm import db
from webapp.workspace import service

PASSWORD = "Password123"


class Person:
    def __init__(self, client, email, username):
        self.client = client
        assert client.post("/api/v1/auth/register", json={"email": email, "username": username,
                                                          "password": PASSWORD}).status_code == 201
        signed = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
        assert signed.status_code == 200, signed.json
        self.tokens = signed.json["data"]
        self.headers = {"Authorization": f"Bearer {self.tokens['accessToken']}", "Accept-Language": "en"}

    def get(self, url, **kwargs):
        return self.client.get(url, headers=self.headers, **kwargs)

    def post(self, url, **kwargs):
        return self.client.post(url, headers=self.headers, **kwargs)

    def new_session(self, **body):
        created = self.post("/api/sessions", json=body)
        assert created.status_code == 201, created.json
        return created.json["data"]["id"]


@pytest.fixture
def app(app_env):
    return create_app(env={**app_env, "WORKSPACE_MAX_ACTIVE_SESSIONS": "5"})


@pytest.fixture
def alice(app):
    return Person(app.test_client(), "alice@example.com", "alice")


@pytest.fixture
def bob(app):
    return Person(app.test_client(), "bob@example.com", "bob")


def say(app, session_id, role, content, *, format="text", when=None):
    with app.app_context():
        session = db.session.get(ChatSession, uuid.UUID(session_id))
        message = service.add_message(session, role, content, format=format)
        if when is not None:
            message.created_at = when
        db.session.commit()
        return str(message.uid)


def error_of(answer, status, code):
    assert answer.status_code == status, answer.json
    body = answer.json
    assert body["success"] is False and body["error"]["code"] == code and body["error"]["message"]
    assert body["timestamp"].endswith("Z") and "data" not in body
    return body["error"]


def test_sign_in_by_username_or_email_with_spec_004s_names(app, alice):
    data = alice.tokens
    assert set(data) == {"accessToken", "refreshToken", "expiresIn", "user"}
    assert data["expiresIn"] == 3600 and data["user"]["username"] == "alice"
    assert data["user"]["email"] == "alice@example.com"
    by_email = alice.client.post("/api/auth/login", json={"username": "alice@example.com", "password": PASSWORD})
    assert by_email.status_code == 200 and by_email.json["success"] is True
    assert by_email.headers["X-RateLimit-Limit"] == "100"  # before signing in: 100 an hour per address
    error_of(alice.client.post("/api/auth/login", json={"username": "alice", "password": "wrong-password"}),
             401, "AUTH001")
    error_of(alice.client.post("/api/auth/login", json={"username": "alice"}), 400, "VAL001")
    error_of(alice.client.post("/api/auth/login", data="not json", content_type="application/json"), 400, "VAL001")


def test_refresh_gives_an_hours_token_and_keeps_the_refresh_token(app, alice):
    for _ in range(2):  # spec 004's refresh answers no new refresh token: the old one must keep working
        renewed = alice.client.post("/api/auth/refresh", json={"refreshToken": alice.tokens["refreshToken"]})
        assert renewed.status_code == 200, renewed.json
        assert set(renewed.json["data"]) == {"accessToken", "expiresIn"} and renewed.json["data"]["expiresIn"] == 3600
        assert alice.client.get("/api/settings", headers={
            "Authorization": f"Bearer {renewed.json['data']['accessToken']}"}).status_code == 200
    error_of(alice.client.post("/api/auth/refresh", json={"refreshToken": alice.tokens["accessToken"]}), 401, "AUTH003")
    error_of(alice.client.post("/api/auth/refresh", json={"refreshToken": "x"}), 401, "AUTH003")
    with app.app_context():  # "sign out everywhere" ends every sign-in, this one's refresh token too
        from webapp.accounts.models import User

        db.session.execute(db.update(User).values(session_version=User.session_version + 1))
        db.session.commit()
    spent = alice.client.post("/api/auth/refresh", json={"refreshToken": alice.tokens["refreshToken"]})
    error_of(spent, 401, "AUTH003")
    error_of(alice.get("/api/sessions"), 401, "AUTH003")


def test_an_expired_token_is_auth002_and_a_bad_one_auth003(app_env):
    app = create_app(env={**app_env, "WORKSPACE_ACCESS_SECONDS": "1"})
    alice = Person(app.test_client(), "alice@example.com", "alice")
    assert alice.get("/api/sessions").status_code == 200
    time.sleep(2.1)
    error_of(alice.get("/api/sessions"), 401, "AUTH002")
    error_of(alice.client.get("/api/sessions", headers={"Authorization": "Bearer nonsense"}), 401, "AUTH003")
    error_of(alice.client.get("/api/sessions"), 401, "AUTH003")


def test_sessions_are_listed_paged_filtered_and_private(app, alice, bob):
    ids = [alice.new_session(title=f"作業 {n}", workspace="backend", metadata={"tags": ["db"], "x": 1})
           for n in range(3)]
    say(app, ids[0], "user", "hello")
    with app.app_context():
        from webapp.accounts.models import User

        service.close_session(db.session.scalar(db.select(User).where(User.username == "alice")), ids[1])
    first = alice.get("/api/sessions?limit=2").json["data"]
    assert first["pagination"] == {"page": 1, "limit": 2, "total": 3, "totalPages": 2, "hasNext": True,
                                   "hasPrevious": False}
    # Most recently active first: closed just now, then the one with a message.
    assert [s["id"] for s in first["sessions"]] == [ids[1], ids[0]]
    assert [s["messageCount"] for s in first["sessions"]] == [0, 1]
    assert set(first["sessions"][0]) == {"id", "title", "createdAt", "updatedAt", "status", "messageCount"}
    second = alice.get("/api/sessions?limit=2&page=2").json["data"]
    assert second["pagination"]["hasPrevious"] is True and len(second["sessions"]) == 1
    closed = alice.get("/api/sessions?status=closed").json["data"]["sessions"]
    assert [s["id"] for s in closed] == [ids[1]] and closed[0]["status"] == "closed"
    assert bob.get("/api/sessions").json["data"]["sessions"] == []

    detail = alice.get(f"/api/sessions/{ids[0]}").json["data"]
    assert detail["metadata"] == {"workspace": "backend", "tags": ["db"]}
    [message] = detail["messages"]
    assert message["sessionId"] == ids[0] and message["role"] == "user" and uuid.UUID(message["id"])
    for answer in (bob.get(f"/api/sessions/{ids[0]}"),
                   bob.client.delete(f"/api/sessions/{ids[0]}", headers=bob.headers),
                   alice.get(f"/api/sessions/{uuid.uuid4()}"), alice.get("/api/sessions/not-an-id")):
        error_of(answer, 404, "SESSION001")
    deleted = alice.client.delete(f"/api/sessions/{ids[0]}", headers=alice.headers)
    assert deleted.status_code == 200 and deleted.json["data"] == {"id": ids[0]}
    error_of(alice.get(f"/api/sessions/{ids[0]}"), 404, "SESSION001")
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(ChatMessage)) == 0


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "page=0", "status=open", "page=x"])
def test_bad_list_queries_are_val001(alice, query):
    error_of(alice.get(f"/api/sessions?{query}"), 400, "VAL001")


@pytest.mark.parametrize("body, field", [({"title": "x" * 201}, "title"), ({"title": "a\x07b"}, "title"),
                                         ({"metadata": {"tags": "db"}}, "metadata.tags"),
                                         ({"metadata": {"tags": ["x" * 51]}}, "metadata.tags"),
                                         ({"metadata": {"blob": "x" * 9000}}, "metadata"),
                                         ({"workspace": "a\nb"}, "workspace")])
def test_bad_new_sessions_are_val001_and_nothing_is_kept(app, alice, body, field):
    error = error_of(alice.post("/api/sessions", json=body), 400, "VAL001")
    assert error.get("details", {}).get("field", field) == field
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(ChatSession)) == 0


def test_open_sessions_are_limited(app, alice):
    for _ in range(5):
        alice.new_session()
    error_of(alice.post("/api/sessions", json={}), 409, "SESSION003")


def test_history_search_finds_japanese_and_english_with_highlights_and_facets(app, alice, bob):
    one, two = alice.new_session(title="移行"), alice.new_session(title="review")
    yesterday = service.utcnow() - timedelta(days=1)
    say(app, one, "user", "データベースのマイグレーションを実行してください")
    found_id = say(app, one, "assistant", "\x1b[32mRunning migration 0012\x1b[0m\r\nマイグレーションが完了しました",
                   format="ansi")
    say(app, two, "assistant", "The migration <script>alert(1)</script> failed", when=yesterday)
    say(app, two, "user", "unrelated words only")
    theirs = bob.new_session()
    say(app, theirs, "user", "my own migration マイグレーション")

    japanese = alice.get("/api/history/search", query_string={"q": "マイグレーション"}).json["data"]
    assert {r["sessionId"] for r in japanese["results"]} == {one}
    assert all("<mark>マイグレーション</mark>" in r["highlight"] for r in japanese["results"])
    english = alice.get("/api/history/search", query_string={"q": "migration"}).json["data"]
    assert english["pagination"]["total"] == 2 and len(english["results"]) == 2
    by_id = {r["messageId"]: r for r in english["results"]}
    assert by_id[found_id]["content"] == "Running migration 0012\nマイグレーションが完了しました"  # no ANSI
    assert "Running <mark>migration</mark>" in by_id[found_id]["highlight"]
    escaped = next(r for r in english["results"] if r["sessionId"] == two)["highlight"]
    assert "&lt;script&gt;" in escaped and "<script>" not in escaped
    assert sorted((f["id"], f["count"]) for f in english["facets"]["sessions"]) == sorted([(one, 1), (two, 1)])
    assert [d["date"] for d in english["facets"]["dates"]] == [service.utcnow().date().isoformat(),
                                                               yesterday.date().isoformat()]
    assert all(r["score"] >= 0 for r in english["results"])

    only_two = alice.get("/api/history/search", query_string={"q": "migration", "sessionId": two}).json["data"]
    assert [r["sessionId"] for r in only_two["results"]] == [two]
    today = alice.get("/api/history/search", query_string={
        "q": "migration", "startDate": service.utcnow().replace(hour=0, minute=0).isoformat()}).json["data"]
    assert {r["sessionId"] for r in today["results"]} == {one}
    paged = alice.get("/api/history/search", query_string={"q": "migration", "limit": 1, "page": 2}).json["data"]
    assert len(paged["results"]) == 1 and paged["pagination"]["hasPrevious"] is True
    error_of(alice.get("/api/history/search", query_string={"q": "migration", "sessionId": theirs}), 404, "SESSION001")
    assert alice.get("/api/history/search", query_string={"q": "の を は"}).json["data"]["results"] == []


@pytest.mark.parametrize("query", [{}, {"q": ""}, {"q": "x" * 201}, {"q": "a", "startDate": "yesterday"},
                                   {"q": "a", "startDate": "2026-02-01", "endDate": "2026-01-01"},
                                   {"q": "a", "limit": "1000"}])
def test_bad_searches_are_val001(alice, query):
    error_of(alice.get("/api/history/search", query_string=query), 400, "VAL001")


@pytest.mark.parametrize("query", ['"', "OR", "NEAR(a b)", "a AND", "*", "-x", "^", "'; DROP TABLE chat_messages; --"])
def test_hostile_search_strings_are_only_words(app, alice, query):
    say(app, alice.new_session(), "user", "ordinary text")
    answer = alice.get("/api/history/search", query_string={"q": query})
    assert answer.status_code == 200 and answer.json["success"] is True


def test_settings_are_read_and_changed_in_part(app, alice):
    settings = alice.get("/api/settings").json["data"]
    assert settings == {"theme": "light", "fontSize": 14, "enableSounds": False, "autoSave": True,
                        "amazonQSettings": {"trustAllTools": False, "timeout": 300, "model": "", "agent": ""}}
    changed = alice.client.put("/api/settings", headers=alice.headers, json={
        "theme": "dark", "fontSize": 16, "amazonQSettings": {"trustAllTools": True}}).json["data"]
    assert changed["theme"] == "dark" and changed["fontSize"] == 16 and changed["autoSave"] is True
    assert changed["amazonQSettings"] == {"trustAllTools": True, "timeout": 300, "model": "", "agent": ""}
    with app.app_context():  # the site's own theme is the same setting
        from webapp.accounts.models import User
        from webapp.accounts.service import theme_of

        assert theme_of(db.session.scalar(db.select(User).where(User.username == "alice"))) == "dark"


@pytest.mark.parametrize("body, field", [({"fontSize": 99}, "fontSize"), ({"fontSize": "16"}, "fontSize"),
                                         ({"fontSize": True}, "fontSize"), ({"theme": "blue"}, "theme"),
                                         ({"enableSounds": "yes"}, "enableSounds"), ({"colour": 1}, "colour"),
                                         ({"amazonQSettings": {"timeout": 5}}, "amazonQSettings.timeout"),
                                         ({"amazonQSettings": {"shell": "rm"}}, "amazonQSettings.shell"),
                                         ({"amazonQSettings": {"agent": "/bin/sh"}}, "amazonQSettings.agent"),
                                         ({"amazonQSettings": {"agent": []}}, "amazonQSettings.agent"),
                                         ({"amazonQSettings": []}, "amazonQSettings")])
def test_bad_settings_are_val001_and_change_nothing(alice, body, field):
    answer = alice.client.put("/api/settings", headers=alice.headers, json={"autoSave": False, **body})
    assert error_of(answer, 400, "VAL001")["details"]["field"] == field
    assert alice.get("/api/settings").json["data"]["autoSave"] is True
    error_of(alice.client.put("/api/settings", headers=alice.headers, json=[1]), 400, "VAL001")


def test_a_person_has_1000_requests_an_hour(app_env):
    app = create_app(env={**app_env, "WORKSPACE_RATE_LIMITS": "3/hour"})
    alice = Person(app.test_client(), "alice@example.com", "alice")
    answers = [alice.get("/api/sessions") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0].headers["X-RateLimit-Limit"] == "3" and answers[0].headers["X-RateLimit-Remaining"] == "2"
    assert int(answers[0].headers["X-RateLimit-Reset"]) > time.time()
    error_of(answers[3], 429, "SYS001")
    assert answers[3].headers["X-RateLimit-Remaining"] == "0" and int(answers[3].headers["Retry-After"]) > 0


def test_an_unknown_path_under_api_answers_in_the_envelope(alice):
    answer = alice.get("/api/nothing-here")
    assert answer.status_code == 404 and answer.json["success"] is False


def test_a_closed_session_cannot_be_closed_again(app, alice):
    session_id = alice.new_session()
    with app.app_context():
        from webapp.accounts.models import User

        person = db.session.scalar(db.select(User).where(User.username == "alice"))
        assert service.close_session(person, session_id).status == "closed"
        with pytest.raises(service.SessionClosed) as closed:
            service.close_session(person, session_id)
    assert (closed.value.status, closed.value.code) == (409, "SESSION002")
