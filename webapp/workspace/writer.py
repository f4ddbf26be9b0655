"""The worker's transcript writer: the output of all the agents a worker runs, stored together.

Each agent's output waits in `agent.pending` (with the timestamps its events carried), and so does
the person's input, in its place (a message costs no commit of its own). A round stores what all of
them have: every FLUSH_SECONDS, and sooner when one has FLUSH_BYTES waiting or input. When one
settles (prints its prompt, asks for approval, exits) the agent waits for the next round, so that
what it printed is in the transcript before its status says so; fifty agents settling at once share
a round. A round writes transactions of about STORE_BYTES (one UPDATE of the sessions' updated_at
and one multi-row INSERT each, transcript.store) with the event loop's other work between them:
SQLite writes in place, and one transaction of megabytes would hold every connection of the worker.
A piece leaves `pending` once its transaction has committed (a failed one leaves it for the next
round); a client's replay meanwhile skips pending pieces already stored (runner.missed). Search
terms are queued for the job consumer at most every INDEX_SECONDS, and at once on settling.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time

from webapp.extensions import socketio_of
from webapp.workspace import transcript
from webapp.workspace.agents import Agent

log = logging.getLogger(__name__)

FLUSH_SECONDS, FLUSH_BYTES = 1.0, 64 * 1024
STORE_BYTES = 256 * 1024
INDEX_SECONDS = 2.0
SETTLE_WAIT = 10.0  # a settling agent goes on after this even if the database does not answer


class Writer:
    def __init__(self):
        self.agents: set[Agent] = set()  # every agent started in this worker whose output may wait
        self._wake = threading.Event()
        self._rounds = threading.Condition()
        self._storing = threading.Lock()  # one round at a time: the writer's, or the last one at exit
        self._started = self._finished = 0
        self._queued = 0.0
        self._stopping = False

    def nudge(self, agent: Agent, *, now: bool = False) -> None:
        """The agent has more waiting: a round now if it is FLUSH_BYTES (or the caller says so)."""
        if now or agent.pending_bytes >= FLUSH_BYTES:
            self._wake.set()

    def store_now(self, agent: Agent) -> None:
        """Until a round that starts after this call has stored the agent's output so far (or failed,
        or SETTLE_WAIT passed: the agent goes on, its pieces stay pending for the rounds after);
        then its search terms are queued."""
        with self._rounds:
            wanted = self._started + 1
            self._wake.set()
            self._rounds.wait_for(lambda: self._finished >= wanted, SETTLE_WAIT)
        if agent.unindexed:
            agent.unindexed = False
            with agent.app.app_context():
                transcript.queue([agent.session_id])

    def stop(self) -> None:
        """The last round, now, in the caller (the worker is stopping: the greenlet may not run again)."""
        self._stopping = True
        if self._storing.acquire(timeout=SETTLE_WAIT):
            try:
                self._round()
            finally:
                self._storing.release()

    def run(self) -> None:
        while not self._stopping:
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            with self._rounds:
                self._started += 1
                current = self._started
            try:
                with self._storing:
                    self._round()
            finally:
                with self._rounds:
                    self._finished = current
                    self._rounds.notify_all()

    def _round(self) -> None:
        """Every agent's pending pieces, in transactions of about STORE_BYTES (one agent's may be cut
        into several, in order); a transaction the database refuses leaves its pieces pending, and
        the agents in it wait for the next round (to keep their order) while the others go on.
        Agents that ended with nothing left are forgotten."""
        batches, batch, size = [], [], 0
        for agent in sorted(list(self.agents), key=lambda agent: (id(agent.app), agent.started)):  # an app a batch
            with agent.lock:
                held = list(agent.pending)
            for piece in held:
                if batch and (size >= STORE_BYTES or batch[-1][0].app is not agent.app):
                    batches.append(batch)
                    batch, size = [], 0
                if not batch or batch[-1][0] is not agent:
                    batch.append((agent, []))
                batch[-1][1].append(piece)
                size += len(piece[0])
        batches += [batch] if batch else []
        failed = set()
        for n, batch in enumerate(batches):
            if n:
                time.sleep(0)  # under gevent: the worker's other connections, between two transactions
            batch = [(agent, held) for agent, held in batch if agent not in failed]  # their order
            if not batch:
                continue
            try:
                _store(batch[0][0].app, batch)
            except Exception:  # noqa: BLE001 (the database refused: these pieces stay pending, tried again)
                log.exception("workspace: agent output not stored")
                failed |= {agent for agent, _ in batch}
        for agent in list(self.agents):
            if agent.ended and not agent.pending:
                self.agents.discard(agent)
        unindexed = [agent for agent in list(self.agents) if agent.unindexed]  # a copy: agents start meanwhile
        if unindexed and time.monotonic() - self._queued >= INDEX_SECONDS:
            self._queued = time.monotonic()
            for agent in unindexed:
                agent.unindexed = False
            for app in {id(agent.app): agent.app for agent in unindexed}.values():
                with app.app_context():
                    transcript.queue([agent.session_id for agent in unindexed if agent.app is app])


def _store(app, batch: list[tuple[Agent, list]]) -> None:
    with app.app_context():  # a deleted session's pieces are dropped (they were only shown)
        stored = transcript.store([row for agent, held in batch for row in _rows(agent, held)])
    for agent, held in batch:
        with agent.lock:
            del agent.pending[:len(held)]
            agent.pending_bytes = sum(len(text) for text, _ in agent.pending)
        agent.unindexed |= agent.session_id in stored


def _rows(agent: Agent, held: list[tuple[str, str | None]]) -> list[tuple]:
    """What to store of an agent's pending pieces: each run of output as one message, with where each
    piece began and when it was sent; each input as a message of its own, in its place."""
    rows = []
    for is_input, run in itertools.groupby(held, key=lambda piece: piece[1] is None):
        run = list(run)
        if is_input:
            rows += [(agent.session_id, "user", text, None) for text, _ in run]
            continue
        chunks, offset = [], 0
        for text, stamp in run:
            chunks.append([offset, stamp])
            offset += len(text)
        rows.append((agent.session_id, "assistant", "".join(text for text, _ in run), chunks))
    return rows


_WRITER: list[Writer] = []
_STARTING = threading.Lock()


def watch(agent: Agent) -> None:
    """An agent started in this worker: its output is stored from now on (one writer a process,
    started with the first agent; each piece is stored in its own agent's app)."""
    with _STARTING:
        if not _WRITER:
            _WRITER.append(Writer())
            socketio_of(agent.app).start_background_task(_WRITER[0].run)
        _WRITER[0].agents.add(agent)


def nudge(agent: Agent, *, now: bool = False) -> None:
    if _WRITER:
        _WRITER[0].nudge(agent, now=now)


def store_now(agent: Agent) -> None:
    if _WRITER:  # none once the worker has stopped
        _WRITER[0].store_now(agent)


def stop() -> None:
    if _WRITER:
        _WRITER.pop().stop()
