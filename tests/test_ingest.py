"""Durable ingest (issue 12, first slice): PDF, DOCX and text become chunks page by page with a real
Huey consumer; damaged and text-less files fail with a reason and can be retried; an interrupted
run is picked up again by the sweeper; deleting a document removes its chunks."""

from __future__ import annotations

import io
import time
import uuid
from datetime import timedelta

import docx
import pytest
from fpdf import FPDF

from tests.api_helpers import bearer
from tests.test_mail import Consumer
from webapp import create_app
from webapp.db.base import utcnow
from webapp.db.orm import db
from webapp.documents import ingest
from webapp.documents.extract import CHUNK_CHARS, OVERLAP_CHARS
from webapp.documents.models import Chunk, Document
from webapp.errors import Conflict

LEAVE = "Paid leave is granted six months after joining. "


def pdf_bytes(pages: int, text: str | None = LEAVE) -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for number in range(1, pages + 1):
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 6, f"Chapter {number}\n\n" + f"Page {number}. " + text * 12)
    return bytes(pdf.output())


def docx_bytes() -> bytes:
    document = docx.Document()
    document.add_heading("就業規則", level=1)
    document.add_paragraph("有給休暇は入社から六か月後に十日付与されます。" * 5)
    document.add_heading("Remote work", level=1)
    document.add_paragraph("Remote work needs a manager's approval. " * 10)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def setup(app_env, tmp_path):
    env = {**app_env, "UPLOAD_DIR": str(tmp_path / "uploads"), "JOBS_URL": f"sqlite:///{tmp_path / 'jobs.sqlite3'}"}
    app = create_app(env=env)
    client = app.test_client()
    client.post("/api/v1/auth/register", json={"email": "admin@example.com", "username": "admin_a",
                                               "password": "Password123", "tenant_name": "Company A"})
    token = client.post("/api/v1/auth/login", json={"email": "admin@example.com", "password": "Password123"}).json
    return app, client, bearer(token["access_token"]), env, tmp_path


def upload(client, headers, data: bytes, name: str) -> str:
    answer = client.post("/api/v1/contents/upload", headers=headers, content_type="multipart/form-data",
                         data={"file": (io.BytesIO(data), name)})
    assert answer.status_code == 201, answer.json
    return answer.json["id"]


def wait_for(client, headers, count: int, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = {item["file_name"]: item for item in client.get("/api/v1/contents", headers=headers).json}
        if len(listed) == count and all(item["status"] in ("completed", "failed") for item in listed.values()):
            return listed
        time.sleep(0.2)
    raise AssertionError(f"not finished in {timeout} s: {listed}")


def chunks_of(app, document_id) -> list[Chunk]:
    with app.app_context():
        return list(db.session.scalars(db.select(Chunk).where(Chunk.document_id == uuid.UUID(str(document_id)))
                                       .order_by(Chunk.ordinal)))


def test_a_real_consumer_reads_pdf_docx_and_text_into_chunks(setup):
    app, client, headers, env, tmp_path = setup
    consumer = Consumer(env, tmp_path / "consumer.log")
    try:
        ids = {"report.pdf": upload(client, headers, pdf_bytes(3), "report.pdf"),
               "rules.docx": upload(client, headers, docx_bytes(), "rules.docx"),
               "notes.txt": upload(client, headers, ("# 休暇\n\n" + "".join(
                   f"第{n}条 有給休暇の申請は{n}日前までに行います。" for n in range(1, 80))).encode(), "notes.txt"),
               "broken.pdf": upload(client, headers, b"%PDF-1.4\nthis is not really a pdf", "broken.pdf"),
               "scan.pdf": upload(client, headers, pdf_bytes(2, text=None), "scan.pdf")}
        listed = wait_for(client, headers, 5)
    finally:
        consumer.stop()
    assert {name: (item["status"], item["progress"]) for name, item in listed.items() if item["status"] == "completed"
            } == {"report.pdf": ("completed", 100), "rules.docx": ("completed", 100), "notes.txt": ("completed", 100)}
    pdf = chunks_of(app, ids["report.pdf"])
    assert sorted({c.page for c in pdf}) == [1, 2, 3] and all("Paid leave" in c.text for c in pdf)
    word = chunks_of(app, ids["rules.docx"])
    assert [c.heading for c in word][0] == "就業規則" and word[-1].heading == "Remote work"
    text = chunks_of(app, ids["notes.txt"])
    assert len(text) >= 2 and text[0].heading == "休暇" and all(len(c.text) <= CHUNK_CHARS + OVERLAP_CHARS + 1 for c in text)
    assert text[1].text[:60] in text[0].text  # consecutive chunks overlap
    assert listed["broken.pdf"]["status"] == "failed" and "cannot be read" in listed["broken.pdf"]["failure_reason"]
    assert listed["scan.pdf"]["status"] == "failed" and "no text" in listed["scan.pdf"]["failure_reason"]
    assert chunks_of(app, ids["scan.pdf"]) == []


def test_an_interrupted_run_is_resumed_by_the_sweeper_without_duplicates(setup):
    app, client, headers, _, _ = setup
    document_id = upload(client, headers, pdf_bytes(2), "report.pdf")
    with app.app_context():
        document = db.session.get(Document, uuid.UUID(document_id))
        # A consumer died half-way: one chunk written, "processing" for a long time.
        db.session.add(Chunk(document_id=document.id, tenant_id=document.tenant_id, ordinal=0, page=1, text="partial"))
        document.status, document.updated_at = "processing", utcnow() - timedelta(minutes=30)
        db.session.commit()
        ingest.sweep()  # puts it back to pending and queues it
        assert db.session.get(Document, document.id).status == "pending"
        ingest.ingest(document_id)  # what the queued job runs
        db.session.expire_all()
        assert db.session.get(Document, document.id).status == "completed"
    texts = [c.text for c in chunks_of(app, document_id)]
    assert "partial" not in texts and [c.ordinal for c in chunks_of(app, document_id)] == list(range(len(texts)))


def test_a_failed_document_can_be_retried_and_delete_removes_its_chunks(setup):
    app, client, headers, _, _ = setup
    document_id = upload(client, headers, pdf_bytes(1), "report.pdf")
    with app.app_context():
        ingest.ingest(document_id)
    assert chunks_of(app, document_id)
    with app.app_context():
        from webapp.accounts.models import User
        from webapp.documents import service

        actor = db.session.scalars(db.select(User)).first()
        with pytest.raises(Conflict):  # only a failed document is read again
            service.retry(actor, document_id)
        db.session.get(Document, uuid.UUID(document_id)).status = "failed"
        db.session.commit()
        assert service.retry(actor, document_id).status == "pending"
        ingest.ingest(document_id)
    assert client.delete(f"/api/v1/contents/{document_id}", headers=headers).status_code == 200
    assert chunks_of(app, document_id) == []
