"""Retrieval: a tenant's passages that best match a question, best first.

The question is cut into terms like the chunks were (documents/terms.py) and asked as "any of
these terms" of the database's own full-text index: FTS5 ranked by bm25 on SQLite, the generated
tsvector ranked by ts_rank on PostgreSQL (migration 0009). Only completed documents of the given
tenant are searched; the tenant is a parameter of the one query, never a filter applied afterwards.
An organisation with an embedding model also has its passages ranked by meaning (embeddings.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from sqlalchemy import Uuid, bindparam, text

from webapp.db.orm import db
from webapp.documents import embeddings
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


_BY_ID = text(f"""
    SELECT {_COLUMNS}, 0.0 AS score FROM chunks c JOIN documents d ON d.id = c.document_id
    WHERE c.id IN :ids AND c.tenant_id = :tenant AND d.status = 'completed'""").bindparams(
    bindparam("ids", expanding=True))

RRF_K = 60  # reciprocal rank fusion's constant (Cormack et al.): 1 / (60 + rank) from each ranking


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
    """By words alone, or, for an organisation with an embedding model, by words and by meaning
    fused by reciprocal rank (each list `limit` × 4, at least 20, deep; a passage's score is then its
    fused score)."""
    words = query_terms(question)
    asked = embeddings.question_vector(tenant_id, question)
    if asked is None:
        return _by_words(tenant_id, words, limit) if words else []
    depth = max(limit * 4, 20)
    by_words = _by_words(tenant_id, words, depth) if words else []
    by_meaning = [chunk_id for chunk_id, _ in embeddings.nearest(tenant_id, *asked, limit=depth)]
    fused: dict[int, float] = {}
    for ranking in ([p.chunk_id for p in by_words], by_meaning):
        for rank, chunk_id in enumerate(ranking, start=1):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank)
    best = sorted(fused, key=lambda chunk_id: -fused[chunk_id])[:limit]
    known = {p.chunk_id: p for p in by_words}
    known.update({p.chunk_id: p for p in _by_id(tenant_id, [c for c in best if c not in known])})
    return [replace(known[c], score=round(fused[c], 6)) for c in best if c in known]


def _passage(row) -> Passage:
    return Passage(chunk_id=row.id, document_id=uuid.UUID(str(row.document_id)), ordinal=row.ordinal, page=row.page,
                   heading=row.heading, text=row.text, file_name=row.file_name, title=row.title,
                   score=float(row.score))


def _by_words(tenant_id: uuid.UUID, words: list[str], limit: int) -> list[Passage]:
    dialect = db.session.get_bind().dialect.name
    statement = (_POSTGRESQL if dialect == "postgresql" else _SQLITE).bindparams(bindparam("tenant", type_=Uuid))
    rows = db.session.execute(statement, {"match": _match(words, dialect), "tenant": tenant_id, "limit": limit})
    return [_passage(row) for row in rows]


def _by_id(tenant_id: uuid.UUID, chunk_ids: list[int]) -> list[Passage]:
    if not chunk_ids:
        return []
    rows = db.session.execute(_BY_ID.bindparams(bindparam("tenant", type_=Uuid)),
                              {"ids": chunk_ids, "tenant": tenant_id})
    return [_passage(row) for row in rows]
