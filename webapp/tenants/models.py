"""ProviderKey: an LLM provider key a tenant's admins registered for its answers (spec 001 §3.5).
The key is encrypted at rest like every provider secret and never returned after creation."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db.base import UTCDateTime, new_uuid, utcnow
from webapp.db.crypto import encrypted_column
from webapp.db.orm import db


class ProviderKey(db.Model):
    __tablename__ = "provider_keys"
    __table_args__ = (Index("ix_provider_keys_tenant_id_created_at", "tenant_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(20))  # openai / lmstudio / ollama
    model: Mapped[str] = mapped_column(String(100))
    base_url: Mapped[str] = mapped_column(String(500), default="")  # "" = the provider's own
    secret: Mapped[str] = mapped_column(Text, default="")  # Fernet token ("" for keyless local servers)
    hint: Mapped[str] = mapped_column(String(40), default="")  # mask_secret(key): enough to recognise it
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


encrypted_column(ProviderKey, "secret")
