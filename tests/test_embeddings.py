"""Issue 12 §4, optional embeddings: an organisation that names an embedding model has its passages
and questions turned into vectors by its provider (the local OpenAI- and Ollama-compatible server
here), and retrieval fuses the full-text ranking with the nearest vectors by reciprocal rank. A
provider that fails or answers nonsense never costs an answer and never stores a vector."""

from __future__ import annotations

import io
import time
import uuid

import pytest

from tests.conftest import csrf_token, post, register
from tests.test_ingest import pdf_bytes
from tests.test_mail import Consumer
from tests.test_rag_chat import Tenant, stored
from tests.test_retrieval import add_document
from webapp import create_app
from webapp.accounts.models import User
from webapp.db.orm import db
from webapp.documents import embeddings
from webapp.documents.models import Chunk, ChunkEmbedding, Document
from webapp.documents.search import search
from webapp.tenants import service as tenants
from webapp.usage.models import UsageEvent

HANDBOOK = {"paid_leave": "有給休暇は入社6か月後に10日付与されます。取得する場合は3日前までに申請してください。",
            "backup": "データベースのバックアップは毎日午前3時に自動で取得され、30日間保管されます。",
            "expenses": "交通費の精算は月末までに経費システムで行ってください。"}
CONCEPTS = [("vacation", "holiday", "休暇", "有給"), ("backup", "バックアップ"), ("travel", "交通費", "精算")]
ENGLISH = "How many vacation days do I get?"  # not one of its words is in the handbook


@pytest.fixture
def llm(llm_server):
    """The session's fake provider, with meanings for the handbook; left as it was found."""
    llm_server.concepts[:] = CONCEPTS
    llm_server.replies[:] = ["Ten days [1]"] * 10
    llm_server.embed_status, llm_server.embed_delay, llm_server.embed_reply = 200, 0.0, None
    yield llm_server
    llm_server.concepts[:], llm_server.replies[:] = [], []
    llm_server.embed_status, llm_server.embed_delay, llm_server.embed_reply = 200, 0.0, None


@pytest.fixture
def setup(app_env, llm):
    # The question's vector may take this long (a loaded machine runs the whole suite meanwhile).
    app = create_app(env={**app_env, "RAG_LLM_TIMEOUT": "2", "RAG_EMBED_TIMEOUT": "2",
                          "CHAT_RATE_LIMITS": "100/minute"})
    client = app.test_client()
    tenant = Tenant(app, client, "admin@example.com", "admin_a", "Company A")
    assert tenant.add_key(provider="openai", model="gpt-4o", api_key=llm.api_key,
                          base_url=f"{llm.url}/v1").status_code == 201
    with app.app_context():
        add_document(tenant.id, HANDBOOK)
    return app, client, tenant


def set_model(app, tenant_id, model: str) -> None:
    with app.app_context():
        admin = db.session.scalar(db.select(User).where(User.tenant_id == tenant_id, User.role == "ADMIN"))
        tenants.set_embedding_model(admin, model)


def run_job(app, tenant_id) -> None:
    with app.app_context():
        embeddings.embed_passages(str(tenant_id))


def vectors(app) -> list[ChunkEmbedding]:
    return stored(app, ChunkEmbedding)


def sources(answer) -> list[str]:
    assert answer.status_code == 200, answer.json
    return [source["chunk_text"] for source in answer.json["sources"]]


def test_a_question_in_other_words_finds_its_passage_by_meaning(setup, llm):
    app, _, tenant = setup
    assert sources(tenant.ask(query=ENGLISH, top_k=2)) == []  # words alone: nothing in common
    set_model(app, tenant.id, "text-embedding-3-small")
    run_job(app, tenant.id)

    stored_vectors = vectors(app)
    assert len(stored_vectors) == 3 and {v.space for v in stored_vectors} == {"openai:text-embedding-3-small"}
    assert all(len(v.vector) == 4 + len(CONCEPTS) + 8 for v in stored_vectors)  # a scale, a byte a dimension
    assert llm.embeds[-1]["model"] == "text-embedding-3-small" and len(llm.embeds[-1]["input"]) == 3
    assert llm.seen_authorization[-1] == f"Bearer {llm.api_key}"  # the organisation's key, decrypted
    [usage] = [e for e in stored(app, UsageEvent) if e.kind == "embedding"]
    assert usage.tenant_id == tenant.id and usage.tokens_in > 0 and usage.cost > 0

    found = sources(tenant.ask(query=ENGLISH, top_k=1))
    assert found == [HANDBOOK["paid_leave"]]
    assert llm.embeds[-1]["input"] == [ENGLISH]  # the question got its vector too
    assert HANDBOOK["paid_leave"] in llm.chats[-1]["messages"][0]["content"]  # and the LLM its passage


def test_both_rankings_are_fused_by_reciprocal_rank(setup, llm):
    app, _, tenant = setup
    question = "バックアップ travel"  # by words: the backup passage only; by meaning: backup and expenses
    with app.app_context():
        assert [p.heading for p in search(tenant.id, question, limit=3)] == ["backup"]
    set_model(app, tenant.id, "text-embedding-3-small")
    run_job(app, tenant.id)
    with app.app_context():
        fused = search(tenant.id, question, limit=3)
    # backup is in both rankings, expenses in one near the top, paid leave last by meaning alone.
    assert [p.heading for p in fused] == ["backup", "expenses", "paid_leave"]
    scores = [p.score for p in fused]
    assert scores[0] > scores[1] > scores[2] and scores[0] >= 1 / 61 + 1 / 62 - 1e-6


def test_a_failing_or_slow_provider_leaves_the_words(setup, llm):
    app, _, tenant = setup
    set_model(app, tenant.id, "text-embedding-3-small")
    run_job(app, tenant.id)
    for failure in ({"embed_status": 500}, {"embed_delay": 4}):
        for name, value in failure.items():
            setattr(llm, name, value)
        answer = tenant.ask(query="有休の申請はいつまで", top_k=1)
        assert sources(answer) == [HANDBOOK["paid_leave"]]  # found by its words, in spite of the provider
        llm.embed_status, llm.embed_delay = 200, 0.0


def test_a_provider_down_while_passages_are_embedded_stores_nothing_and_the_sweeper_retries(setup, llm):
    app, _, tenant = setup
    llm.embed_status = 503
    set_model(app, tenant.id, "text-embedding-3-small")
    run_job(app, tenant.id)
    assert vectors(app) == []
    llm.embed_status = 200
    with app.app_context():
        embeddings.sweep()  # queues the organisation again: its passages still lack vectors
        assert embeddings.progress(tenant.id) == (0, 3)
    run_job(app, tenant.id)
    with app.app_context():
        assert embeddings.progress(tenant.id) == (3, 3)


@pytest.mark.parametrize("reply", [
    [[0.1, 0.2]],  # one vector for three passages
    [[0.1, 0.2], [0.1], [0.3, 0.4]],  # vectors of different lengths
    [[0.1, "x"], [0.1, 0.2], [0.3, 0.4]],  # not numbers
    [[1e39, 1.0], [0.1, 0.2], [0.3, 0.4]],  # beyond float32
    "not a list",
])
def test_nonsense_vectors_are_never_stored(setup, llm, reply):
    app, _, tenant = setup
    set_model(app, tenant.id, "text-embedding-3-small")
    llm.embed_reply = reply
    run_job(app, tenant.id)
    assert vectors(app) == []


def test_another_model_replaces_the_vectors_and_none_removes_them(setup, llm):
    app, _, tenant = setup
    set_model(app, tenant.id, "text-embedding-3-small")
    run_job(app, tenant.id)
    set_model(app, tenant.id, "text-embedding-3-large")
    run_job(app, tenant.id)
    assert {v.space for v in vectors(app)} == {"openai:text-embedding-3-large"} and len(vectors(app)) == 3
    set_model(app, tenant.id, "")
    run_job(app, tenant.id)
    assert vectors(app) == []
    before = len(llm.embeds)
    assert sources(tenant.ask(query=ENGLISH, top_k=1)) == [] and len(llm.embeds) == before  # words only, unasked


def test_ollama_makes_vectors_through_its_own_api(app_env, llm):
    app = create_app(env={**app_env, "RAG_EMBED_TIMEOUT": "2"})
    tenant = Tenant(app, app.test_client(), "admin@example.com", "admin_a", "Company A")
    assert tenant.add_key(provider="ollama", model="qwen3:30b", base_url=llm.url).status_code == 201
    with app.app_context():
        add_document(tenant.id, HANDBOOK)
    set_model(app, tenant.id, "nomic-embed-text")
    run_job(app, tenant.id)
    assert {v.space for v in vectors(app)} == {"ollama:nomic-embed-text"} and len(vectors(app)) == 3
    assert llm.embeds[-1]["path"] == "/api/embed"
    with app.app_context():
        assert [p.heading for p in search(tenant.id, ENGLISH, limit=1)] == ["paid_leave"]


def test_vectors_stay_in_their_organisation_and_leave_with_their_document(setup, llm):
    app, client, first = setup
    second = Tenant(app, client, "b@example.com", "admin_b", "Company B")
    assert second.add_key(provider="openai", model="gpt-4o", api_key=llm.api_key,
                          base_url=f"{llm.url}/v1").status_code == 201
    with app.app_context():
        add_document(second.id, {"backup": HANDBOOK["backup"]})
    for tenant in (first, second):
        set_model(app, tenant.id, "text-embedding-3-small")
        run_job(app, tenant.id)
    assert len(vectors(app)) == 4
    assert sources(second.ask(query=ENGLISH, top_k=5)) == [HANDBOOK["backup"]]  # never the other's leave rules
    with app.app_context():
        [document] = db.session.scalars(db.select(Document).where(Document.tenant_id == first.id))
    assert first.client.delete(f"/api/v1/contents/{document.id}", headers=first.headers).status_code == 200
    assert len(vectors(app)) == 1


@pytest.fixture
def context(app_env):
    app = create_app(env=app_env)
    with app.app_context():
        yield app


def test_nearest_reads_the_vectors_in_batches_and_still_finds_the_best(context, monkeypatch):
    import numpy as np

    from tests.test_retrieval import tenant as new_tenant

    owner = new_tenant("Batches")
    document = add_document(owner, {f"p{n}": f"passage {n}" for n in range(10)})
    rng = np.random.default_rng(7)
    raw = rng.normal(size=(10, 16)).astype(np.float32)
    raw /= np.linalg.norm(raw, axis=1, keepdims=True)
    chunk_ids = list(db.session.scalars(db.select(Chunk.id).where(Chunk.document_id == document.id)
                                        .order_by(Chunk.ordinal)))
    db.session.add_all(ChunkEmbedding(chunk_id=c, tenant_id=owner, space="s", vector=embeddings.pack(v))
                       for c, v in zip(chunk_ids, raw))
    db.session.commit()
    question = raw[3] + 0.5 * raw[8]
    question /= np.linalg.norm(question)
    expected = [chunk_ids[i] for i in np.argsort(-(raw @ question))[:4]]
    monkeypatch.setattr(embeddings, "READ_BATCH", 3)
    found = embeddings.nearest(owner, "s", question, limit=4)
    assert [chunk_id for chunk_id, _ in found] == expected
    assert found[0][1] == pytest.approx(float(raw[3] @ question), abs=0.01)  # quantised to a byte
    assert embeddings.nearest(owner, "another model", question, limit=4) == []
    assert embeddings.nearest(uuid.uuid4(), "s", question, limit=4) == []


def test_the_organisation_page_names_the_model_and_documents_show_the_progress(app_env, llm, tmp_path):
    """The browser path: an administrator adds a key and names the model, uploads a PDF, and the
    real consumer reads it and gives its passages vectors; the Documents page says how far that is."""
    env = {**app_env, "UPLOAD_DIR": str(tmp_path / "uploads"), "JOBS_URL": f"sqlite:///{tmp_path / 'jobs.sqlite3'}",
           "RAG_EMBED_TIMEOUT": "2"}
    app = create_app(env=env, overrides={"TESTING": True})
    browser = app.test_client()
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert register(browser, "admin@example.com", "admin").status_code == 302
    with app.app_context():
        tenant_id = db.session.scalar(db.select(User.tenant_id).where(User.email == "admin@example.com"))
    assert post(browser, "/organisation/keys", {"provider": "openai", "model": "gpt-4o", "api_key": llm.api_key,
                                                "base_url": f"{llm.url}/v1"}).status_code == 303
    assert "Search by meaning" not in browser.get("/documents").get_data(as_text=True)
    assert post(browser, "/organisation/embeddings", {"embedding_model": "text-embedding-3-small"}).status_code == 303
    assert "<dd>text-embedding-3-small</dd>" in browser.get("/organisation").get_data(as_text=True)
    assert post(browser, "/organisation/embeddings", {"embedding_model": "m" * 101}).status_code == 422
    llm.concepts[:] = [("leave",)]
    upload = browser.post("/documents/upload", data={"file": (io.BytesIO(pdf_bytes(2)), "leave.pdf"),
                                                     "csrf_token": csrf_token(browser)},
                          content_type="multipart/form-data")
    assert upload.status_code == 201, upload.get_data(as_text=True)
    consumer = Consumer(env, tmp_path / "consumer.log")
    try:
        deadline, progress = time.monotonic() + 60, None
        while time.monotonic() < deadline:
            with app.app_context():
                progress = embeddings.progress(tenant_id)
            if progress and progress[1] and progress[0] == progress[1]:
                break
            time.sleep(0.2)
    finally:
        consumer.stop()
    assert progress[0] == progress[1] > 0, progress
    page = browser.get("/documents").get_data(as_text=True)
    assert f"Search by meaning: {progress[0]} of {progress[1]} passages have their vectors." in page
