"""A running agent as the runner keeps it (one per session, in the worker that started it), and the
spec 004 server events it sends to its session's room."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from flask import Flask

from webapp.extensions import socketio_of
from webapp.workspace import approval
from webapp.workspace.terminal import Terminal


def room(session_id) -> str:
    return f"agent-session:{session_id}"


def event(kind: str, session_id, payload: dict) -> dict:
    """A spec 004 server event: {type, payload, sessionId}."""
    return {"type": kind, "payload": payload, "sessionId": str(session_id)}


@dataclass(eq=False)  # each one is itself (the writer keeps a set of them)
class Agent:
    app: Flask
    session_id: uuid.UUID
    person_id: uuid.UUID
    locale: str
    process: Terminal
    status: str = "idle"
    sent: int = 0  # messages written to it
    prompts: int = 0  # prompts it printed (one at the start, then one after each message)
    queued: list[str] = field(default_factory=list)  # input held until its first prompt (or a quiet start)
    awaiting_prompt: bool = False  # input reached it: its next prompt means done
    started: float = field(default_factory=time.monotonic)
    deadline: float | None = None  # the current message must be answered by then (monotonic)
    cancelled_at: float | None = None
    output_bytes: int = 0
    last_output: float = field(default_factory=time.monotonic)
    last_sent: float = field(default_factory=time.monotonic)
    profile: approval.Profile | None = None  # how its approval questions read
    trust_all: bool = False  # the person's trustAllTools: low-risk tools are approved without asking
    request: dict | None = None  # the tool_approval_request waiting for the person's decision
    waiting_since: float = 0.0
    # Not stored yet (writer.py), in order: output with its event's timestamp, the person's input with None.
    pending: list[tuple[str, str | None]] = field(default_factory=list)
    pending_bytes: int = 0
    ended: bool = False  # its reader stored the last of it: input is stored at once
    unindexed: bool = False  # output stored since its terms were last queued
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_stamp: datetime | None = None

    def next_stamp(self) -> str:
        """Now, in microseconds, and always later than this agent's previous piece (replay compares)."""
        moment = datetime.now(timezone.utc)
        if self.last_stamp is not None and moment <= self.last_stamp:
            moment = self.last_stamp + timedelta(microseconds=1)
        self.last_stamp = moment
        return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")

    def emit(self, name: str, data: dict) -> None:
        socketio_of(self.app).emit(name, data, to=room(self.session_id))

    def set_status(self, status: str, message: str | None = None) -> None:
        self.status = status
        payload = {"status": status, **({"message": message} if message else {})}
        self.emit("status", event("status", self.session_id, payload))

    def error(self, code: str, message: str, *, retryable: bool) -> None:
        self.emit("error", event("error", self.session_id, {"code": code, "message": message,
                                                           "retryable": retryable}))
