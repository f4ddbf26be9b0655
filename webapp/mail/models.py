"""MailMessage: one outgoing e-mail, kept as the outbox admins read and the queue the sender works from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db.base import UTCDateTime, utcnow
from webapp.db.orm import db

# queued -> sent; queued -> retrying -> ... -> sent | failed; kept: no SMTP server configured.
STATUSES = ("queued", "retrying", "sent", "failed", "kept")


class MailMessage(db.Model):
    __tablename__ = "mail_messages"
    __table_args__ = (Index("ix_mail_messages_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # what it is about, e.g. "usage_key.approved"
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(String(10))
    # Carries a one-time link: its body is blanked once the message has been delivered.
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
