"""Embeddings, optional per organisation: passages found by meaning as well as by their words.

An organisation that names an embedding model (Organisation → Settings; spec 001's
settings.embedding_model) gets a vector for every passage of its completed documents, asked of its
newest active provider key with that model by the documents.embed job, and one for every question.
Retrieval then ranks the passages twice, by the full-text index and by cosine similarity, and fuses
the two lists by reciprocal rank (search.py). A question whose vector does not come in time is
answered from the full-text index alone: embeddings add recall, they never take an answer away.

Vectors are stored unit-length in chunk_embeddings, quantised to a byte per dimension (pack()),
tagged with the provider and model they came from (their space). Naming another model, or a newer
key of another provider, replaces them in the background; until then questions are ranked by words
only. Nearest passages are found by exact
search in numpy over the organisation's vectors, read in batches (sqlite-vec and pgvector do the
same exact search in C; neither can be loaded here: this Python's sqlite3 cannot load extensions and
Debian 12 ships no pgvector for PostgreSQL 15). bench/documents.py measures it.
"""

from __future__ import annotations

import uuid

from flask import current_app
from sqlalchemy import delete, exists, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from webapp.db.orm import db
from webapp.documents.models import Chunk, ChunkEmbedding, Document
from webapp.jobs import enqueue, job
from webapp.llm_configs import embeddings as llm_embeddings
from webapp.llm_configs.providers import ProviderFailed, Target
from webapp.tenants.models import ProviderKey
from webapp.tenants.service import embedding_target
from webapp.usage import service as usage

BATCH = 32  # passages per request to the provider
BATCHES_PER_RUN = 50  # then the job queues itself again, so one organisation never holds the consumer
READ_BATCH = 2048  # vectors read from the database at a time when searching


def space_of(target: Target) -> str:
    return f"{target.provider}:{target.model}"[:160]


def _unit(values, *, zero: bool = False):
    """The vector scaled to length 1 as float32, or None for one that is not a vector of numbers (a
    zero vector is kept as it is when `zero`: a passage that resembles nothing)."""
    import numpy as np

    try:
        with np.errstate(over="ignore", invalid="ignore"):  # too large for float32: inf, refused below
            vector = np.asarray(values, dtype=np.float32)
    except (TypeError, ValueError, OverflowError):
        return None
    if vector.ndim != 1 or not vector.size or not np.isfinite(vector).all():
        return None
    norm = float(np.linalg.norm(vector))
    if not np.isfinite(norm):
        return None
    if norm == 0.0:
        return vector if zero else None
    return vector / norm


def pack(vector) -> bytes:
    """A unit vector as stored: its scale (float32), then its components as int8 (scalar
    quantisation: a quarter of float32's bytes, which is most of a search's time, for a cosine
    within about 0.01)."""
    import numpy as np

    peak = float(np.abs(vector).max()) if vector.size else 0.0
    scale = peak / 127 if peak else 1.0
    return np.float32(scale).tobytes() + np.round(vector / scale).astype(np.int8).tobytes()


def _limits(deadline: float) -> dict:
    config = current_app.config
    return {"deadline": deadline, "allow_private": config["OUTBOUND_ALLOW_PRIVATE"],
            "max_in_flight": config["RAG_LLM_MAX_IN_FLIGHT"]}


# Read straight from the driver, READ_BATCH rows at a time: psycopg in binary (bytea as text is
# hex, twice the bytes and a decode), sqlite3 as it is; through the ORM the same rows cost twice the
# reading. Only completed documents' passages get vectors (embed_passages), and search.py keeps
# completed documents only, so no join to documents here (on PostgreSQL it was half the time).
# Vectors of another length (a model changed under a running job) cannot be compared: left out.
_VECTORS = ("SELECT chunk_id, vector FROM chunk_embeddings"
            " WHERE tenant_id = {0} AND space = {0} AND length(vector) = {0}")


def _vector_rows(tenant_id: uuid.UUID, space: str, width: int):
    postgres = db.session.get_bind().dialect.name == "postgresql"
    connection = db.session.connection().connection.driver_connection
    cursor = connection.cursor(binary=True) if postgres else connection.cursor()
    try:  # SQLAlchemy's Uuid is 32 hex characters on SQLite
        cursor.execute(_VECTORS.format("%s" if postgres else "?"),
                       (tenant_id if postgres else tenant_id.hex, space, width))
        while part := cursor.fetchmany(READ_BATCH):
            yield part
    finally:
        cursor.close()


# --- Questions -------------------------------------------------------------------------------


def question_vector(tenant_id: uuid.UUID, question: str):
    """(space, unit vector) of the question, or None: no embedding model, or no vector in time."""
    target = embedding_target(tenant_id)
    if target is None:
        return None
    try:
        embedded = llm_embeddings.embed(target, [question], **_limits(current_app.config["RAG_EMBED_TIMEOUT"]))
    except ProviderFailed as failed:
        current_app.logger.warning("question embedding for tenant %s failed (%s): words only", tenant_id,
                                   failed.detail)
        return None
    vector = _unit(embedded.vectors[0])
    return None if vector is None else (space_of(target), vector)


def nearest(tenant_id: uuid.UUID, space: str, vector, *, limit: int) -> list[tuple[int, float]]:
    """The `limit` passages of the tenant closest to `vector`, as (chunk id, cosine similarity),
    closest first. Exact: every vector of the space is compared, a batch at a time."""
    import numpy as np

    width = 4 + vector.shape[0]  # pack(): the scale, then one byte per dimension
    best_ids, best_scores = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    for part in _vector_rows(tenant_id, space, width):
        chunk_ids, vectors = zip(*part)
        ids = np.array(chunk_ids, dtype=np.int64)
        packed = np.frombuffer(b"".join(vectors), dtype=np.uint8).reshape(len(part), width)
        scales = packed[:, :4].copy().view(np.float32).ravel()
        scores = (packed[:, 4:].view(np.int8).astype(np.float32) @ vector) * scales
        best_ids = np.concatenate([best_ids, ids])
        best_scores = np.concatenate([best_scores, scores])
        if len(best_ids) > limit:
            keep = np.argpartition(-best_scores, limit)[:limit]
            best_ids, best_scores = best_ids[keep], best_scores[keep]
    order = np.argsort(-best_scores, kind="stable")
    return [(int(best_ids[i]), float(best_scores[i])) for i in order]


# --- Passages (the documents.embed job) ------------------------------------------------------


def _missing(tenant_id: uuid.UUID, space: str):
    """The tenant's passages of completed documents that have no vector in `space`."""
    return (select(Chunk.id, Chunk.heading, Chunk.text).join(Document, Document.id == Chunk.document_id)
            .where(Chunk.tenant_id == tenant_id, Document.status == "completed",
                   ~exists().where(ChunkEmbedding.chunk_id == Chunk.id, ChunkEmbedding.space == space)))


def progress(tenant_id: uuid.UUID) -> tuple[int, int] | None:
    """(passages with a vector of the current model, passages) for the Documents page; None
    without an embedding model."""
    target = embedding_target(tenant_id)
    if target is None:
        return None
    total = db.session.scalar(select(func.count()).select_from(Chunk).join(Document, Document.id == Chunk.document_id)
                              .where(Chunk.tenant_id == tenant_id, Document.status == "completed"))
    done = db.session.scalar(select(func.count()).select_from(ChunkEmbedding).join(
        Chunk, Chunk.id == ChunkEmbedding.chunk_id).join(Document, Document.id == Chunk.document_id).where(
        ChunkEmbedding.tenant_id == tenant_id, ChunkEmbedding.space == space_of(target),
        Document.status == "completed"))
    return done, total


def _insert(rows: list[dict]) -> None:
    """Vectors written at most once: a second job on the same passages leaves the first's."""
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(insert(ChunkEmbedding).on_conflict_do_nothing(index_elements=["chunk_id"]), rows)


@job("documents.embed")
def embed_passages(tenant_id: str) -> None:
    """Give every passage of the tenant without one a vector of its current model, a batch per
    request; vectors of any other model are dropped first. A provider failure stops the run (the
    sweeper tries again a minute later); a long backlog continues in a new run."""
    tenant = uuid.UUID(tenant_id)
    target = embedding_target(tenant)
    space = space_of(target) if target else None
    db.session.execute(delete(ChunkEmbedding).where(ChunkEmbedding.tenant_id == tenant,
                                                    *([ChunkEmbedding.space != space] if space else [])))
    db.session.commit()
    if target is None:
        return
    for _ in range(BATCHES_PER_RUN):
        batch = db.session.execute(_missing(tenant, space).order_by(Chunk.id).limit(BATCH)).all()
        db.session.commit()  # no transaction stays open while the provider works
        if not batch:
            return
        texts = [f"{row.heading}\n{row.text}" if row.heading else row.text for row in batch]
        try:
            embedded = llm_embeddings.embed(target, texts, **_limits(current_app.config["RAG_LLM_TIMEOUT"]))
        except ProviderFailed as failed:
            current_app.logger.warning("embeddings for tenant %s stopped (%s); retried within a minute", tenant,
                                       failed.detail)
            return
        rows = []
        for row, values in zip(batch, embedded.vectors, strict=True):
            vector = _unit(values, zero=True)
            if vector is None:
                current_app.logger.warning("embeddings for tenant %s: an unusable vector; stopped", tenant)
                return
            rows.append({"chunk_id": row.id, "tenant_id": tenant, "space": space, "vector": pack(vector)})
        _insert(rows)
        usage.add("embedding", model=embedded.model, tenant_id=tenant, tokens_in=embedded.tokens_in,
                  tokens_out=0, cost=usage.cost_of(target.provider, target.model, embedded.tokens_in, 0))
        db.session.commit()
    enqueue("documents.embed", tenant_id)


@job("documents.embed_sweep", every_minute=True)
def sweep() -> None:
    """Queue the job for every organisation with an embedding model whose passages lack vectors."""
    tenants = db.session.scalars(select(ProviderKey.tenant_id).distinct().where(ProviderKey.is_active.is_(True)))
    for tenant in list(tenants):
        target = embedding_target(tenant)
        if target is not None and db.session.execute(_missing(tenant, space_of(target)).limit(1)).first():
            enqueue("documents.embed", str(tenant))
    db.session.commit()
