"""The spec 001 pages behind the browser: Documents (uploads, live status stream, downloads), Chat
(the streamed answer), Organisation, Usage (CSV) and Billing, each scoped to the signed-in person's
organisation."""

from __future__ import annotations

import io
import json
import uuid

import pytest

from tests.conftest import csrf_token, post, register
from tests.fake_stripe import FakeStripe
from tests.test_rag_chat import PASSAGES, set_person, stored
from tests.test_retrieval import add_document
from webapp import create_app
from webapp.accounts.models import Tenant as TenantRow
from webapp.accounts.models import User
from webapp.chats.models import ChatMessage, ChatSession
from webapp.db.orm import db
from webapp.documents.models import Document
from webapp.tenants.models import ProviderKey

TEXT = "休暇規程\n\n有給休暇は入社6か月後に10日付与されます。\n".encode()


@pytest.fixture
def site(app_env, tmp_path):
    app = create_app(env={**app_env, "UPLOAD_DIR": str(tmp_path / "uploads"), "UPLOAD_MAX_BYTES": "4000",
                          "RAG_LLM_TIMEOUT": "2"}, overrides={"TESTING": True})
    admin = app.test_client()
    admin.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert register(admin, "admin@example.com", "admin").status_code == 302
    with app.app_context():
        tenant_id = db.session.scalar(db.select(User.tenant_id).where(User.email == "admin@example.com"))
    return app, admin, tenant_id


def colleague(app, tenant_id, email="member@example.com", username="member"):
    """Another person, moved into the admin's organisation as an OPERATOR."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert register(client, email, username).status_code == 302
    set_person(app, email, tenant_id=tenant_id)
    return client


def upload(client, data: bytes, name="rules.txt", token=None):
    token = token or csrf_token(client)
    return client.post("/documents/upload", data={"file": (io.BytesIO(data), name), "csrf_token": token},
                       content_type="multipart/form-data", headers={"X-CSRFToken": token})


def sse(response) -> list[dict]:
    return [json.loads(frame[6:]) for frame in response.get_data(as_text=True).split("\n\n")
            if frame.startswith("data: ")]


# --- Documents ---------------------------------------------------------------------------------

def test_admins_upload_members_read_and_nobody_else_sees_them(site):
    app, admin, tenant_id = site
    page = admin.get("/documents").text
    assert 'id="document-drop"' in page and "No documents yet." in page
    created = upload(admin, TEXT, "休暇規程.txt")
    assert created.status_code == 201, created.json
    [document] = stored(app, Document)
    assert document.file_name == "休暇規程.txt" and document.tenant_id == tenant_id

    member = colleague(app, tenant_id)
    listed = member.get("/documents").text
    assert "休暇規程.txt" in listed and 'id="document-drop"' not in listed and "Delete" not in listed
    refused = upload(member, TEXT)
    assert refused.status_code == 403 and "administrator" in refused.json["error"]
    download = member.get(f"/documents/{document.id}/file")
    assert download.status_code == 200 and download.data == TEXT
    assert "attachment" in download.headers["Content-Disposition"] and "sandbox" in download.headers[
        "Content-Security-Policy"]

    stranger = app.test_client()
    register(stranger, "stranger@example.com", "stranger")
    assert "休暇規程" not in stranger.get("/documents").text
    assert stranger.get(f"/documents/{document.id}/file").status_code == 404
    assert post(stranger, f"/documents/{document.id}/delete").status_code in (403, 404)
    assert len(stored(app, Document)) == 1


@pytest.mark.parametrize("data, name, status", [
    (b"x" * 5000, "big.txt", 413), (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "image.png", 400), (b"", "empty.txt", 400),
])
def test_refused_uploads_say_why_and_leave_nothing(site, data, name, status):
    app, admin, _ = site
    answer = upload(admin, data, name)
    assert answer.status_code == status and answer.json["error"]
    assert stored(app, Document) == []


def test_an_upload_without_the_csrf_token_is_refused(site):
    app, admin, _ = site
    answer = admin.post("/documents/upload", data={"file": (io.BytesIO(TEXT), "a.txt")},
                        content_type="multipart/form-data")
    assert answer.status_code == 400 and stored(app, Document) == []


def test_the_status_stream_reports_each_document_then_goes_idle(site):
    app, admin, tenant_id = site
    with app.app_context():
        ready = add_document(tenant_id, {"a": "本文"}).id
        other = TenantRow(name="Someone else")
        db.session.add(other)
        db.session.commit()
        theirs = add_document(other.id, {"b": "他社の本文"}).id
    events = admin.get("/documents/events")
    assert events.mimetype == "text/event-stream" and events.headers["Cache-Control"] == "no-store"
    text = events.get_data(as_text=True)
    assert f'"id": "{ready}", "status": "completed"' in text and text.rstrip().endswith("event: idle\ndata: {}")
    assert str(theirs) not in text


def test_filters_search_retry_and_delete_in_place(site):
    app, admin, tenant_id = site
    with app.app_context():
        add_document(tenant_id, {"a": "本文"})
        failed = Document(tenant_id=tenant_id, file_name="broken.pdf", stored_name=uuid.uuid4().hex, file_type="pdf",
                          file_size=10, sha256="0" * 64, title="Broken", status="failed",
                          failure_reason="the PDF is damaged")
        db.session.add(failed)
        db.session.commit()
        failed_id = failed.id
    table = admin.get("/documents?status=failed", headers={"HX-Request": "true", "HX-Target": "documents-table"}).text
    assert "Broken" in table and "handbook.txt" not in table and "the PDF is damaged" in table
    assert "Broken" not in admin.get("/documents?q=hand").text
    retried = post(admin, f"/documents/{failed_id}/retry")
    assert retried.status_code == 200
    with app.app_context():
        assert db.session.get(Document, failed_id).status == "pending"
    deleted = post(admin, f"/documents/{failed_id}/delete")
    assert deleted.status_code == 200 and "Broken" not in deleted.text


# --- Chat ----------------------------------------------------------------------------------------

def ask(client, query, session_id=""):
    token = csrf_token(client)
    return client.post("/chat/ask", data={"query": query, "session_id": session_id, "csrf_token": token},
                       headers={"X-CSRFToken": token})


def test_a_question_streams_its_sources_then_the_answer_then_done(site):
    app, admin, tenant_id = site
    with app.app_context():
        add_document(tenant_id, PASSAGES)
    answer = ask(admin, "有休は何日もらえますか")
    assert answer.status_code == 200 and answer.mimetype == "text/event-stream"
    events = sse(answer)
    assert [e["event"] for e in events] == ["sources", "delta", "done"]
    assert events[0]["sources"][0]["chunk_text"] == PASSAGES["paid_leave"]
    assert "10日付与されます" in events[1]["text"] and events[2]["metadata"]["retrieval_only"] is True
    conversation = events[2]["conversation_id"]
    page = admin.get(f"/chat/{conversation}").text
    assert "有休は何日もらえますか" in page and "Passages used (" in page and "10日付与されます" in page
    again = sse(ask(admin, "バックアップは？", conversation))
    assert again[-1]["conversation_id"] == conversation
    assert len(stored(app, ChatMessage)) == 4


def test_the_tenants_llm_streams_in_pieces(site, llm_server):
    app, admin, tenant_id = site
    llm_server.replies[:] = ["入社6か月後に10日の有給休暇が付与されます [1]"]
    with app.app_context():
        add_document(tenant_id, PASSAGES)
    post(admin, "/organisation/keys", {"provider": "openai", "model": "gpt-4o", "api_key": llm_server.api_key,
                                       "base_url": f"{llm_server.url}/v1"})
    events = sse(ask(admin, "有休は何日もらえますか"))
    deltas = [e["text"] for e in events if e["event"] == "delta"]
    assert len(deltas) > 3 and "".join(deltas) == "入社6か月後に10日の有給休暇が付与されます [1]"
    assert llm_server.chats[-1]["stream"] is True
    done = events[-1]
    assert done["event"] == "done" and (done["metadata"]["tokens_in"], done["metadata"]["tokens_out"]) == (120, 30)
    [_, reply] = stored(app, ChatMessage)
    assert reply.content == "".join(deltas) and reply.sources


def test_ollama_streams_too_and_a_failure_mid_way_stores_nothing(site, llm_server):
    app, admin, tenant_id = site
    with app.app_context():
        add_document(tenant_id, PASSAGES)
    post(admin, "/organisation/keys", {"provider": "ollama", "model": "qwen3:30b", "base_url": llm_server.url})
    llm_server.replies[:] = ["バックアップは30日間保管されます [1]"]
    events = sse(ask(admin, "バックアップは何日分？"))
    assert "".join(e["text"] for e in events if e["event"] == "delta") == "バックアップは30日間保管されます [1]"
    assert llm_server.chats[-1]["path"] == "/api/chat"

    llm_server.replies[:] = [5]  # no answer within RAG_LLM_TIMEOUT (2 s)
    failed = sse(ask(admin, "もう一度"))
    assert failed[-1]["event"] == "error" and "did not answer in time" in failed[-1]["message"]
    assert len(stored(app, ChatMessage)) == 2 and len(stored(app, ChatSession)) == 1


def test_conversations_are_their_owners_on_the_page(site):
    app, admin, tenant_id = site
    conversation = sse(ask(admin, "質問"))[-1]["conversation_id"]
    member = colleague(app, tenant_id)
    assert member.get(f"/chat/{conversation}").status_code == 404
    assert member.get("/chat/not-an-id").status_code == 404
    assert ask(member, "続き", conversation).status_code == 404
    assert post(member, f"/chat/{conversation}/delete").status_code == 404
    assert post(admin, f"/chat/{conversation}/delete").status_code == 303
    assert stored(app, ChatSession) == []


@pytest.mark.parametrize("query", ["", "   ", "x" * 1001, "a\x00b"])
def test_bad_questions_are_refused_before_anything_streams(site, query):
    _, admin, _ = site
    answer = ask(admin, query)
    assert answer.status_code == 400 and answer.mimetype != "text/event-stream"


# --- Organisation, usage, billing ----------------------------------------------------------------

def test_the_organisation_page_is_everyones_to_read_and_its_admins_to_change(site):
    app, admin, tenant_id = site
    page = admin.get("/organisation").text
    assert "/static/widget/widget.js" in page and "data-api-key=&#34;adk_wgt_" in page
    bad = post(admin, "/organisation/origins", {"origins": "https://ok.example.com\nnot an origin"})
    assert bad.status_code == 422 and "not an origin" in bad.text
    assert post(admin, "/organisation/origins", {"origins": "https://ok.example.com\n"}).status_code == 303
    secret = "sk-proj-" + "z" * 40
    refused = post(admin, "/organisation/keys", {"provider": "openai", "model": "", "api_key": secret})
    assert refused.status_code == 422 and secret not in refused.text  # a key is never written back into the page
    assert post(admin, "/organisation/keys", {"provider": "openai", "model": "gpt-4o", "api_key": secret}
                ).status_code == 303
    shown = admin.get("/organisation").text
    assert "sk-proj-****...zzzz" in shown and secret not in shown and "https://ok.example.com" in shown

    member = colleague(app, tenant_id)
    seen = member.get("/organisation").text
    assert "https://ok.example.com" in seen and "Add a key" not in seen and "sk-proj-****" not in seen
    assert post(member, "/organisation/origins", {"origins": "https://evil.example.com"}).status_code == 403
    assert post(member, "/organisation/widget-key").status_code == 403
    [key] = stored(app, ProviderKey)
    assert post(member, f"/organisation/keys/{key.id}/delete").status_code == 403

    before = admin.get("/organisation").text.split("data-api-key=&#34;")[1][:20]
    assert post(admin, "/organisation/widget-key").status_code == 303
    assert admin.get("/organisation").text.split("data-api-key=&#34;")[1][:20] != before


def test_usage_downloads_as_csv(site):
    app, admin, tenant_id = site
    with app.app_context():
        add_document(tenant_id, PASSAGES)
    sse(ask(admin, "有休"))
    page = admin.get("/usage?granularity=week")
    assert page.status_code == 200 and "tenant-usage-chart" in page.text
    exported = admin.get("/usage.csv?granularity=day")
    assert exported.mimetype == "text/csv" and "attachment" in exported.headers["Content-Disposition"]
    rows = exported.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert rows[0] == "period_start,tokens,cost_usd,requests" and len(rows) == 31 and rows[-1].endswith(",1")


def test_billing_sends_admins_to_stripe(app_env):
    with FakeStripe() as stripe_server:
        app = create_app(env={**app_env, "STRIPE_SECRET_KEY": stripe_server.secret_key,
                              "STRIPE_API_BASE": stripe_server.url, "STRIPE_PRICES": '{"PRO_MONTHLY": "price_1"}'},
                         overrides={"TESTING": True})
        admin = app.test_client()
        admin.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        register(admin, "admin@example.com", "admin")
        assert "Continue to payment" in admin.get("/billing").text
        went = post(admin, "/billing/checkout", {"plan": "PRO", "billing_cycle": "MONTHLY"})
        assert went.status_code == 303 and went.location.startswith("https://checkout.stripe.com/")
        assert stripe_server.sessions[0]["line_items[0][price]"] == "price_1"
        wrong = post(admin, "/billing/checkout", {"plan": "PRO", "billing_cycle": "YEARLY"})
        assert wrong.status_code == 303 and wrong.location.endswith("/billing")
    off = create_app(env=app_env, overrides={"TESTING": True}).test_client()
    register(off, "other@example.com", "other")
    assert "does not take payments" in off.get("/billing", headers={"Accept-Language": "en"}).text


@pytest.mark.parametrize("provider", ["openai", "ollama"])
def test_a_server_that_streams_without_end_is_cut_off(site, llm_server, provider):
    from tests.fake_llm import FLOOD

    app, admin, tenant_id = site
    with app.app_context():
        add_document(tenant_id, PASSAGES)
    base = f"{llm_server.url}/v1" if provider == "openai" else llm_server.url
    post(admin, "/organisation/keys", {"provider": provider, "model": "m", "api_key": llm_server.api_key,
                                       "base_url": base})
    llm_server.replies[:] = [FLOOD]
    events = sse(ask(admin, "有休は何日もらえますか"))
    assert events[-1]["event"] == "error" and stored(app, ChatMessage) == []
    assert "could not be reached" in events[-1]["message"]  # stopped by its size, not by the 2 s deadline


def test_a_person_has_a_few_status_streams_at_most(site):
    from webapp.documents.views import STREAMS, STREAMS_PER_PERSON

    app, admin, _ = site
    with app.app_context():
        person = db.session.scalar(db.select(User.id).where(User.email == "admin@example.com"))
    for _ in range(STREAMS_PER_PERSON):
        assert STREAMS.take(person, STREAMS_PER_PERSON)
    try:
        assert admin.get("/documents/events").get_data(as_text=True).endswith("event: busy\ndata: {}\n\n")
    finally:
        for _ in range(STREAMS_PER_PERSON):
            STREAMS.give_back(person)
    assert "event: idle" in admin.get("/documents/events").get_data(as_text=True)


@pytest.mark.parametrize("domain, ok", [("example.co.jp", True), ("-x.example.com", False), ("a..b", False),
                                        ("exa mple.com", False), ("a/b.com", False), ("", True)])
def test_the_organisations_domain_must_look_like_one(site, domain, ok):
    _, admin, _ = site
    answer = post(admin, "/organisation", {"name": "Company", "domain": domain})
    assert answer.status_code == (303 if ok else 422)
