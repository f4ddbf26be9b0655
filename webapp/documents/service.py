"""Uploads, listing and deletion of a tenant's documents; every query scoped to the caller's tenant here.

An upload is copied to disk in 1 MiB pieces (Werkzeug has already spooled a large body to a
temporary file, never to memory) while it is hashed and measured; its type is decided by its bytes
(PDF signature, a ZIP holding word/document.xml, else UTF-8 text without NULs), never by its name
or Content-Type; it is stored under a generated name. Nothing is half-written: the row and the file
appear together or not at all.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from webapp.accounts.models import User
from webapp.audit import service as audit
from webapp.db.orm import db
from webapp.db.base import utcnow
from webapp.documents import embeddings, ingest
from webapp.documents.models import FILE_TYPES, STATUSES, Document
from webapp.errors import BadRequest, Conflict, DomainError, NotFound
from webapp.tenants.service import admin_of

PIECE = 1024 * 1024
SNIFF = 64 * 1024
MAX_TITLE = 255


class TooLarge(DomainError):
    status = 413
    code = "FILE_TOO_LARGE"


class UnsupportedType(DomainError):
    status = 400
    code = "UNSUPPORTED_FILE_TYPE"


def member(user_id) -> User | None:
    """The active person a credential speaks for (documents belong to their organisation)."""
    user = db.session.get(User, user_id) if user_id else None
    return user if user is not None and user.active else None


def _folder(tenant_id: uuid.UUID) -> Path:
    folder = Path(current_app.config["UPLOAD_DIR"]) / tenant_id.hex
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def sniff(head: bytes, path: Path, *, whole: bool) -> str | None:
    """The type by content: "pdf", "docx", "txt", or None. `whole`: `head` is the entire file (so
    an incomplete character at its end is an error, not the sample's cut)."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                return "docx" if "word/document.xml" in archive.namelist() else None
        except (zipfile.BadZipFile, OSError):
            return None
    if b"\x00" in head:
        return None
    try:
        head.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError as error:
        if whole or error.reason != "unexpected end of data":  # only the sample's cut may split a character
            return None
    return "txt"


def store_upload(actor: User, stream, original_name: str, *, title: str | None = None, description: str = "",
                 tags: str = "", ip: str = "") -> Document:
    admin_of(actor)
    if any("\x00" in (value or "") for value in (title, description, tags)):
        raise BadRequest(_l("Text fields may not contain NUL characters."), code="VALIDATION_ERROR")
    name = os.path.basename((original_name or "").replace("\\", "/"))
    name = "".join(c for c in name if c.isprintable()).strip()[:MAX_TITLE] or "upload"
    title = (title or "").strip() or name
    if len(title) > MAX_TITLE:
        raise BadRequest(_l("The title is longer than %(max)s characters.", max=MAX_TITLE), code="VALIDATION_ERROR",
                         field="title")
    limit = current_app.config["UPLOAD_MAX_BYTES"]
    stored = secrets.token_hex(16)
    path = _folder(actor.tenant_id) / stored
    digest, size, head = hashlib.sha256(), 0, b""
    try:
        with open(path, "xb") as out:
            os.chmod(path, 0o600)
            while piece := stream.read(PIECE):
                size += len(piece)
                if size > limit:
                    raise TooLarge(_l("The file is larger than %(mb)s MB.", mb=limit // (1024 * 1024)))
                if len(head) < SNIFF:
                    head += piece[:SNIFF - len(head)]
                digest.update(piece)
                out.write(piece)
        if size == 0:
            raise BadRequest(_l("The file is empty."), code="VALIDATION_ERROR", field="file")
        file_type = sniff(head, path, whole=size == len(head))
        if file_type not in FILE_TYPES:
            raise UnsupportedType(_l("Only PDF, DOCX and plain-text (UTF-8) files can be uploaded; this file's "
                                     "contents are none of them."))
        document = Document(tenant_id=actor.tenant_id, uploaded_by_id=actor.id, file_name=name, stored_name=stored,
                            file_type=file_type, file_size=size, sha256=digest.hexdigest(), title=title,
                            description=(description or "")[:5000],
                            tags=[t.strip()[:50] for t in (tags or "").split(",") if t.strip()][:20])
        db.session.add(document)
        db.session.flush()
        audit.record("document.upload", ip=ip, actor=actor, target=f"document {document.id}",
                     details={"file_type": file_type, "size": size})
        db.session.commit()
    except BaseException:
        db.session.rollback()
        path.unlink(missing_ok=True)
        raise
    ingest.queue(document.id)  # after the commit: the consumer must find the row
    return document


def retry(actor: User, document_id, *, ip: str = "") -> Document:
    """A failed document is read again from the start."""
    admin_of(actor)
    document = get_document(actor, document_id)
    if document.status != "failed":
        raise Conflict(_l("Only a document whose reading failed can be retried."), code="CONFLICT")
    document.status, document.progress, document.failure_reason, document.updated_at = "pending", 0, None, utcnow()
    audit.record("document.retry", ip=ip, actor=actor, target=f"document {document.id}")
    db.session.commit()
    ingest.queue(document.id)
    return document


@dataclass(frozen=True)
class DocumentFilter:
    file_type: str | None = None
    status: str | None = None
    search: str = ""


def embedding_progress(actor: User) -> tuple[int, int] | None:
    """(passages with a vector, passages) of the person's organisation; None without an embedding model."""
    return embeddings.progress(actor.tenant_id)


def list_documents(actor: User, filters: DocumentFilter, *, skip: int = 0, limit: int = 100) -> list[Document]:
    query = select(Document).where(Document.tenant_id == actor.tenant_id)
    if filters.file_type in FILE_TYPES:
        query = query.where(Document.file_type == filters.file_type)
    if filters.status in STATUSES:
        query = query.where(Document.status == filters.status)
    if filters.search:
        pattern = "%" + filters.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(Document.title.ilike(pattern, escape="\\"),
                                Document.file_name.ilike(pattern, escape="\\")))
    return list(db.session.scalars(query.order_by(Document.created_at.desc(), Document.id)
                                   .offset(skip).limit(limit)))


def count_documents(actor: User) -> int:
    return db.session.scalar(select(func.count()).select_from(Document).where(Document.tenant_id == actor.tenant_id))


def get_document(actor: User, document_id) -> Document:
    """One of the actor's tenant's documents; any other id (someone else's, or none) is the same 404."""
    try:
        wanted = uuid.UUID(str(document_id))
    except ValueError:
        raise NotFound(_l("No such file."), code="RESOURCE_NOT_FOUND") from None
    document = db.session.scalar(select(Document).where(Document.id == wanted,
                                                         Document.tenant_id == actor.tenant_id))
    if document is None:
        raise NotFound(_l("No such file."), code="RESOURCE_NOT_FOUND")
    return document


def delete_document(actor: User, document_id, *, ip: str = "") -> None:
    admin_of(actor)
    document = get_document(actor, document_id)
    path = _folder(document.tenant_id) / document.stored_name
    db.session.delete(document)
    audit.record("document.delete", ip=ip, actor=actor, target=f"document {document.id}")
    db.session.commit()
    path.unlink(missing_ok=True)  # after the commit: a failed delete leaves the row and its file




@dataclass(frozen=True)
class DocumentState:
    id: str
    status: str
    progress: int
    failure_reason: str | None

    @property
    def finished(self) -> bool:
        return self.status in ("completed", "failed")


RECENT = 600  # seconds: documents changed this recently are still reported to the page


def document_states(actor: User) -> list[DocumentState]:
    """The states the Documents page follows live: unfinished documents and recently changed ones."""
    from datetime import timedelta

    since = utcnow() - timedelta(seconds=RECENT)
    rows = db.session.execute(select(Document.id, Document.status, Document.progress, Document.failure_reason).where(
        Document.tenant_id == actor.tenant_id,
        or_(Document.status.in_(("pending", "processing")), Document.updated_at >= since)).limit(500))
    states = [DocumentState(str(row.id), row.status, row.progress, row.failure_reason) for row in rows]
    db.session.commit()  # a long-lived event stream asks every second: hold no transaction in between
    return states


def file_path(actor: User, document_id) -> tuple[Document, Path]:
    """A document of the actor's tenant and where its file is (for downloads)."""
    document = get_document(actor, document_id)
    return document, _folder(document.tenant_id) / document.stored_name
