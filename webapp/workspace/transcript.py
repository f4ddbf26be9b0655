"""An agent's output in the transcript: stored as it streams, on the hot path, and made searchable.

A piece of output is one INSERT (SQLAlchemy Core: the ORM's unit of work cost more than the write)
and the session's updated_at. Its search terms: cutting ASCII text costs little (words.py), so an
ASCII piece is indexed at once; Japanese costs about 0.4 ms a kilobyte, and agents print megabytes,
so a piece with other text is stored without terms (`terms == ""`) and the job consumer works them
out (`workspace.index`, queued for the session at most every INDEX_SECONDS while it streams, and
when it settles). A message whose text has no terms gets a single space, so "" always means "not
yet", and the sweeper finds whatever a lost job or a stopped consumer left behind.
"""

from __future__ import annotations

import uuid

from sqlalchemy import insert, select, update

from webapp.chats.models import ChatMessage, ChatSession
from webapp.db.base import new_uuid, utcnow
from webapp.db.orm import db
from webapp.jobs import enqueue, job
from webapp.workspace.service import plain
from webapp.workspace.words import transcript_terms

PENDING = ""
NONE = " "  # indexed, and nothing in it to find
SWEEP_BATCH = 500


def terms_of(content: str) -> str:
    return transcript_terms(plain(content)) or NONE


def store_output(session_id: uuid.UUID, content: str, chunks: list) -> bool | None:
    """One piece of the agent's output, committed: False when the session is gone (deleted
    meanwhile), True when its terms are still to be worked out, None when it is searchable now."""
    now = utcnow()
    if not db.session.execute(update(ChatSession).where(ChatSession.id == session_id)
                              .values(updated_at=now)).rowcount:
        db.session.rollback()
        return False
    content = content.replace("\x00", "")
    later = not content.isascii()
    db.session.execute(insert(ChatMessage).values(
        uid=new_uuid(), session_id=session_id, role="assistant", content=content, format="ansi",
        meta={"chunks": chunks}, sources=[], terms=PENDING if later else terms_of(content), created_at=now))
    db.session.commit()
    return True if later else None


def queue(session_id) -> None:
    enqueue("workspace.index", str(session_id))


@job("workspace.index")
def index(session_id: str) -> None:
    """The session's output still without terms, oldest first."""
    waiting = list(db.session.scalars(select(ChatMessage.id).where(
        ChatMessage.session_id == uuid.UUID(session_id), ChatMessage.terms == PENDING).order_by(ChatMessage.id)))
    for message_id in waiting:
        _index(message_id)


def _index(message_id: int) -> None:
    content = db.session.scalar(select(ChatMessage.content).where(ChatMessage.id == message_id,
                                                                  ChatMessage.terms == PENDING))
    if content is None:
        return  # deleted meanwhile, or indexed already
    db.session.execute(update(ChatMessage).where(ChatMessage.id == message_id, ChatMessage.terms == PENDING)
                       .values(terms=terms_of(content)))
    db.session.commit()


@job("workspace.index_sweep", every_minute=True)
def sweep() -> None:
    """Index what lost jobs left: agent output still without terms."""
    waiting = list(db.session.scalars(select(ChatMessage.id).where(ChatMessage.terms == PENDING)
                                      .order_by(ChatMessage.id).limit(SWEEP_BATCH)))
    for message_id in waiting:
        _index(message_id)
