"""The agents' reads kept between requests, and how every process learns they went stale.

An agent asks for the same settings with the same token all day; reading them again each time
costs more than the rest of the request. A worker keeps the rows `together()` fetched (a token's
row and the settings it asks for), each tagged with the *generation* of the data it was read
under. The generation is a counter in Redis: every commit that writes a table those rows come
from bumps it (in whichever process: a worker, the job consumer, the CLI), and every request
reads it in the same round trip as its rate limits. A kept row is used only while the
generation is still the one it was tagged with, so a revoked token, a deactivated person or
changed settings are seen by the next request, in every process.

The tag of rows read from the database is the generation some earlier request saw, before this
read began: if a commit's bump came after it, the tag is older than the generation and the rows
are read again; if it came before, the commit was too, and the rows are new.

Without Redis (the embedded memory:// default) nothing is kept: other processes (the CLI, the
job consumer) could not tell this one of their writes. Rows changed outside the application (SQL
by hand) are seen after AGENT_READ_CACHE_SECONDS at the latest.
"""

from __future__ import annotations

import random
import time
from typing import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import TableClause
from sqlalchemy.sql.util import find_tables

# The tables cacheable statements read; a commit that writes one of them bumps the generation.
WATCHED: set[str] = set()


def watch_tables_of(statement) -> None:
    for found in find_tables(statement, include_joins=True, include_aliases=True):
        table = getattr(found, "original", found)  # an alias's table (a subquery's are found on their own)
        if isinstance(table, TableClause):
            WATCHED.add(table.name)


class ReadCache:
    """One worker's kept rows: key -> (rows, generation tag, when stored)."""

    def __init__(self, *, max_age: float, max_entries: int = 10_000):
        self.max_age, self.max_entries = max_age, max_entries
        self._entries: dict = {}
        # The generation the latest request saw (any request of this process); None before the first.
        self.seen: int | None = None

    def get(self, key) -> tuple[list, int] | None:
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[2] > self.max_age:
            return None
        return entry[0], entry[1]

    def put(self, key, rows: list, tag: int | None) -> None:
        if tag is None:
            return
        if len(self._entries) >= self.max_entries:
            self._entries = {}  # many callers at once (or guessed keys): start over, simply
        # Stored as if up to half the age limit earlier: rows kept together (a worker's first
        # seconds) are read again spread out, not all in the same second.
        self._entries[key] = (rows, tag, time.monotonic() - random.random() * self.max_age / 2)

    def forget(self, key) -> None:
        self._entries.pop(key, None)


_FLAG = "agentdesk.watched_write"
_listeners: list[Callable[[], None]] = []


def watch_commits(on_change: Callable[[], None]) -> None:
    """Call `on_change` after every commit that wrote a watched table through the ORM (objects or
    bulk statements), once per process whatever the number of apps. The application's own Core
    writes off the request path (a token's last use, audit rows) change nothing that is kept and
    go unnoticed on purpose. A flag left by a rolled-back transaction only costs a spare bump."""
    if _listeners:
        _listeners[0] = on_change
        return
    _listeners.append(on_change)
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "do_orm_execute", _bulk)
    event.listen(Session, "after_commit", _after_commit)


def _after_flush(session, _context) -> None:
    for instance in (*session.new, *session.dirty, *session.deleted):
        table = getattr(type(instance), "__table__", None)
        if table is not None and table.name in WATCHED:
            session.info[_FLAG] = True
            return


def _bulk(state) -> None:
    if state.is_update or state.is_delete or state.is_insert:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in WATCHED:
            state.session.info[_FLAG] = True


def _after_commit(session) -> None:
    if session.info.pop(_FLAG, False):
        _listeners[0]()
