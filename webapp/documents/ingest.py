"""Durable ingest: a Huey job turns a pending document into chunks, page by page.

The job claims the document by compare-and-set (pending -> processing), starts from nothing (the
chunks of an earlier, interrupted run are removed first), writes chunks in batches and records its
progress as it goes. A sweeper queues again what a lost job or a dead consumer left behind, so a
restarted consumer resumes every unfinished document. A document deleted meanwhile stops the job.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from webapp.db.base import utcnow
from webapp.db.orm import db
from webapp.documents import embeddings  # noqa: F401 (declares documents.embed)
from webapp.documents.extract import ExtractionFailed, Piece, blocks, chunks, page_count
from webapp.documents.models import Chunk, Document
from webapp.documents.terms import document_terms
from webapp.jobs import enqueue, job

BATCH = 200  # chunks per transaction
LOST_AFTER = timedelta(seconds=60)  # pending this long and never claimed: its job was lost
STALE_AFTER = timedelta(minutes=10)  # processing without progress this long: its consumer died


class _Gone(Exception):
    """The document was deleted while it was being read."""


def queue(document_id) -> None:
    enqueue("documents.ingest", str(document_id))


def _set(document_id, **values) -> None:
    changed = db.session.execute(update(Document).where(Document.id == document_id)
                                 .values(updated_at=utcnow(), **values)).rowcount
    db.session.commit()
    if not changed:
        raise _Gone


@job("documents.ingest")
def ingest(document_id: str) -> None:
    import uuid

    wanted = uuid.UUID(document_id)
    claimed = db.session.execute(update(Document).where(Document.id == wanted, Document.status == "pending")
                                 .values(status="processing", progress=0, failure_reason=None,
                                         updated_at=utcnow())).rowcount
    db.session.commit()
    if not claimed:
        return  # done, failed, deleted, or another consumer has it
    document = db.session.get(Document, wanted)
    path = Path(current_app.config["UPLOAD_DIR"]) / document.tenant_id.hex / document.stored_name
    try:
        _read(document, path)
    except _Gone:
        db.session.rollback()
    except ExtractionFailed as failed:
        db.session.rollback()
        _finish_failed(wanted, str(failed))
    except IntegrityError:  # its chunks' document vanished under the insert
        db.session.rollback()
    except Exception as error:  # noqa: BLE001 (whatever breaks, the document says so and the consumer lives)
        db.session.rollback()
        current_app.logger.exception("ingest of document %s failed", document_id)
        _finish_failed(wanted, f"unexpected error ({error.__class__.__name__})")


def _finish_failed(document_id, reason: str) -> None:
    try:
        _set(document_id, status="failed", failure_reason=reason[:500])
    except _Gone:
        pass


def _read(document: Document, path: Path) -> None:
    document_id, tenant_id, file_type = document.id, document.tenant_id, document.file_type
    db.session.execute(delete(Chunk).where(Chunk.document_id == document_id))  # a rerun starts over
    db.session.commit()
    pages = page_count(path, file_type)
    ordinal, batch = 0, []
    for item in chunks(blocks(path, file_type)):
        if isinstance(item, Piece):
            # PostgreSQL stores no NUL in text; some PDFs' text has them
            heading, text = item.heading.replace("\x00", ""), item.text.replace("\x00", "")
            batch.append({"document_id": document_id, "tenant_id": tenant_id, "ordinal": ordinal,
                          "page": item.page, "heading": heading, "text": text,
                          "terms": document_terms(f"{heading}\n{text}" if heading else text)})
            ordinal += 1
            if len(batch) >= BATCH:
                _write(batch)
        elif pages and item:  # a page is done
            if batch:
                _write(batch)
            _set(document_id, progress=min(99, item * 100 // pages))
    if batch:
        _write(batch)
    if ordinal == 0:
        raise ExtractionFailed("no text was found in it (a scanned PDF needs text recognition first)")
    _set(document_id, status="completed", progress=100)
    enqueue("documents.embed", str(tenant_id))  # vectors for its passages, when the tenant names a model


def _write(batch: list[dict]) -> None:
    db.session.execute(Chunk.__table__.insert(), batch)
    db.session.commit()
    batch.clear()


@job("documents.sweep", every_minute=True)
def sweep() -> None:
    """Queue again the documents a lost job or a dead consumer left pending or processing."""
    now = utcnow()
    stuck = list(db.session.scalars(select(Document.id).where(or_(
        (Document.status == "pending") & (Document.updated_at < now - LOST_AFTER),
        (Document.status == "processing") & (Document.updated_at < now - STALE_AFTER))).limit(100)))
    if stuck:
        db.session.execute(update(Document).where(Document.id.in_(stuck), Document.status == "processing")
                           .values(status="pending", updated_at=now))
        db.session.commit()
    for document_id in stuck:
        queue(document_id)
