"""Rows written off the request path: audit events of machine calls, tokens' last use.

Callers hand over a statement and a row; a daemon thread writes what has queued, grouped by
statement into one executemany each, every flush interval (or sooner when a batch is full),
and at exit. A hard kill loses at most one interval; a clean stop loses nothing. Each write is
its own transaction on its own connection, so it never commits (nor waits for) the caller's
session. With `asynchronous` off (the test settings) every row is written before the call returns.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time

from flask import current_app

from webapp.db.orm import db

log = logging.getLogger(__name__)


class BackgroundWriter:
    def __init__(self, engine_getter, *, asynchronous: bool, flush_seconds: float, batch: int):
        self._engine_getter = engine_getter
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
        """Queue one row for `statement` (an INSERT): every row is written."""
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
        if self._thread is None or self._pid != os.getpid():
            with self._lock:
                if self._thread is None or self._pid != os.getpid():
                    self._pid = os.getpid()
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
        return self._execute(groups) if groups else 0

    def _execute(self, groups: dict) -> int:
        written = 0
        for statement, rows in groups.items():
            try:
                with self._engine_getter().begin() as connection:
                    connection.execute(statement, rows)
                written += len(rows)
            except Exception:  # never take a request (or the writer thread) down over these rows
                log.exception("could not write %d row(s) for %s", len(rows), _describe(statement))
        return written


def _describe(statement) -> str:
    table = getattr(statement, "table", None)
    return f"{type(statement).__name__.lower()} into {getattr(table, 'name', '?')}"


def init_app(app) -> None:
    def engine():
        with app.app_context():
            return db.engine

    app.extensions["db_writer"] = BackgroundWriter(engine, asynchronous=app.config["AUDIT_ASYNC"],
                                                   flush_seconds=app.config["AUDIT_FLUSH_SECONDS"],
                                                   batch=app.config["AUDIT_BATCH"])


def writer() -> BackgroundWriter:
    """This application's writer."""
    return current_app.extensions["db_writer"]
