"""Audit rows (and token last-use times) for machine calls, written off the hot path.

Each request appends a row to an in-process queue; a daemon thread inserts what has queued in
one executemany every AUDIT_FLUSH_SECONDS (or sooner when AUDIT_BATCH rows wait), and at exit.
A hard kill loses at most that interval's rows; a clean stop loses none. With AUDIT_ASYNC off
(the test settings) each row is written before the response leaves.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading

from sqlalchemy import insert

from webapp.audit.models import AuditEvent

log = logging.getLogger(__name__)


class AuditSink:
    def __init__(self, engine_getter, *, asynchronous: bool, flush_seconds: float, batch: int):
        self._engine_getter = engine_getter
        self.asynchronous = asynchronous
        self.flush_seconds, self.batch = flush_seconds, batch
        self._queue: queue.SimpleQueue[dict] = queue.SimpleQueue()
        self._last_used: dict[int, object] = {}  # token id -> newest use, merged until the next flush
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = None
        if asynchronous:
            atexit.register(self.flush)

    def write(self, row: dict) -> None:
        if not self.asynchronous:
            self._insert([row])
            return
        self._ensure_thread()
        self._queue.put(row)
        if self._queue.qsize() >= self.batch:
            self._wake.set()

    def token_used(self, token_id: int, when) -> None:
        """Record a token's last use; written with the next batch (at once when not asynchronous)."""
        if not self.asynchronous:
            self._touch({token_id: when})
            return
        self._ensure_thread()
        with self._lock:
            self._last_used[token_id] = when

    def _ensure_thread(self) -> None:
        import os

        # One writer per process (gunicorn forks after the app is built).
        if self._thread is None or self._pid != os.getpid():
            with self._lock:
                if self._thread is None or self._pid != os.getpid():
                    self._pid = os.getpid()
                    self._thread = threading.Thread(target=self._run, name="audit-sink", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            self.flush()

    def flush(self) -> int:
        """Write everything queued so far; returns the number of rows written."""
        rows = []
        while True:
            try:
                rows.append(self._queue.get_nowait())
            except queue.Empty:
                break
        with self._lock:
            touched, self._last_used = self._last_used, {}
        if rows:
            self._insert(rows)
        if touched:
            self._touch(touched)
        return len(rows)

    def _touch(self, touched: dict) -> None:
        from sqlalchemy import bindparam, update

        from webapp.tokens.models import ApiToken

        statement = (update(ApiToken).where(ApiToken.id == bindparam("token_id"))
                     .values(last_used_at=bindparam("when")))
        try:
            with self._engine_getter().begin() as connection:
                connection.execute(statement, [{"token_id": k, "when": v} for k, v in touched.items()])
        except Exception:
            log.exception("could not record the last use of %d token(s)", len(touched))

    def _insert(self, rows: list[dict]) -> None:
        try:
            with self._engine_getter().begin() as connection:
                connection.execute(insert(AuditEvent), rows)
        except Exception:  # never take a request (or the writer thread) down over the audit trail
            log.exception("could not write %d audit event(s)", len(rows))


def init_app(app) -> None:
    from webapp.extensions import db

    def engine():
        with app.app_context():
            return db.engine

    app.extensions["audit_sink"] = AuditSink(engine, asynchronous=app.config["AUDIT_ASYNC"],
                                             flush_seconds=app.config["AUDIT_FLUSH_SECONDS"],
                                             batch=app.config["AUDIT_BATCH"])
