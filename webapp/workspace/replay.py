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


def output_since(session: ChatSession, since: str | None) -> list[tuple[str, str]]:
    """The session's stored output after `since` (an output event's timestamp; from the start
    without one), as the pieces that were sent: (content, timestamp). Read from the newest back, and
    no further than REPLAY_CHARS: a client that was away for long gets the end."""
    query = select(ChatMessage.content, ChatMessage.meta, ChatMessage.created_at).where(
        ChatMessage.session_id == session.id, ChatMessage.role == "assistant").order_by(ChatMessage.id.desc())
    if since is not None:  # stored at most a second or so after its last piece was sent
        query = query.where(ChatMessage.created_at >= _moment(since) - timedelta(seconds=1))
    rows, size = [], 0
    result = db.session.execute(query.execution_options(yield_per=50))
    for row in result:
        rows.append(row)
        size += len(row.content)
        if size >= REPLAY_CHARS:
            break
    result.close()
    pieces = []
    for content, meta, created in reversed(rows):
        chunks = (meta or {}).get("chunks") or [[0, _stamp(created)]]
        for (start, stamp), following in zip(chunks, [*chunks[1:], [len(content), None]]):
            if since is None or stamp > since:
                pieces.append((content[start:following[0]], stamp))
    return pieces


def _moment(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def joined(pieces: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Consecutive pieces as one (with the last one's timestamp), the newest REPLAY_CHARS at most."""
    text = "".join(content for content, _ in pieces)
    return [(text[-REPLAY_CHARS:], pieces[-1][1])] if text else []


def normal_stamp(value) -> str | None:
    """An output event's timestamp as the server writes them, or None when it is not one."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = _moment(value)
        if moment.tzinfo is None or not 2000 <= moment.year <= 9000:
            return None
        return _stamp(moment)
    except (ValueError, OverflowError):
        return None


SCREEN_CHARS = 512 * 1024  # what the terminal shows of a session's past when its page opens


def screen(messages: list[ChatMessage]) -> dict:
    """The session's output to draw in its terminal (the newest SCREEN_CHARS), and the timestamp of
    its last piece: the page's client asks for what came after it."""
    output = [m for m in messages if m.role == "assistant"]
    text = "".join(m.content for m in output)[-SCREEN_CHARS:]
    since = None
    if output:
        chunks = (output[-1].meta or {}).get("chunks")
        since = chunks[-1][1] if chunks else _stamp(output[-1].created_at)
    return {"output": text, "since": since}
