"""ReviewRuleSet: every saved version of rules.json; the newest one is in force."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db.base import UTCDateTime, utcnow
from webapp.db.orm import db


class ReviewRuleSet(db.Model):
    __tablename__ = "review_rule_sets"

    id: Mapped[int] = mapped_column(primary_key=True)  # the version number
    content: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
