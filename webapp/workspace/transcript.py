"""An agent's output in the transcript: stored as it streams, on the hot path, and made searchable.

The worker's writer (writer.py) stores the output and input of all its agents together, in
transactions of one UPDATE of the sessions' updated_at and one multi-row INSERT (SQLAlchemy Core:
the ORM's unit of work, and a commit for each piece, cost more than the writing). The output's
search terms are left to the job consumer, in its own process (`workspace.index`, queued at most
every INDEX_SECONDS while agents stream, and when one settles): at megabytes a second they would
cost the worker more than sending the output does.
A stored piece has `terms == ""` until then; one whose text has no terms gets a single space, so ""
always means "not yet", and the sweeper finds whatever a lost job or a stopped consumer left behind.
"""

from __future__ import annotations

import uuid
from typing import Iterable

from sqlalchemy import bindparam, insert, select, true, update

from webapp.chats.models import ChatMessage, ChatSession
from webapp.db.base import new_uuid, utcnow
from webapp.db.orm import db
from webapp.jobs import enqueue, job
from webapp.workspace.service import plain
from webapp.workspace.words import transcript_terms

PENDING = ""
NONE = " "  # indexed, and nothing in it to find
INDEX_BATCH = 200  # messages read at a time
INDEX_BYTES = 256 * 1024

_sessions, _messages = ChatSession.__table__, ChatMessage.__table__


def terms_of(content: str) -> str:
    return transcript_terms(plain(content)) or NONE


def store(pieces: Iterable[tuple[uuid.UUID, str, str, list | None]]) -> set[uuid.UUID]:
    """Pieces of transcripts (session id, role, content, and for the agent's output where each event
    began and when it was sent), committed together in their order; the sessions they were stored
    for (a session deleted meanwhile drops its pieces). A person's input is short: it is searchable
    at once."""
    pieces = list(pieces)
    now = utcnow()
    # The UPDATE comes first: it locks the sessions (PostgreSQL's rows, SQLite's database), so none of
    # them is deleted between it and the INSERT.
    alive = set(db.session.scalars(update(_sessions).where(_sessions.c.id.in_({piece[0] for piece in pieces}))
                                   .values(updated_at=now).returning(_sessions.c.id)))
    rows = [{"uid": new_uuid(), "session_id": session_id, "role": role, "content": content.replace("\x00", ""),
             "format": "ansi" if role == "assistant" else "text", "meta": {"chunks": chunks} if chunks else {},
             "sources": [], "terms": PENDING if role == "assistant" else terms_of(content), "created_at": now}
            for session_id, role, content, chunks in pieces if session_id in alive]
    if rows:
        db.session.execute(insert(_messages), rows)
    db.session.commit()
    return alive


def queue(session_ids) -> None:
    enqueue("workspace.index", *sorted(map(str, session_ids)))


@job("workspace.index")
def index(*session_ids: str) -> None:
    """The sessions' output still without terms, oldest first."""
    _index(ChatMessage.session_id.in_([uuid.UUID(value) for value in session_ids]))


@job("workspace.index_sweep", every_minute=True)
def sweep() -> None:
    """Index what lost jobs left: agent output still without terms."""
    _index(true())


def _index(which) -> None:
    """Terms for the messages `which` picks that have none, oldest first, about INDEX_BYTES of text
    to a transaction: the worker keeps storing output meanwhile, and under SQLite it waits for the
    write lock with every connection it serves, so the lock is only ever held briefly."""
    after = 0
    while True:
        batch = db.session.execute(select(ChatMessage.id, ChatMessage.content).where(
            which, ChatMessage.terms == PENDING, ChatMessage.id > after).order_by(ChatMessage.id)
            .limit(INDEX_BATCH)).all()
        db.session.rollback()  # the cutting happens outside any transaction
        if not batch:
            return
        size, rows = 0, []
        for message_id, content in batch:
            rows.append({"key": message_id, "value": terms_of(content)})
            size += len(content)
            if size >= INDEX_BYTES or message_id == batch[-1][0]:
                db.session.execute(update(_messages).where(_messages.c.id == bindparam("key"),
                                                           _messages.c.terms == PENDING)
                                   .values(terms=bindparam("value")), rows)
                db.session.commit()
                size, rows = 0, []
        after = batch[-1][0]
