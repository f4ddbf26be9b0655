"""Spec 001 §3.4 and the widget (§2.1.2, §3.2): the organisation, its embed snippet and key, and
chat from a website in another origin, allowed by CORS only for the organisation's sites."""

from __future__ import annotations

import uuid

import pytest

from tests.test_rag_chat import PASSAGES, Tenant, stored
from tests.test_retrieval import add_document
from webapp import create_app
from webapp.chats.models import ChatSession
from webapp.errors import DomainError
from webapp.tenants import service as tenants
from webapp.usage.models import UsageEvent

SITE = "https://shop.example.com"


@pytest.fixture
def setup(app_env):
    app = create_app(env={**app_env, "PUBLIC_URL": "https://desk.example.com", "WIDGET_VISITOR_LIMITS": "50/minute"})
    client = app.test_client()
    tenant = Tenant(app, client, "admin@example.com", "admin_a", "Company A")
    with app.app_context():
        add_document(tenant.id, PASSAGES)
    return app, client, tenant


def snippet_of(tenant):
    answer = tenant.client.get(f"/api/v1/tenants/{tenant.id}/embed-snippet", headers=tenant.headers)
    assert answer.status_code == 200, answer.json
    return answer.json


def allow(app, tenant, *origins):
    with app.test_request_context():
        from webapp.accounts.models import User
        from webapp.db.orm import db

        admin = db.session.scalar(db.select(User).where(User.tenant_id == tenant.id, User.role == "ADMIN"))
        return tenants.set_allowed_origins(admin, list(origins))


def widget_ask(client, key, origin=None, **body):
    headers = {"X-API-Key": key, "Accept-Language": "en", **({"Origin": origin} if origin else {})}
    return client.post("/api/v1/chats/widget/chat", headers=headers, json={"query": "有休は何日？", **body})


def test_the_embed_snippet_loads_this_instances_widget_with_one_lasting_key(setup):
    _, client, tenant = setup
    first = snippet_of(tenant)
    assert first["tenant_id"] == str(tenant.id) and first["api_key"].startswith("adk_wgt_")
    assert first["snippet"] == (f'<script src="https://desk.example.com/static/widget/widget.js" '
                                f'data-api-key="{first["api_key"]}" defer></script>')
    assert snippet_of(tenant)["api_key"] == first["api_key"]  # asked again: the same key
    assert client.get("/static/widget/widget.js").status_code == 200
    other = Tenant(setup[0], client, "b@example.com", "user_b", "Company B")
    for wrong in (other.id, uuid.uuid4(), "not-a-uuid"):
        refused = client.get(f"/api/v1/tenants/{wrong}/embed-snippet", headers=tenant.headers)
        assert refused.status_code == 404 and refused.json["error_code"] == "RESOURCE_NOT_FOUND"
    assert snippet_of(other)["api_key"] != first["api_key"]


def test_the_organisation_as_spec_001_shows_it(setup, llm_server):
    app, client, tenant = setup
    tenant.add_key(provider="ollama", model="qwen3:30b", base_url=llm_server.url)
    allow(app, tenant, "https://Shop.Example.com:443/")
    body = client.get(f"/api/v1/tenants/{tenant.id}", headers=tenant.headers).json
    assert (body["id"], body["name"], body["plan"], body["status"]) == (str(tenant.id), "Company A", "FREE", "ACTIVE")
    assert body["settings"] == {"embedding_model": None, "llm_model": "qwen3:30b"}
    assert body["allowed_origins"] == [SITE] and body["created_at"].endswith("Z")
    assert client.get(f"/api/v1/tenants/{uuid.uuid4()}", headers=tenant.headers).status_code == 404


def test_a_widget_answers_for_its_organisation_only_from_its_sites(setup):
    app, client, tenant = setup
    key = snippet_of(tenant)["api_key"]
    allow(app, tenant, SITE)

    answer = widget_ask(client, key, SITE)
    assert answer.status_code == 200, answer.json
    assert answer.headers["Access-Control-Allow-Origin"] == SITE and "Origin" in answer.headers["Vary"]
    assert "10日付与されます" in answer.json["answer"] and answer.json["metadata"]["retrieval_only"] is True
    assert widget_ask(client, key).status_code == 200  # no Origin: not a browser, nothing to enforce

    elsewhere = widget_ask(client, key, "https://evil.example.net")
    assert elsewhere.status_code == 403 and elsewhere.json["error_code"] == "PERMISSION_DENIED"
    assert "Access-Control-Allow-Origin" not in elsewhere.headers  # the page there cannot even read the refusal
    assert "https://evil.example.net" in elsewhere.json["detail"]

    [first, _] = stored(app, ChatSession)
    assert first.kind == "widget" and first.user_id is None and first.token_id is not None
    assert {e.kind for e in stored(app, UsageEvent)} == {"widget"}

    follow_up = widget_ask(client, key, SITE, session_id=str(first.id))
    assert follow_up.json["conversation_id"] == str(first.id)


def test_preflight_needs_no_key_and_says_what_may_be_sent(setup):
    _, client, _ = setup
    answer = client.options("/api/v1/chats/widget/chat", headers={
        "Origin": SITE, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, x-api-key"})
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == SITE
    assert "X-API-Key" in answer.headers["Access-Control-Allow-Headers"]
    assert answer.headers["Access-Control-Allow-Methods"] == "POST"


def test_widget_keys_are_only_widget_keys(setup):
    app, client, tenant = setup
    key = snippet_of(tenant)["api_key"]
    refused = widget_ask(client, "adk_wgt_" + "x" * 40)
    assert refused.status_code == 401 and set(refused.json) == {"detail", "error_code", "timestamp"}
    assert client.post("/api/v1/chats/widget/chat", json={"query": "q"}, headers=tenant.headers).status_code == 401
    assert client.post("/api/v1/chats/rag", json={"query": "q"},
                       headers={"Authorization": f"Bearer {key}"}).status_code == 401
    other = Tenant(app, client, "b@example.com", "user_b", "Company B")
    mine = widget_ask(client, key).json["conversation_id"]
    theirs = snippet_of(other)["api_key"]
    assert widget_ask(client, theirs, session_id=mine).status_code == 404
    assert widget_ask(client, theirs).json["sources"] == []  # their documents, not A's
    assert tenant.ask(query="q", session_id=mine).status_code == 404  # a person cannot take a widget conversation


def test_rotating_the_key_stops_the_old_one_at_once(setup):
    app, client, tenant = setup
    old = snippet_of(tenant)["api_key"]
    with app.test_request_context():
        from webapp.accounts.models import User
        from webapp.db.orm import db

        admin = db.session.scalar(db.select(User).where(User.tenant_id == tenant.id))
        new = tenants.rotate_widget_key(admin).api_key
    assert widget_ask(client, old).status_code == 401
    assert widget_ask(client, new).status_code == 200
    assert snippet_of(tenant)["api_key"] == new


def test_each_visitor_has_an_allowance_of_their_own(app_env):
    app = create_app(env={**app_env, "WIDGET_VISITOR_LIMITS": "2/minute", "WIDGET_RATE_LIMITS": "100/minute"})
    tenant = Tenant(app, app.test_client(), "admin@example.com", "admin_a", "Company A")
    key = snippet_of(tenant)["api_key"]
    assert [widget_ask(tenant.client, key).status_code for _ in range(3)] == [200, 200, 429]
    refused = widget_ask(tenant.client, key)
    assert refused.json["error_code"] == "RATE_LIMIT_EXCEEDED" and int(refused.headers["Retry-After"]) > 0


@pytest.mark.parametrize("value", ["https://x.example.com/path", "javascript:alert(1)", "shop.example.com",
                                   "https://user:pw@x.example.com", "ftp://x.example.com", "https://", "http://[::1"])
def test_allowed_sites_are_origins(setup, value):
    app, _, tenant = setup
    with pytest.raises(DomainError):
        allow(app, tenant, value)
    assert allow(app, tenant, "http://localhost:8080", "HTTPS://A.example.com", "https://a.example.com/") == [
        "http://localhost:8080", "https://a.example.com"]


def test_the_cli_makes_a_widget_key_for_a_persons_organisation(setup):
    app, client, tenant = setup
    runner = app.test_cli_runner()
    made = runner.invoke(args=["tokens", "create", "--kind", "widget", "--name", "site", "--user", "admin@example.com"])
    assert made.exit_code == 0, made.output
    assert widget_ask(client, made.output.strip().splitlines()[-1]).status_code == 200
    without = runner.invoke(args=["tokens", "create", "--kind", "widget", "--name", "site"])
    assert without.exit_code != 0 and "--user" in without.output


def test_a_visitor_chooses_neither_model_nor_temperature_and_gets_short_answers(setup, llm_server):
    app, client, tenant = setup
    llm_server.replies[:] = ["10日です [1]"]
    tenant.add_key(provider="openai", model="gpt-4o", api_key=llm_server.api_key, base_url=f"{llm_server.url}/v1")
    key = snippet_of(tenant)["api_key"]
    answer = widget_ask(client, key, model="gpt-4-32k-expensive", temperature=2.0, max_tokens=32000)
    assert answer.status_code == 200, answer.json
    asked = llm_server.chats[-1]
    assert asked["model"] == "gpt-4o" and "temperature" not in asked and asked["max_tokens"] == 800
