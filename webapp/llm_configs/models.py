"""LLMConfig: one row per user plus one instance default; NULL means "inherit"."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db.base import UTCDateTime, utcnow
from webapp.db.crypto import encrypted_column
from webapp.db.orm import db

DEFAULT_SCOPE = "default"


class LLMConfig(db.Model):
    __tablename__ = "llm_configs"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "default" for the instance default, else the owner's user id (hex): unique, so one each.
    scope_key: Mapped[str] = mapped_column(String(36), unique=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)

    provider: Mapped[str | None] = mapped_column(String(16))
    function_calling: Mapped[bool | None] = mapped_column(Boolean)
    system_prompt: Mapped[str | None] = mapped_column(Text)
    max_llm_process_num: Mapped[int | None] = mapped_column(Integer)

    openai_api_key: Mapped[str | None] = mapped_column(Text)  # Fernet token, never plaintext
    # The base URL in effect when the key was saved: the key is only ever served with that origin.
    openai_key_url: Mapped[str | None] = mapped_column(String(500))
    openai_base_url: Mapped[str | None] = mapped_column(String(500))
    openai_model: Mapped[str | None] = mapped_column(String(200))
    openai_max_token: Mapped[int | None] = mapped_column(Integer)
    lmstudio_base_url: Mapped[str | None] = mapped_column(String(500))
    lmstudio_context_length: Mapped[int | None] = mapped_column(Integer)
    lmstudio_model: Mapped[str | None] = mapped_column(String(200))
    ollama_endpoint: Mapped[str | None] = mapped_column(String(500))
    ollama_model: Mapped[str | None] = mapped_column(String(200))
    ollama_max_token: Mapped[int | None] = mapped_column(Integer)

    # Instance default only: may personal tokens read the default's key? (Service tokens always may.)
    share_key_with_personal_tokens: Mapped[bool | None] = mapped_column(Boolean)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    @property
    def is_default(self) -> bool:
        return self.scope_key == DEFAULT_SCOPE


def scope_key_for(user_id: uuid.UUID) -> str:
    return user_id.hex


encrypted_column(LLMConfig, "openai_api_key")
