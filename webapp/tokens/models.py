"""ApiToken: every machine credential is one row, stored as a SHA-256 hash with a visible prefix."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.db.base import UTCDateTime, utcnow
from webapp.db.crypto import encrypted_column
from webapp.db.orm import db

KINDS = ("service", "widget", "usage", "personal")
# A usage-key request (spec 003) is a `pending` usage token with no key yet; an admin makes it
# `active` (the key itself is minted when the requester opens the one-time link) or `rejected`.
STATUSES = ("pending", "active", "rejected", "revoked")


class ApiToken(db.Model):
    __tablename__ = "api_tokens"
    __table_args__ = (
        # One open request per address: a second POST /usagekey while one is pending finds it.
        Index("uq_api_tokens_pending_contact", "contact_email", unique=True,
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
        # One live widget key per tenant: two first visits to the embed snippet cannot make two.
        Index("uq_api_tokens_active_widget", "tenant_id", unique=True,
              sqlite_where=text("kind = 'widget' AND status = 'active'"),
              postgresql_where=text("kind = 'widget' AND status = 'active'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    # The first characters of the raw token (e.g. "adk_svc_3fK9"), shown so people can tell tokens apart.
    # Both empty while a usage key waits for approval or for its one-time link to be opened.
    prefix: Mapped[str | None] = mapped_column(String(24))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    daily_quota: Mapped[int | None] = mapped_column(Integer)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Usage keys (spec 003): who asked, in which language to write to them, and the admin's decision.
    contact_email: Mapped[str | None] = mapped_column(String(254), index=True)
    contact_name: Mapped[str | None] = mapped_column(String(100))
    locale: Mapped[str | None] = mapped_column(String(10))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decision_note: Mapped[str | None] = mapped_column(Text)  # the reason given with a rejection
    # SHA-256 of the nonce inside the one-time link that mints the key; cleared when it is used.
    reveal_digest: Mapped[str | None] = mapped_column(String(64))
    revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Widget keys (spec 001's X-API-Key): the organisation they answer for, and the key itself,
    # encrypted, because the embed snippet shows it to the organisation's people whenever they ask
    # (it is published in every page that embeds the widget; lookups still go by the hash).
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    secret: Mapped[str | None] = mapped_column(Text)

    user: Mapped["User | None"] = relationship("User", foreign_keys=[user_id])  # noqa: F821

    @property
    def label(self) -> str:
        return f"{self.name} ({self.prefix}…)" if self.prefix else self.name


encrypted_column(ApiToken, "secret")
