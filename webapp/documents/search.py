"""Retrieval: a tenant's passages that best match a question, best first.

The question is cut into terms like the chunks were (documents/terms.py) and asked as "any of
these terms" of the database's own full-text index: FTS5 ranked by bm25 on SQLite, the generated
tsvector ranked by ts_rank on PostgreSQL (migration 0009). Only completed documents of the given
tenant are searched; the tenant is a parameter of the one query, never a filter applied afterwards.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Uuid, bindparam, text

from webapp.db.orm import db
from webapp.documents.terms import query_terms

_COLUMNS = ("c.id, c.document_id, c.ordinal, c.page, c.heading, c.text, d.file_name, d.title")

_SQLITE = text(f"""
    SELECT {_COLUMNS}, bm25(chunks_fts) AS score
    FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid JOIN documents d ON d.id = c.document_id
    WHERE chunks_fts MATCH :match AND c.tenant_id = :tenant AND d.status = 'completed'
    ORDER BY score LIMIT :limit""")

_POSTGRESQL = text(f"""
    SELECT {_COLUMNS}, ts_rank(c.search_vector, q, 1) AS score
    FROM chunks c JOIN documents d ON d.id = c.document_id, websearch_to_tsquery('simple', :match) q
    WHERE c.tenant_id = :tenant AND c.search_vector @@ q AND d.status = 'completed'
    ORDER BY score DESC, c.id LIMIT :limit""")


@dataclass(frozen=True)
class Passage:
    chunk_id: int
    document_id: uuid.UUID
    ordinal: int
    page: int | None
    heading: str
    text: str
    file_name: str
    title: str
    score: float


def _match(words: list[str], dialect: str) -> str:
    if dialect == "postgresql":  # websearch syntax: quoted words joined by "or"; it never fails to parse
        return " or ".join(f'"{word}"' for word in words)
    return " OR ".join('"' + word.replace('"', '""') + '"' for word in words)  # FTS5 strings


def search(tenant_id: uuid.UUID, question: str, *, limit: int = 5) -> list[Passage]:
    words = query_terms(question)
    if not words:
        return []
    dialect = db.session.get_bind().dialect.name
    statement = (_POSTGRESQL if dialect == "postgresql" else _SQLITE).bindparams(bindparam("tenant", type_=Uuid))
    rows = db.session.execute(statement, {"match": _match(words, dialect), "tenant": tenant_id, "limit": limit})
    return [Passage(chunk_id=row.id, document_id=uuid.UUID(str(row.document_id)), ordinal=row.ordinal,
                    page=row.page, heading=row.heading, text=row.text, file_name=row.file_name, title=row.title,
                    score=float(row.score)) for row in rows]
