"""Document: one uploaded file of a tenant. The original name is kept only as data; the file lives
under a generated name in UPLOAD_DIR/<tenant id>/."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db.base import UTCDateTime, new_uuid, utcnow
from webapp.db.orm import db
from webapp.tasks.models import BigId

FILE_TYPES = ("pdf", "txt", "docx")
STATUSES = ("pending", "processing", "completed", "failed")


class Document(db.Model):
    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_tenant_id_created_at", "tenant_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    file_name: Mapped[str] = mapped_column(String(255))  # as the uploader named it: shown, never used as a path
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    file_type: Mapped[str] = mapped_column(String(8))
    file_size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Chunk(db.Model):
    """A passage of a document, in reading order: what retrieval finds and answers cite."""

    __tablename__ = "chunks"
    __table_args__ = (Index("ix_chunks_document_id_ordinal", "document_id", "ordinal", unique=True),
                      Index("ix_chunks_tenant_id", "tenant_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(Integer)
    page: Mapped[int | None] = mapped_column(Integer)  # 1-based, for PDFs
    heading: Mapped[str] = mapped_column(String(300), default="")
    text: Mapped[str] = mapped_column(Text)
    # Its search terms, space-separated (documents/terms.py). The full-text index over them is the
    # database's own: an FTS5 table kept by triggers on SQLite, a generated tsvector column with a
    # GIN index on PostgreSQL (migration 0009); documents/search.py asks either.
    terms: Mapped[str] = mapped_column(Text, default="")


class ChunkEmbedding(db.Model):
    """A passage's vector, for an organisation that names an embedding model (documents/embeddings.py):
    unit length, packed as a float32 scale and an int8 per dimension, in the space (provider and
    model) it came from."""

    __tablename__ = "chunk_embeddings"
    __table_args__ = (Index("ix_chunk_embeddings_tenant_id_space", "tenant_id", "space"),)

    chunk_id: Mapped[int] = mapped_column(BigId, ForeignKey("chunks.id", ondelete="CASCADE"), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    space: Mapped[str] = mapped_column(String(160))  # "openai:text-embedding-3-small"
    vector: Mapped[bytes] = mapped_column(LargeBinary)
