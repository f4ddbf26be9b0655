"""Rows written off the request path: audit events of machine calls, tokens' last use.

Callers hand over a statement and a row; a daemon thread writes what has queued, grouped by
statement into one executemany each, every flush interval (or sooner when a batch is full),
and at exit. A hard kill loses at most one interval; a clean stop loses nothing. Each write is
its own transaction on its own connection, so it never commits (nor waits for) the caller's
session. With `asynchronous` off (the test settings) every row is written before the call returns.

When the database refuses a write (locked, restarting, unreachable) the rows go to a JSON-lines
spill file (mode 600) and are replayed, oldest first, once a write succeeds again or after a
backoff; /metrics counts what was delayed, replayed and lost (rows neither written nor spilled).
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

import orjson
from flask import current_app
from prometheus_client import Counter
from sqlalchemy import Insert

from webapp.db.orm import db

log = logging.getLogger(__name__)

DELAYED = Counter("agentdesk_db_writer_rows_delayed_total",
                  "Rows the database refused for now, kept in the spill file to be written later.", ["table"])
REPLAYED = Counter("agentdesk_db_writer_rows_replayed_total", "Spilled rows written after all.", ["table"])
LOST = Counter("agentdesk_db_writer_rows_lost_total", "Rows that could be neither written nor spilled.", ["table"])
MAX_BACKOFF = 60.0
CHUNK = 50

# Statements by name, so that spilled rows can be replayed by another process after a restart.
STATEMENTS: dict[str, object] = {}


def replayable(statement):
    """Register a statement whose rows may be spilled (every statement given to the writer)."""
    STATEMENTS[_describe(statement)] = statement
    return statement


def _encode(row: dict) -> dict:
    return {k: {"$dt": v.isoformat()} if isinstance(v, datetime) else {"$uuid": str(v)} if isinstance(v, uuid.UUID)
            else v for k, v in row.items()}


def _decode(row: dict) -> dict:
    def value(v):
        if isinstance(v, dict) and len(v) == 1:
            if "$dt" in v:
                return datetime.fromisoformat(v["$dt"])
            if "$uuid" in v:
                return uuid.UUID(v["$uuid"])
        return v
    return {k: value(v) for k, v in row.items()}


class BackgroundWriter:
    def __init__(self, engine_getter, *, asynchronous: bool, flush_seconds: float, batch: int,
                 spill_path: str | Path | None = None):
        self._engine_getter = engine_getter
        self.spill_path = Path(spill_path) if spill_path else None
        self._spill_lock = threading.Lock()
        self._backoff, self._next_replay = flush_seconds, 0.0
        self.asynchronous = asynchronous
        self.flush_seconds, self.batch = flush_seconds, batch
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._latest: dict[tuple, tuple] = {}  # (statement, key) -> (statement, row), last write wins
        self._tallies: dict[tuple, list] = {}  # (statement, key) -> [statement, row, window end]
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = None
        if asynchronous:
            atexit.register(self.flush, final=True)

    def append(self, statement, row: dict) -> None:
        """Queue one row for `statement` (a plain INSERT, the row holding its columns' values): every
        row is written."""
        if not self.asynchronous:
            self._execute({statement: [row]})
            return
        self._ensure_thread()
        self._queue.put((statement, row))
        if self._queue.qsize() >= self.batch:
            self._wake.set()

    def keep_latest(self, statement, key, row: dict) -> None:
        """Queue `row` for `statement` (an UPDATE), replacing any row queued under the same key."""
        if not self.asynchronous:
            self._execute({statement: [row]})
            return
        self._ensure_thread()
        with self._lock:
            self._latest[(statement, key)] = (statement, row)

    def tally(self, statement, key, row: dict, merge, window_end: float) -> None:
        """Count events under `key` into one row for `statement`, written once its window has ended
        (or at exit): `merge(existing, row)` folds a new event into the row already waiting."""
        with self._lock:
            waiting = self._tallies.get((statement, key))
            if waiting is None:
                self._tallies[(statement, key)] = [statement, row, window_end]
            else:
                merge(waiting[1], row)
        if not self.asynchronous:
            self._execute(self._ended_tallies(time.time()))
        else:
            self._ensure_thread()

    def _ended_tallies(self, now: float | None) -> dict:
        """The tallies whose window ended by `now` (all of them for None), taken out for writing."""
        groups: dict = {}
        with self._lock:
            for key, (statement, row, window_end) in list(self._tallies.items()):
                if now is None or window_end <= now:
                    del self._tallies[key]
                    groups.setdefault(statement, []).append(row)
        return groups

    def _ensure_thread(self) -> None:
        # One writer thread per process: gunicorn forks after the app is built.
        if self._thread is None or self._pid != _pid:
            with self._lock:
                if self._thread is None or self._pid != _pid:
                    self._pid = _pid
                    self._thread = threading.Thread(target=self._run, name="db-writer", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            self.flush()

    def flush(self, *, final: bool = False) -> int:
        """Write everything queued so far, and the tallies whose window has ended (all of them when
        `final`); returns the number of rows handed to the database."""
        groups: dict[object, list[dict]] = self._ended_tallies(None if final else time.time())
        while True:
            try:
                statement, row = self._queue.get_nowait()
            except queue.Empty:
                break
            groups.setdefault(statement, []).append(row)
        with self._lock:
            latest, self._latest = self._latest, {}
        for statement, row in latest.values():
            groups.setdefault(statement, []).append(row)
        written = self._execute(groups) if groups else 0
        if not groups and time.monotonic() >= self._next_replay:
            self._replay()
        return written

    def _write(self, statement, rows: list[dict]) -> None:
        """In transactions of CHUNK rows, yielding between them: under gevent a long batch would
        otherwise hold every other request for its whole duration."""
        for start in range(0, len(rows), CHUNK):
            with self._engine_getter().begin() as connection:
                if not _copied(connection, statement, rows[start:start + CHUNK]):
                    connection.execute(statement, rows[start:start + CHUNK])
            if start + CHUNK < len(rows):
                time.sleep(0)

    def _execute(self, groups: dict) -> int:
        """Write each group; spill what the database refuses; replay the spill after a success."""
        written, failed = 0, False
        for statement, rows in groups.items():
            try:
                self._write(statement, rows)
                written += len(rows)
            except Exception as error:  # never take a request (or the writer thread) down over these rows
                failed = True
                log.warning("could not write %d row(s) for %s (%s): keeping them to write later",
                            len(rows), _describe(statement), error.__class__.__name__)
                self._spill(statement, rows)
        if failed:
            self._next_replay = time.monotonic() + self._backoff
            self._backoff = min(self._backoff * 2, MAX_BACKOFF)
        elif written:
            self._replay()
        return written

    def _spill(self, statement, rows: list[dict]) -> None:
        name = _describe(statement)
        STATEMENTS.setdefault(name, statement)
        try:
            if self.spill_path is None:
                raise OSError("no spill file configured")
            lines = b"".join(orjson.dumps({"statement": name, "row": _encode(row)}) + b"\n" for row in rows)
            with self._spill_lock:
                fd = os.open(self.spill_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                with os.fdopen(fd, "ab") as spill:
                    spill.write(lines)
            DELAYED.labels(_table(statement)).inc(len(rows))
        except (OSError, TypeError) as error:
            LOST.labels(_table(statement)).inc(len(rows))
            log.error("lost %d row(s) for %s: could not spill them either (%s)", len(rows), name, error)

    def pending(self) -> int:
        """Rows waiting in the spill file."""
        try:
            with self._spill_lock, open(self.spill_path, "rb") as spill:
                return sum(1 for _ in spill)
        except (OSError, TypeError):
            return 0

    def _replay(self) -> int:
        """Write the spilled rows, oldest first; on success the file goes, on failure it stays."""
        if self.spill_path is None or not self.spill_path.exists():
            return 0
        with self._spill_lock:
            try:
                entries = [orjson.loads(line) for line in self.spill_path.read_bytes().splitlines() if line.strip()]
            except (OSError, orjson.JSONDecodeError) as error:
                log.error("could not read the spill file %s: %s", self.spill_path, error)
                return 0
            groups: dict[str, list[dict]] = {}
            for entry in entries:
                groups.setdefault(entry["statement"], []).append(_decode(entry["row"]))
            try:
                for name, rows in groups.items():
                    self._write(STATEMENTS[name], rows)
            except Exception as error:
                self._next_replay = time.monotonic() + self._backoff
                self._backoff = min(self._backoff * 2, MAX_BACKOFF)
                log.warning("spilled rows still not written (%s); retrying in %.0f s", error.__class__.__name__,
                            self._backoff)
                return 0
            self.spill_path.unlink()
        self._backoff = self.flush_seconds
        for name, rows in groups.items():
            REPLAYED.labels(_table(STATEMENTS[name])).inc(len(rows))
        log.info("wrote %d spilled row(s)", len(entries))
        return len(entries)


def _table(statement) -> str:
    return getattr(getattr(statement, "table", None), "name", "?")


def _copied(connection, statement, rows: list[dict]) -> bool:
    """Rows of a plain INSERT sent with PostgreSQL's COPY, in the caller's transaction: one stream
    instead of a statement a row (the machine calls' audit rows, hundreds a second, cost the worker
    a tenth of its CPU as executemany). False, doing nothing, elsewhere (SQLite, UPDATEs, rows of
    differing columns)."""
    if connection.dialect.name != "postgresql" or not isinstance(statement, Insert):
        return False
    names = list(rows[0])
    if any(row.keys() != rows[0].keys() for row in rows):
        return False
    from psycopg import sql

    table, dialect = statement.table, connection.dialect
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
    command = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table.name),
                                                       sql.SQL(", ").join(map(sql.Identifier, names)))
    with connection.connection.driver_connection.cursor() as cursor, cursor.copy(command) as copy:
        for row in rows:
            copy.write_row([process(row[name]) if process else row[name] for process, name in zip(processors, names)])
    return True


def _describe(statement) -> str:
    return f"{type(statement).__name__.lower()} into {_table(statement)}"


# This process's id, kept current across forks: asked on every queued row, and os.getpid() is a
# system call each time.
_pid = os.getpid()


def _forked() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)


def init_app(app) -> None:
    def engine():
        with app.app_context():
            return db.engine

    app.extensions["db_writer"] = BackgroundWriter(engine, asynchronous=app.config["AUDIT_ASYNC"],
                                                   flush_seconds=app.config["AUDIT_FLUSH_SECONDS"],
                                                   batch=app.config["AUDIT_BATCH"],
                                                   spill_path=app.config["DB_WRITER_SPILL_PATH"])


def writer() -> BackgroundWriter:
    """This application's writer."""
    return current_app.extensions["db_writer"]
