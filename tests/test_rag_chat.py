"""Spec 001 §3.2 and §3.5: RAG chat over a tenant's documents, with and without the tenant's own LLM
key, conversations that continue, provider keys that are never shown again."""

from __future__ import annotations

import uuid

import pytest

from tests.api_helpers import bearer, make_token
from tests.test_retrieval import add_document
from webapp import create_app
from webapp.accounts.models import User
from webapp.chats.models import ChatMessage, ChatSession
from webapp.db.crypto import box
from webapp.db.orm import db
from webapp.tenants.models import ProviderKey
from webapp.usage.models import UsageEvent

PASSAGES = {"paid_leave": "有給休暇は入社6か月後に10日付与されます。取得する場合は3日前までに申請してください。",
            "backup": "データベースのバックアップは毎日午前3時に自動で取得され、30日間保管されます。"}


class Tenant:
    def __init__(self, app, client, email, username, name):
        self.app, self.client = app, client
        created = client.post("/api/v1/auth/register", json={"email": email, "username": username,
                                                             "password": "Password123", "tenant_name": name})
        assert created.status_code == 201, created.json
        self.id = uuid.UUID(created.json["tenant_id"])
        token = client.post("/api/v1/auth/login", json={"email": email, "password": "Password123"}).json
        self.headers = {**bearer(token["access_token"]), "Accept-Language": "en"}

    def ask(self, **body):
        return self.client.post("/api/v1/chats/rag", headers=self.headers, json=body)

    def add_key(self, **body):
        return self.client.post("/api/v1/api-keys", headers=self.headers, json=body)


@pytest.fixture
def setup(app_env):
    app = create_app(env={**app_env, "RAG_LLM_TIMEOUT": "1", "CHAT_RATE_LIMITS": "50/minute"})
    client = app.test_client()
    first = Tenant(app, client, "admin@example.com", "admin_a", "Company A")  # the instance's first account: ADMIN
    with app.app_context():
        add_document(first.id, PASSAGES)
    return app, client, first


def set_person(app, email, **values):
    """Change a person: moved into another organisation (tenant_id=...), they are its OPERATOR."""
    if "tenant_id" in values:
        values.setdefault("role", "OPERATOR")
    with app.app_context():
        db.session.execute(db.update(User).where(User.email == email).values(**values))
        db.session.commit()


def stored(app, model):
    with app.app_context():
        return list(db.session.scalars(db.select(model)))


def test_without_an_llm_the_passages_are_the_answer(setup):
    app, _, tenant = setup
    answer = tenant.ask(query="有休は何日もらえますか", model="gpt-4", top_k=1)
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert body["metadata"]["retrieval_only"] is True and body["metadata"]["model"] == "retrieval-only"
    assert body["answer"].startswith("No language model is set up for this organisation")
    assert "10日付与されます" in body["answer"]
    [source] = body["sources"]
    assert (source["file_name"], source["chunk_index"], source["chunk_text"]) == ("handbook.txt", 0,
                                                                                 PASSAGES["paid_leave"])
    [session] = stored(app, ChatSession)
    assert str(session.id) == body["conversation_id"] and session.user_id is not None
    assert [m.role for m in stored(app, ChatMessage)] == ["user", "assistant"]
    [event] = stored(app, UsageEvent)
    assert (event.kind, event.tenant_id, event.tokens_in, event.cost) == ("chat", tenant.id, 0, 0.0)


def test_retrieval_only_speaks_the_callers_language(setup):
    _, _, tenant = setup
    tenant.headers["Accept-Language"] = "ja"
    body = tenant.ask(query="バックアップの保管期間").json
    assert body["answer"].startswith("この組織には言語モデルが設定されていないため")
    nothing = tenant.ask(query="宇宙旅行の予算").json
    assert nothing["sources"] == [] and "一致する" in nothing["answer"]


def test_the_tenants_key_writes_the_answer_from_the_passages(setup, llm_server):
    app, _, tenant = setup
    llm_server.replies[:] = ["入社6か月後に10日です [1]", "3日前までです [1]"]
    created = tenant.add_key(provider="openai", model="gpt-4o", api_key=llm_server.api_key,
                             base_url=f"{llm_server.url}/v1")
    assert created.status_code == 201, created.json
    assert "api_key" not in created.json and created.json["api_key_hint"].endswith(llm_server.api_key[-4:])

    first = tenant.ask(query="有休は何日もらえますか", temperature=0.2, max_tokens=300)
    assert first.status_code == 200, first.json
    body = first.json
    assert body["answer"] == "入社6か月後に10日です [1]"
    assert body["metadata"]["model"] == "gpt-4o" and body["metadata"]["retrieval_only"] is False
    assert (body["metadata"]["tokens_in"], body["metadata"]["tokens_out"]) == (120, 30)
    asked = llm_server.chats[-1]
    assert (asked["temperature"], asked["max_tokens"]) == (0.2, 300)
    assert PASSAGES["paid_leave"] in asked["messages"][0]["content"]  # the passages go in the prompt
    assert asked["messages"][-1] == {"role": "user", "content": "有休は何日もらえますか"}
    assert llm_server.seen_authorization[-1] == f"Bearer {llm_server.api_key}"

    follow_up = tenant.ask(query="申請はいつまで？", session_id=body["conversation_id"])
    assert follow_up.json["conversation_id"] == body["conversation_id"]
    history = llm_server.chats[-1]["messages"]
    assert [m["role"] for m in history] == ["system", "user", "assistant", "user"]
    assert history[2]["content"] == "入社6か月後に10日です [1]"
    events = stored(app, UsageEvent)
    assert [e.model for e in events] == ["gpt-4o", "gpt-4o"]
    assert events[0].cost == pytest.approx((120 * 2.5 + 30 * 10.0) / 1_000_000)


def test_a_model_without_a_key_is_refused_by_name(setup, llm_server):
    _, _, tenant = setup
    tenant.add_key(provider="ollama", model="qwen3:30b", base_url=llm_server.url)
    refused = tenant.ask(query="有休", model="gpt-4")
    assert refused.status_code == 400
    assert refused.json["error_code"] == "VALIDATION_ERROR" and "qwen3:30b" in refused.json["detail"]


@pytest.mark.parametrize("base, reply, status, code", [
    ("{url}/v1", 3, 504, "LLM_TIMEOUT"),  # the fake waits 3 s; the deadline is 1 s
    ("{url}/missing/v1", None, 502, "LLM_PROVIDER_ERROR"),  # HTTP 404
    ("http://127.0.0.1:9/v1", None, 502, "LLM_UNAVAILABLE"),  # nothing listens
])
def test_provider_failures_are_clear_errors_and_leave_nothing_behind(setup, llm_server, base, reply, status, code):
    app, _, tenant = setup
    llm_server.replies[:] = [reply] if reply is not None else []
    tenant.add_key(provider="openai", model="gpt-4o", api_key=llm_server.api_key, base_url=base.format(
        url=llm_server.url))
    failed = tenant.ask(query="有休は何日もらえますか")
    assert failed.status_code == status, failed.json
    assert failed.json["error_code"] == code and set(failed.json) == {"detail", "error_code", "timestamp"}
    assert "127.0.0.1" not in failed.json["detail"]  # the host is for the log, not the caller
    assert stored(app, ChatSession) == [] and stored(app, ChatMessage) == [] and stored(app, UsageEvent) == []


def test_conversations_are_their_owners(setup):
    app, client, tenant = setup
    mine = tenant.ask(query="バックアップ").json["conversation_id"]
    other = Tenant(app, client, "b@example.com", "user_b", "Company B")
    assert other.ask(query="バックアップ", session_id=mine).status_code == 404
    assert tenant.ask(query="バックアップ", session_id=str(uuid.uuid4())).status_code == 404
    assert other.ask(query="バックアップ").json["sources"] == []  # another tenant's documents stay theirs
    colleague = Tenant(app, client, "c@example.com", "colleague", "Company C")
    set_person(app, "c@example.com", tenant_id=tenant.id)  # same organisation, another person
    assert colleague.ask(query="バックアップ").json["sources"]  # the organisation's documents are theirs too
    assert colleague.ask(query="バックアップ", session_id=mine).status_code == 404  # its conversations are not
    assert len(stored(app, ChatMessage)) == 6


@pytest.mark.parametrize("body", [
    {}, {"query": ""}, {"query": "   "}, {"query": "x" * 1001}, {"query": "q", "top_k": 0},
    {"query": "q", "top_k": 21}, {"query": "q", "top_k": "five"}, {"query": "q", "temperature": 2.1},
    {"query": "q", "temperature": -0.1}, {"query": "q", "session_id": "not-a-uuid"}, {"query": "q\x00"},
    {"query": "q", "max_tokens": 0}, {"query": ["q"]},
])
def test_bad_questions_get_spec_001s_400(setup, body):
    app, _, tenant = setup
    answer = tenant.ask(**body)
    assert answer.status_code == 400, answer.json
    assert answer.json["error_code"] == "VALIDATION_ERROR" and answer.json["detail"]
    assert stored(app, ChatSession) == []


def test_chat_is_limited_per_caller(app_env):
    app = create_app(env={**app_env, "CHAT_RATE_LIMITS": "2/minute"})
    tenant = Tenant(app, app.test_client(), "admin@example.com", "admin_a", "Company A")
    assert [tenant.ask(query="q").status_code for _ in range(3)] == [200, 200, 429]
    refused = tenant.ask(query="q")
    assert refused.json["error_code"] == "RATE_LIMIT_EXCEEDED" and int(refused.headers["Retry-After"]) > 0


def test_provider_keys_are_admin_only_encrypted_and_never_returned(setup, llm_server):
    app, client, tenant = setup
    secret = "sk-proj-" + "s3cr3t" * 8
    created = tenant.add_key(provider="openai", model="gpt-4o", api_key=secret)
    assert created.status_code == 201
    listed = client.get("/api/v1/api-keys", headers=tenant.headers)
    assert [k["model"] for k in listed.json] == ["gpt-4o"] and secret not in listed.get_data(as_text=True)
    [row] = stored(app, ProviderKey)
    assert secret not in row.secret and row.hint == f"sk-proj-****...{secret[-4:]}"  # encrypted; a masked hint
    with app.app_context():
        assert box().decrypt(row.secret) == secret

    member = Tenant(app, client, "m@example.com", "member_m", "Company M")
    set_person(app, "m@example.com", tenant_id=tenant.id)  # a second person of tenant A, not its administrator
    assert client.get("/api/v1/api-keys", headers=member.headers).status_code == 403
    assert member.add_key(provider="openai", model="gpt-4o", api_key=secret).status_code == 403
    assert client.delete(f"/api/v1/api-keys/{row.id}", headers=member.headers).status_code == 403

    stranger = Tenant(app, client, "s@example.com", "stranger", "Company S")
    # s@example.com administers Company S, the organisation its registration created
    assert client.get("/api/v1/api-keys", headers=stranger.headers).json == []
    assert client.delete(f"/api/v1/api-keys/{row.id}", headers=stranger.headers).status_code == 404
    deleted = client.delete(f"/api/v1/api-keys/{row.id}", headers=tenant.headers)
    assert deleted.status_code == 200 and deleted.json == {"message": "APIキーが削除されました"}
    assert stored(app, ProviderKey) == []


@pytest.mark.parametrize("body, field", [
    ({"provider": "anthropic", "model": "m", "api_key": "k"}, "provider"),
    ({"provider": "openai", "model": "", "api_key": "k"}, "model"),
    ({"provider": "openai", "model": "gpt-4o"}, "api_key"),
    ({"provider": "openai", "model": "gpt-4o", "api_key": "sk-a b"}, "api_key"),
    ({"provider": "openai", "model": "gpt-4o", "api_key": "k", "base_url": "http//nope"}, "base_url"),
    ({"provider": "openai", "model": "gpt-4o", "api_key": "k", "base_url": "localhost:1234"}, "base_url"),
])
def test_bad_provider_keys_are_refused(setup, body, field):
    app, _, tenant = setup
    refused = tenant.add_key(**body)
    assert refused.status_code == 400, refused.json
    assert refused.json["error_code"] == "VALIDATION_ERROR"
    assert stored(app, ProviderKey) == []


def test_personal_tokens_read_but_do_not_administer(setup):
    app, client, tenant = setup
    with app.app_context():
        owner = db.session.scalar(db.select(User.id).where(User.email == "admin@example.com"))
    _, raw = make_token(app, kind="personal", owner_id=owner)
    agent = {"Authorization": f"Bearer {raw}", "Accept-Language": "en"}
    assert client.get("/api/v1/contents", headers=agent).status_code == 200
    assert client.post("/api/v1/chats/rag", headers=agent, json={"query": "有休"}).status_code == 200
    refused = client.post("/api/v1/api-keys", headers=agent, json={"provider": "ollama", "model": "m"})
    assert refused.status_code == 403 and "sign-in" in refused.json["detail"]
    assert client.get("/api/v1/api-keys", headers=agent).status_code == 403


def test_one_organisation_cannot_take_every_answer_slot(app_env, llm_server):
    app = create_app(env={**app_env, "RAG_LLM_MAX_PER_TENANT": "0"})
    tenant = Tenant(app, app.test_client(), "admin@example.com", "admin_a", "Company A")
    tenant.add_key(provider="ollama", model="m", base_url=llm_server.url)
    busy = tenant.ask(query="有休")
    assert busy.status_code == 503 and busy.json["error_code"] == "LLM_BUSY" and busy.headers["Retry-After"]
