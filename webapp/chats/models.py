"""ChatSession and ChatMessage (DESIGN.md): a conversation and its turns. A RAG answer is an
assistant message with its sources; a widget conversation has a token instead of a person; an agent
session (spec 004's workspace) is a person's conversation with a coding agent, its messages the
person's input and the agent's output as it came (ANSI kept), searchable by their terms."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db.base import UTCDateTime, new_uuid, utcnow
from webapp.db.orm import db
from webapp.tasks.models import BigId

KINDS = ("rag", "widget", "agent")
ROLES = ("user", "assistant", "system")
STATUSES = ("active", "closed")  # agent sessions


class ChatSession(db.Model):
    __tablename__ = "chat_sessions"
    __table_args__ = (Index("ix_chat_sessions_tenant_id_user_id_updated_at", "tenant_id", "user_id", "updated_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(10), default="rag")
    title: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(10), default="active", server_default="active")
    meta: Mapped[dict] = mapped_column(JSON, default=dict)  # agent sessions: workspace, tags, what the client sent
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChatMessage(db.Model):
    __tablename__ = "chat_messages"
    __table_args__ = (Index("ix_chat_messages_session_id_id", "session_id", "id"),
                      Index("ix_chat_messages_uid", "uid", unique=True))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    uid: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=new_uuid)  # spec 004's message id
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("chat_sessions.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(10))
    content: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(10), default="text", server_default="text")  # text, ansi, markdown
    # Agent sessions: the content without ANSI, cut into search terms (documents/terms.py); the
    # full-text index over them is the database's own, like the chunks' (migration 0012).
    terms: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Assistant turns: the passages used ([{file_id, file_name, chunk_index, chunk_text, ...}]) and
    # how the answer was made ({model, tokens_in, tokens_out, latency_ms, retrieval_only}).
    sources: Mapped[list] = mapped_column(JSON, default=list)
    meta: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
