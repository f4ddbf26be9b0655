"""Spec 004's Socket.IO events (§3): the person behind a connection, `message`, `resize`, `cancel`,
`tool_approval`, and what a client that comes back missed.

A connection is a signed-in browser (its session cookie) or a client that sent `auth: {token:
"Bearer <accessToken>"}` at connect (checked there; refused otherwise). Each event names or implies
one of the person's agent sessions, checked in the service; the connection joins that session's room
and receives its events only. A malformed payload is answered with an `error` event (WS002), never a
disconnect; more than WORKSPACE_SOCKET_MESSAGES events a minute on one connection get SYS001.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from flask import current_app, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, disconnect, join_room

from webapp.access_tokens import service as jwt_tokens
from webapp.accounts import service as accounts
from webapp.errors import DomainError
from webapp.extensions import socketio_of
from webapp.workspace import agents, replay, runner, service
from webapp.workspace import settings as workspace_settings
from webapp.workspace.terminal import AgentBusy

_PEOPLE: dict[str, Standing] = {}  # sid -> what a token connection signed in with
_CURRENT: dict[str, str] = {}  # sid -> the session its last event named (for resize)
_RECENT: dict[str, deque] = {}  # sid -> times of its recent events
MAX_CONTENT = 64 * 1024


def token_person(auth) -> object | None:
    """A token connection's person id; refuses the connection for a missing or bad token."""
    raw = auth.get("token") if isinstance(auth, dict) else None
    if not isinstance(raw, str) or not raw.strip():
        return None
    token = raw.strip().removeprefix("Bearer ").strip()
    principal = jwt_tokens.authenticate(token)
    if principal is None:
        code = "AUTH002" if jwt_tokens.expired(token) else "AUTH003"
        raise ConnectionRefusedError({"code": code, "message": _("Sign in again: the access token is not valid.")})
    version, expires = jwt_tokens.standing(token)
    _PEOPLE[request.sid] = Standing(principal.user_id, version, expires)
    app = current_app._get_current_object()
    socketio_of(app).start_background_task(_watch, app, request.sid)
    return principal.user_id


def _watch(app, sid: str) -> None:
    """A token connection that only listens sends no event to be checked at: it is checked every
    WORKSPACE_RECHECK_SECONDS (and at its token's expiry), and ended like _person() ends one."""
    while True:
        standing = _PEOPLE.get(sid)
        if standing is None:
            return  # disconnected
        time.sleep(max(0.5, min(app.config["WORKSPACE_RECHECK_SECONDS"], standing.expires - time.time())))
        standing = _PEOPLE.get(sid)
        if standing is None:
            return
        with app.app_context():
            user = accounts.find_user(standing.person_id)
            valid = user is not None and user.active and user.session_version == standing.session_version
            if valid and time.time() < standing.expires:
                continue
            message = _("Sign in again: the access token is not valid any more.")
        socketio = socketio_of(app)  # the account still stands: the token ran out (AUTH002)
        socketio.emit("error", agents.event("error", "", {"code": "AUTH002" if valid else "AUTH003",
                                                          "message": message, "retryable": False}), to=sid)
        forget(sid)
        socketio.server.disconnect(sid, namespace="/")
        return


def forget(sid: str) -> None:
    for table in (_PEOPLE, _CURRENT, _RECENT):
        table.pop(sid, None)


@dataclass(frozen=True)
class Standing:
    """What a token connection signed in with: checked again at every event, since the token's
    person may sign out everywhere, be deactivated, or the token run out while the socket stays."""

    person_id: object
    session_version: int
    expires: int


def _person():
    if current_user.is_authenticated:
        return current_user._get_current_object()
    standing = _PEOPLE.get(request.sid)
    user = accounts.find_user(standing.person_id) if standing else None
    if user is not None and user.active and user.session_version == standing.session_version and \
            time.time() < standing.expires:
        return user
    if standing is not None:  # it was valid at connect: say why it ends, then end it
        expired = time.time() >= standing.expires
        _error("AUTH002" if expired else "AUTH003", _("Sign in again: the access token is not valid any more."))
        disconnect()
    return None


def _error(code: str, message: str, *, retryable: bool = False, session_id: str | None = None) -> None:
    from flask_socketio import emit

    emit("error", agents.event("error", session_id or "", {"code": code, "message": message, "retryable": retryable}))


def _allowed() -> bool:
    recent = _RECENT.setdefault(request.sid, deque())
    now = time.monotonic()
    while recent and now - recent[0] > 60:
        recent.popleft()
    if len(recent) >= current_app.config["WORKSPACE_SOCKET_MESSAGES"]:
        _error("SYS001", _("Too many messages: at most %(count)s a minute.",
                           count=current_app.config["WORKSPACE_SOCKET_MESSAGES"]), retryable=True)
        return False
    recent.append(now)
    return True


def _invalid(what: str) -> None:
    _error("WS002", _("The %(event)s event's data is not valid: %(what)s", event=request.event["message"], what=what))


def _session_of(person, value):
    """The person's session the event names, joined; None (and an error event) otherwise."""
    try:
        session = service.own_session(person, value)
    except DomainError as error:
        _error(error.code, str(error.message), session_id=str(value)[:40])
        return None
    join_room(agents.room(session.id))
    _CURRENT[request.sid] = str(session.id)
    return session


def on_message(data=None):
    person = _person()
    if person is None or not _allowed():
        return
    if not isinstance(data, dict) or not isinstance(data.get("content"), str) or not data["content"].strip():
        return _invalid(_("send {content, sessionId?}"))
    if len(data["content"]) > MAX_CONTENT or "\x00" in data["content"] or not _is_text(data["content"]):
        return _invalid(_("content is at most %(max)s characters of text", max=MAX_CONTENT))
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    workspace = metadata.get("workspace") if isinstance(metadata.get("workspace"), str) else None
    try:
        session = service.session_for_input(person, data.get("sessionId"), workspace=workspace)
    except DomainError as error:
        return _error(error.code, str(error.message), session_id=str(data.get("sessionId") or "")[:40] or None)
    join_room(agents.room(session.id))
    _CURRENT[request.sid] = str(session.id)
    settings = workspace_settings.settings_of(person)["amazonQSettings"]
    agent = runner.running(session.id)
    if agent is None:
        try:
            agent = runner.start(current_app._get_current_object(), session, str(get_locale()),
                                 choice=settings["agent"])
        except runner.AgentMissing:
            return _error("AQ001", _("The agent could not be started: check AGENT_COMMAND on the server."),
                          session_id=str(session.id))
    try:
        runner.send(agent, data["content"], timeout=settings["timeout"], trust_all=settings["trustAllTools"])
    except (AgentBusy, OSError):  # OSError: it exited just now (the next message starts another)
        return _error("AQ002", _("The agent is not taking input: wait for it, or cancel."), retryable=True,
                      session_id=str(session.id))
    runner.record_input(agent, session, data["content"])
    return {"sessionId": str(session.id)}


def _is_text(content: str) -> bool:
    """No lone surrogates (JSON allows "\\ud800"): such a string cannot be typed or stored."""
    try:
        content.encode()
    except UnicodeEncodeError:
        return False
    return True


def on_resize(data=None):
    person = _person()
    if person is None or not _allowed():
        return
    if not isinstance(data, dict) or not all(isinstance(data.get(k), int) and not isinstance(data.get(k), bool)
                                             and 1 <= data[k] <= 1000 for k in ("cols", "rows")):
        return _invalid(_("cols and rows are whole numbers from 1 to 1000"))
    session_id = data.get("sessionId") or _CURRENT.get(request.sid)
    session = _session_of(person, session_id) if session_id else None
    agent = runner.running(session.id) if session else None
    if agent is not None:
        try:
            runner.resize(agent, data["cols"], data["rows"])
        except OSError:
            pass  # it exited just now: there is no terminal to size


def on_cancel(data=None):
    person = _person()
    if person is None or not _allowed():
        return
    if not isinstance(data, dict) or not isinstance(data.get("sessionId"), str):
        return _invalid(_("send {sessionId}"))
    session = _session_of(person, data["sessionId"])
    agent = runner.running(session.id) if session else None
    if agent is not None:
        runner.cancel(agent)


def on_tool_approval(data=None):
    person = _person()
    if person is None or not _allowed():
        return
    if not isinstance(data, dict) or not isinstance(data.get("requestId"), str) or \
            not isinstance(data.get("approved"), bool) or not isinstance(data.get("sessionId"), str):
        return _invalid(_("send {requestId, approved: true or false, sessionId}"))
    session = _session_of(person, data["sessionId"])
    if session is None:
        return
    agent = runner.running(session.id)
    try:
        if agent is None:
            raise runner.NotWaiting(data["requestId"])
        request = runner.answer(agent, data["requestId"], data["approved"])
    except runner.NotWaiting:
        return _error("WS002", _("That approval request is not waiting any more: it was answered, cancelled, "
                                 "or the agent stopped."), session_id=str(session.id))
    except (AgentBusy, OSError):
        return _error("AQ002", _("The agent is not taking input: wait for it, or cancel."), retryable=True,
                      session_id=str(session.id))
    service.record_decision(session, request["tool"], approved=data["approved"])


def resume(person_id, auth) -> None:
    """A connection (new or come back) follows the person's sessions whose agents run here; with
    `auth: {sessionId, since}` it first gets that session's output after `since` (the timestamp of
    the last output event it saw) and any approval request still waiting."""
    from flask_socketio import emit

    for session_id in runner.sessions_of(person_id):
        join_room(agents.room(session_id))
    wanted = auth.get("sessionId") if isinstance(auth, dict) else None
    if not isinstance(wanted, str):
        return
    person = accounts.find_user(person_id)
    try:
        session = service.own_session(person, wanted)
    except DomainError as error:
        return _error(error.code, str(error.message), session_id=wanted[:40])
    _CURRENT[request.sid] = str(session.id)
    runner.missed(session, replay.normal_stamp(auth.get("since")), lambda name, data: emit(name, data),
                  join=lambda: join_room(agents.room(session.id)))
