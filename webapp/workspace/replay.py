"""Replay (spec 004 §3.3): the output a client missed while it was away, from the stored transcript.

The runner stores an agent's output in pieces of a second at most; each stored message keeps where each
piece sent to the clients began and that event's timestamp (meta "chunks"), so a client that names
the timestamp of the last output it saw gets exactly what came after it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from webapp.chats.models import ChatMessage, ChatSession
from webapp.db.orm import db

REPLAY_CHARS = 1024 * 1024  # at most this much missed output is sent again: the newest


def output_since(session: ChatSession, since: str) -> list[tuple[str, str]]:
    """The session's stored output after `since` (an output event's timestamp), as the pieces that
    were sent: (content, timestamp)."""
    moment = datetime.fromisoformat(since.replace("Z", "+00:00")) - timedelta(seconds=1)
    rows = db.session.execute(
        select(ChatMessage.content, ChatMessage.meta, ChatMessage.created_at)
        .where(ChatMessage.session_id == session.id, ChatMessage.role == "assistant",
               ChatMessage.created_at >= moment).order_by(ChatMessage.id)).all()
    pieces = []
    for content, meta, created in rows:
        chunks = (meta or {}).get("chunks") or [[0, created.isoformat(timespec="milliseconds")[:23] + "Z"]]
        for (start, stamp), following in zip(chunks, [*chunks[1:], [len(content), None]]):
            if stamp > since:
                pieces.append((content[start:following[0]], stamp))
    return pieces


def joined(pieces: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Consecutive pieces as one (with the last one's timestamp), the newest REPLAY_CHARS at most."""
    text = "".join(content for content, _ in pieces)
    return [(text[-REPLAY_CHARS:], pieces[-1][1])] if text else []


def normal_stamp(value) -> str | None:
    """An output event's timestamp as the server writes them, or None when it is not one."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


SCREEN_CHARS = 512 * 1024  # what the terminal shows of a session's past when its page opens


def screen(messages: list[ChatMessage]) -> dict:
    """The session's output to draw in its terminal (the newest SCREEN_CHARS), and the timestamp of
    its last piece: the page's client asks for what came after it."""
    output = [m for m in messages if m.role == "assistant"]
    text = "".join(m.content for m in output)[-SCREEN_CHARS:]
    since = None
    if output:
        chunks = (output[-1].meta or {}).get("chunks")
        since = chunks[-1][1] if chunks else output[-1].created_at.isoformat(timespec="milliseconds")[:23] + "Z"
    return {"output": text, "since": since}
