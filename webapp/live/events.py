"""Socket.IO connections: only signed-in people, each joined to the rooms of what they may see.

Handlers only authenticate, unpack, call a service and emit (STYLE.md #6); login_required does
not work here, so `connect` checks the session itself, and `join_task` asks the tasks service, which
answers NotFound for a task the person may not see (issue rule: own, tenant's, all for admins).
What a person may see can change while the socket stays open: webapp/live/watch.py sweeps.
"""

from flask import current_app, request
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, join_room, leave_room

from webapp.errors import NotFound
from webapp.live.watch import watch_of
from webapp.tasks import queries
from webapp.tasks.access import Actor
from webapp.workspace import events as workspace_events
from webapp.tasks.live import INSTANCE_ADMINS, task_room, tenant_admins_room, user_room


def connect(auth=None):
    if not current_user.is_authenticated:
        person_id = workspace_events.token_person(auth)  # spec 004: auth {token: "Bearer ..."}
        if person_id is None:
            raise ConnectionRefusedError("Sign in first.")
        join_room(user_room(person_id))
        workspace_events.resume(person_id, auth)
        return
    join_room(user_room(current_user.id))
    workspace_events.resume(current_user.id, auth)
    rooms = set()
    if current_user.role == "ADMIN":
        rooms.add(tenant_admins_room(current_user.tenant_id))
    if current_user.is_admin:
        rooms.add(INSTANCE_ADMINS)
    for room in rooms:
        join_room(room)
    watch_of(current_app).connected(request.sid, current_user, rooms)


def disconnect(*_reason):
    watch_of(current_app).disconnected(request.sid)
    workspace_events.forget(request.sid)


def join_task(data):
    """Follow one task's page; the answer (the ack) says whether it was allowed."""
    if not current_user.is_authenticated:
        return {"ok": False}
    task_id = data.get("id") if isinstance(data, dict) else None
    try:
        task = queries.get_task(Actor.of_user(current_user), task_id, with_person=False)
    except NotFound:
        return {"ok": False}
    join_room(task_room(task.id))
    watch_of(current_app).followed(request.sid, task.id)
    return {"ok": True}


def leave_task(data):
    if isinstance(data, dict) and data.get("id"):
        task_id = str(data["id"])[:100]
        leave_room(task_room(task_id))
        watch_of(current_app).unfollowed(request.sid, task_id)


def register(socketio) -> None:
    """Attach the handlers to an app's SocketIO."""
    for name, handler in (("connect", connect), ("disconnect", disconnect), ("join_task", join_task),
                          ("leave_task", leave_task), ("message", workspace_events.on_message),
                          ("resize", workspace_events.on_resize), ("cancel", workspace_events.on_cancel),
                          ("tool_approval", workspace_events.on_tool_approval)):
        socketio.on_event(name, handler)
