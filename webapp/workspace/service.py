"""The agent workspace (spec 004): a person's sessions with a coding agent, their transcripts, the
search over them, and the person's workspace settings.

Every function takes the acting person and reaches only that person's agent sessions: another
person's session id is SESSION001, exactly as an id that does not exist. A transcript message keeps
its content as it came (ANSI colours included, for replay) and is searched by the terms of the text
without them (documents/terms.py: Japanese cut into words, like the documents' passages).
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from markupsafe import escape
from sqlalchemy import BigInteger, Float, Integer, String, Text, Uuid, bindparam, column, delete, func, select, text

from webapp.accounts.models import User
from webapp.chats.models import ChatMessage, ChatSession
from webapp.db.base import UTCDateTime, utcnow
from webapp.db.orm import db
from webapp.errors import BadRequest, Conflict, DomainError, NotFound
from webapp.workspace.words import search_terms, term_spans, transcript_terms

KIND = "agent"
STATUSES = ("active", "closed")
MAX_TITLE, MAX_WORKSPACE, MAX_TAGS, MAX_TAG = 200, 200, 20, 50
MAX_METADATA_BYTES = 8 * 1024
DETAIL_MESSAGES = 2000  # the newest messages a session's detail carries
ANSI_RE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


class SessionNotFound(NotFound):
    code = "SESSION001"


class SessionClosed(Conflict):
    code = "SESSION002"


class SessionLimit(DomainError):
    status = 409
    code = "SESSION003"


def invalid(message, field: str) -> BadRequest:
    return BadRequest(message, code="VAL001", field=field, details={"field": field})


def plain(content: str) -> str:
    """What a person reads of terminal output: no ANSI sequences, carriage-return redraws resolved
    to their last state, other control characters but newlines and tabs dropped."""
    lines = []
    for line in ANSI_RE.sub("", content).split("\n"):
        line = line.rstrip("\r").rpartition("\r")[2]
        if not line.isprintable():  # the character loop only when there is something to drop (or a tab)
            line = "".join(c for c in line if c == "\t" or c.isprintable())
        lines.append(line)
    return "\n".join(lines)


# --- Sessions --------------------------------------------------------------------------------


def parse_id(value) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise SessionNotFound(_l("No such session.")) from None


def own_session(person: User, session_id) -> ChatSession:
    session = db.session.get(ChatSession, parse_id(session_id))
    if session is None or session.kind != KIND or session.user_id != person.id:
        raise SessionNotFound(_l("No such session."))
    return session


@dataclass(frozen=True)
class SessionPage:
    sessions: list[tuple[ChatSession, int]]  # (session, its message count)
    page: int
    limit: int
    total: int

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total / self.limit) if self.total else 0


def list_sessions(person: User, *, page: int = 1, limit: int = 20, status: str | None = None) -> SessionPage:
    mine = [ChatSession.user_id == person.id, ChatSession.kind == KIND]
    if status:
        mine.append(ChatSession.status == status)
    total = db.session.scalar(select(func.count()).select_from(ChatSession).where(*mine))
    counts = select(ChatMessage.session_id, func.count().label("n")).group_by(ChatMessage.session_id).subquery()
    rows = db.session.execute(
        select(ChatSession, func.coalesce(counts.c.n, 0)).outerjoin(counts, counts.c.session_id == ChatSession.id)
        .where(*mine).order_by(ChatSession.updated_at.desc(), ChatSession.id).offset((page - 1) * limit).limit(limit))
    return SessionPage([(session, count) for session, count in rows], page, limit, total)


def _title(value: str | None) -> str:
    title = " ".join((value or "").split())
    if len(title) > MAX_TITLE or not title.isprintable():
        raise invalid(_l("A title has at most %(max)s printable characters.", max=MAX_TITLE), "title")
    return title


def create_session(person: User, *, title: str | None = None, workspace: str | None = None,
                   metadata: dict | None = None) -> ChatSession:
    """A new active session. `workspace` is a label the person chooses (the agent's directory is the
    server's own per-session one); `metadata.tags` become the session's tags."""
    import json

    title = _title(title) or str(_l("Session of %(when)s", when=utcnow().strftime("%Y-%m-%d %H:%M")))
    workspace = (workspace or "").strip()
    if len(workspace) > MAX_WORKSPACE or not workspace.isprintable():
        raise invalid(_l("A workspace name has at most %(max)s printable characters.", max=MAX_WORKSPACE), "workspace")
    metadata = metadata or {}
    if len(json.dumps(metadata, ensure_ascii=False).encode()) > MAX_METADATA_BYTES:
        raise invalid(_l("metadata is limited to %(max)s bytes of JSON.", max=MAX_METADATA_BYTES), "metadata")
    tags = metadata.get("tags", [])
    if not isinstance(tags, list) or len(tags) > MAX_TAGS or not all(
            isinstance(tag, str) and 0 < len(tag.strip()) <= MAX_TAG and tag.isprintable() for tag in tags):
        raise invalid(_l("metadata.tags is a list of at most %(max)s short words.", max=MAX_TAGS), "metadata.tags")
    active = db.session.scalar(select(func.count()).select_from(ChatSession).where(
        ChatSession.user_id == person.id, ChatSession.kind == KIND, ChatSession.status == "active"))
    limit = current_app.config["WORKSPACE_MAX_ACTIVE_SESSIONS"]
    if active >= limit:
        raise SessionLimit(_l("You have %(count)s open sessions, the most there may be: close one first.",
                              count=limit))
    session = ChatSession(tenant_id=person.tenant_id, user_id=person.id, kind=KIND, title=title, status="active",
                          meta={"workspace": workspace or None, "tags": [t.strip() for t in tags],
                                "client": {k: v for k, v in metadata.items() if k != "tags"}})
    db.session.add(session)
    db.session.commit()
    return session


def session_detail(person: User, session_id) -> tuple[ChatSession, list[ChatMessage]]:
    session = own_session(person, session_id)
    newest = list(db.session.scalars(select(ChatMessage).where(ChatMessage.session_id == session.id)
                                     .order_by(ChatMessage.id.desc()).limit(DETAIL_MESSAGES)))
    return session, newest[::-1]


def delete_session(person: User, session_id) -> None:
    session = own_session(person, session_id)
    db.session.execute(delete(ChatMessage).where(ChatMessage.session_id == session.id))
    db.session.delete(session)
    db.session.commit()


def close_session(person: User, session_id) -> ChatSession:
    session = own_session(person, session_id)
    if session.status == "closed":
        raise SessionClosed(_l("This session is closed already."))
    session.status, session.updated_at = "closed", utcnow()
    db.session.commit()
    return session


def rename_session(person: User, session_id, title: str) -> ChatSession:
    session = own_session(person, session_id)
    session.title = _title(title) or session.title
    session.updated_at = utcnow()
    db.session.commit()
    return session


def add_message(session: ChatSession, role: str, content: str, *, format: str = "text",
                meta: dict | None = None) -> ChatMessage:
    """One piece of a transcript, in the caller's transaction: the content as it came, its terms
    from the text without ANSI (" " when it has none: "" means not yet, workspace/transcript.py)."""
    terms = transcript_terms(plain(content)) or " "
    message = ChatMessage(session_id=session.id, role=role, content=content.replace("\x00", ""), format=format,
                          meta=meta or {}, terms=terms)
    session.updated_at = utcnow()
    db.session.add(message)
    return message


def session_for_input(person: User, session_id, *, workspace: str | None = None) -> ChatSession:
    """Where a person's message goes: the named session of theirs (SESSION001 otherwise, SESSION002
    when closed), or a new one when none is named."""
    if session_id is None:
        return create_session(person, workspace=workspace)
    session = own_session(person, session_id)
    if session.status == "closed":
        raise SessionClosed(_l("This session is closed already."))
    return session


def record_input(session: ChatSession, content: str) -> ChatMessage:
    """A person's input to the session's agent, committed."""
    message = add_message(session, "user", content)
    db.session.commit()
    return message


def record_decision(session: ChatSession, tool: dict, *, approved: bool, automatic: bool = False) -> ChatMessage:
    """A decision on a tool the agent asked to run, committed: in the transcript as what was
    approved or rejected, with the request in its meta."""
    verdict = "approved" if approved else "rejected"
    message = add_message(session, "user", f"[{verdict}] {tool.get('command') or tool.get('name')}",
                          meta={"approval": {**tool, "approved": approved, "automatic": automatic}})
    db.session.commit()
    return message


# --- Search ----------------------------------------------------------------------------------

_COLUMNS = "m.id, m.uid, m.session_id, m.content, m.created_at"
_FROM = {
    "sqlite": """FROM chat_messages_fts JOIN chat_messages m ON m.id = chat_messages_fts.rowid
        JOIN chat_sessions s ON s.id = m.session_id WHERE chat_messages_fts MATCH :match""",
    "postgresql": """FROM chat_messages m JOIN chat_sessions s ON s.id = m.session_id,
        websearch_to_tsquery('simple', :match) q WHERE m.search_vector @@ q""",
}
_SCORE = {"sqlite": "-bm25(chat_messages_fts)", "postgresql": "ts_rank(m.search_vector, q, 1)"}
_DAY = {"sqlite": "date(m.created_at)", "postgresql": "to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"}


def _statements(dialect: str, session: bool, start: bool, end: bool):
    """The page of hits and the facets (which also count them), for the filters given: fixed SQL,
    every value a bound parameter."""
    where = _FROM[dialect] + " AND s.user_id = :user AND s.kind = 'agent'" + \
        (" AND m.session_id = :session" if session else "") + (" AND m.created_at >= :start" if start else "") + \
        (" AND m.created_at <= :end" if end else "")
    binds = [bindparam("user", type_=Uuid)] + ([bindparam("session", type_=Uuid)] if session else []) + \
        ([bindparam("start", type_=UTCDateTime)] if start else []) + \
        ([bindparam("end", type_=UTCDateTime)] if end else [])
    hits = text(f"SELECT {_COLUMNS}, {_SCORE[dialect]} AS score {where} ORDER BY score DESC, m.id DESC "
                "LIMIT :limit OFFSET :offset").bindparams(*binds).columns(
        column("id", BigInteger), column("uid", Uuid), column("session_id", Uuid), column("content", Text),
        column("created_at", UTCDateTime), column("score", Float))
    facets = text(f"SELECT m.session_id, {_DAY[dialect]} AS day, count(*) AS n {where} GROUP BY 1, 2") \
        .bindparams(*binds).columns(column("session_id", Uuid), column("day", String), column("n", Integer))
    return hits, facets


@dataclass(frozen=True)
class Hit:
    message_id: str
    session_id: str
    content: str
    highlight: str
    timestamp: datetime
    score: float


@dataclass(frozen=True)
class Found:
    hits: list[Hit]
    total: int
    sessions: list[tuple[str, int]]  # facets, most hits first
    dates: list[tuple[str, int]]  # facets, newest day first


def _match(words: list[str], dialect: str) -> str:
    if dialect == "postgresql":
        return " or ".join(f'"{word}"' for word in words)
    return " OR ".join('"' + word.replace('"', '""') + '"' for word in words)


def highlight(content: str, words: list[str], *, width: int = 160) -> str:
    """HTML: an excerpt of the text around its first match, every matching word in <mark>, the rest
    escaped (content from an agent is never markup)."""
    text_ = plain(content)
    found = term_spans(text_, set(words))
    first = found[0][0] if found else 0
    start = max(0, first - width // 3)
    end = min(len(text_), start + width)
    pieces, at = [], start
    for begin, finish in found:
        if begin < at or finish > end:
            continue
        pieces += [str(escape(text_[at:begin])), f"<mark>{escape(text_[begin:finish])}</mark>"]
        at = finish
    pieces.append(str(escape(text_[at:end])))
    return ("…" if start else "") + "".join(pieces) + ("…" if end < len(text_) else "")


def search(person: User, query: str, *, session_id: str | None = None, start: datetime | None = None,
           end: datetime | None = None, page: int = 1, limit: int = 20) -> Found:
    """The person's agent messages matching any word of `query`, best first, with a highlight each,
    and how many matched per session and per day (UTC)."""
    words = search_terms(query)
    session = parse_id(session_id) if session_id else None
    if session is not None:
        own_session(person, session)
    if not words:
        return Found([], 0, [], [])
    dialect = "postgresql" if db.session.get_bind().dialect.name == "postgresql" else "sqlite"
    hits_sql, facets_sql = _statements(dialect, session is not None, start is not None, end is not None)
    params = {"match": _match(words, dialect), "user": person.id, "session": session, "start": start, "end": end}
    params = {k: v for k, v in params.items() if v is not None}
    facets = db.session.execute(facets_sql, params).all()
    rows = db.session.execute(hits_sql, {**params, "limit": limit, "offset": (page - 1) * limit}).all()
    by_session: dict[str, int] = {}
    by_day: dict[str, int] = {}
    for row in facets:
        key = str(row.session_id)
        by_session[key] = by_session.get(key, 0) + row.n
        by_day[str(row.day)] = by_day.get(str(row.day), 0) + row.n
    hits = [Hit(message_id=str(row.uid) if row.uid else str(row.id), session_id=str(row.session_id),
                content=plain(row.content), highlight=highlight(row.content, words), timestamp=row.created_at,
                score=round(float(row.score), 4)) for row in rows]
    return Found(hits, sum(by_session.values()),
                 sorted(by_session.items(), key=lambda item: (-item[1], item[0])),
                 sorted(by_day.items(), reverse=True))


def titles_of(person: User, session_ids: list[str]) -> dict[str, str]:
    """The titles of those of the person's sessions (for search facets)."""
    ids = [uuid.UUID(value) for value in session_ids]  # the search's own facets: valid ids
    rows = db.session.execute(select(ChatSession.id, ChatSession.title).where(
        ChatSession.user_id == person.id, ChatSession.id.in_(ids))) if ids else []
    return {str(session_id): title for session_id, title in rows}
