"""Column helpers shared by every feature's models."""

import uuid
from datetime import datetime, timezone

from sqlalchemy import DateTime, TypeDecorator


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_uuid() -> uuid.UUID:
    return uuid.uuid4()


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset, so we add it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


# Made by migrations 0009 and 0012 beside the models, not from them: the databases' own full-text
# indexes over chunks.terms and chat_messages.terms (SQLite's FTS5 tables and their shadow tables;
# PostgreSQL's generated tsvectors).
def managed_by_models(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's include_object: autogenerate leaves the search indexes alone."""
    if type_ == "table" and name and name.startswith(("chunks_fts", "chat_messages_fts")):
        return False
    return not (type_ in ("column", "index") and name in (
        "search_vector", "ix_chunks_search_vector", "ix_chat_messages_search_vector"))
