"""The Socket.IO connections of this process, and a sweep that takes back what their people may
no longer see.

Rooms are checked when a browser connects and when it joins a task, but access can end while the
socket stays open: an account deactivated, signed out everywhere, a password changed (each bumps the
session version), admin rights revoked, a task no longer visible. Every SWEEP_SECONDS the sweep
looks each connection's person up again: a session that ended is disconnected, rooms no longer
allowed are left. Each worker sweeps its own connections, so it works with any number of them.
"""

from __future__ import annotations

import os
import threading
import uuid
from dataclasses import dataclass, field

from sqlalchemy import select

from webapp.accounts.models import User
from webapp.db.orm import db
from webapp.errors import NotFound
from webapp.extensions import socketio_of
from webapp.tasks import queries
from webapp.tasks.access import Actor
from webapp.tasks.live import INSTANCE_ADMINS, task_room, tenant_admins_room

SWEEP_SECONDS = 10
NAMESPACE = "/"


@dataclass
class Connection:
    user_id: uuid.UUID
    session_version: int
    rooms: set[str] = field(default_factory=set)  # the admin rooms it was given
    tasks: set[str] = field(default_factory=set)  # the task pages it follows


class Watch:
    """One app's connections in this process (gunicorn forks workers after the app is built)."""

    def __init__(self, app):
        self.app = app
        self.connections: dict[str, Connection] = {}
        self.lock = threading.Lock()
        self.sweeper_pid: int | None = None

    def connected(self, sid: str, user: User, rooms: set[str]) -> None:
        with self.lock:
            self.connections[sid] = Connection(user.id, user.session_version, set(rooms))
            start = self.sweeper_pid != os.getpid()
            self.sweeper_pid = os.getpid()
        if start:
            socketio_of(self.app).start_background_task(self._run)

    def followed(self, sid: str, task_id) -> None:
        with self.lock:
            if sid in self.connections:
                self.connections[sid].tasks.add(str(task_id))

    def unfollowed(self, sid: str, task_id: str) -> None:
        with self.lock:
            if sid in self.connections:
                self.connections[sid].tasks.discard(task_id)

    def disconnected(self, sid: str) -> None:
        with self.lock:
            self.connections.pop(sid, None)

    def sweep(self) -> int:
        """Check every connection once; returns how many were cut off."""
        with self.lock:
            snapshot = {sid: (c.user_id, c.session_version, set(c.rooms), set(c.tasks))
                        for sid, c in self.connections.items()}
        cut, server = 0, socketio_of(self.app).server
        with self.app.app_context():
            try:
                # One query for everyone connected (a worker may hold thousands of idle sockets).
                ids = {user_id for user_id, _, _, _ in snapshot.values()}
                people = {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(ids)))} \
                    if ids else {}
                for sid, (user_id, version, rooms, tasks) in snapshot.items():
                    user = people.get(user_id)
                    if user is None or not user.active or user.session_version != version:
                        server.disconnect(sid, namespace=NAMESPACE)
                        self.disconnected(sid)
                        cut += 1
                        continue
                    allowed = {INSTANCE_ADMINS} if user.is_admin else set()
                    if user.role == "ADMIN":
                        allowed.add(tenant_admins_room(user.tenant_id))
                    for room in rooms - allowed:
                        server.leave_room(sid, room, namespace=NAMESPACE)
                    actor = Actor.of_user(user)
                    for task_id in tasks:
                        try:
                            queries.get_task(actor, task_id, with_person=False)
                        except NotFound:
                            server.leave_room(sid, task_room(task_id), namespace=NAMESPACE)
                            self.unfollowed(sid, task_id)
                    with self.lock:
                        if sid in self.connections:
                            self.connections[sid].rooms &= allowed
            finally:
                db.session.remove()
        return cut

    def _run(self) -> None:
        socketio = socketio_of(self.app)
        while True:
            socketio.sleep(SWEEP_SECONDS)
            try:
                self.sweep()
            except Exception:  # noqa: BLE001 (a database hiccup must not end the sweeping)
                self.app.logger.exception("socket sweep failed")


def watch_of(app) -> Watch:
    app = getattr(app, "_get_current_object", lambda: app)()  # the app itself, not current_app's proxy
    found = app.extensions.get("agentdesk.watch")
    if found is None:
        found = app.extensions["agentdesk.watch"] = Watch(app)
    return found
