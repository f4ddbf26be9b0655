"""RefreshToken: every refresh token handed out, stored as a SHA-256 hash, in rotation families."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db.base import UTCDateTime, utcnow
from webapp.db.orm import db


class RefreshToken(db.Model):
    """One refresh token. Using it marks it used and issues the next one of its family; presenting a
    used one again means it was copied, and the whole family is revoked."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_family", "family"), Index("ix_refresh_tokens_user_id", "user_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    family: Mapped[str] = mapped_column(String(36))  # the sign-in every rotation descends from
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
