"""Socket.IO connections: only signed-in people, each joined to the rooms of what they may see.

Handlers only authenticate, unpack, call a service and emit (STYLE.md #6); login_required does
not work here, so `connect` checks the session itself, and `join_task` asks the tasks service, which
answers NotFound for a task the person may not see (issue rule: own, tenant's, all for admins).
"""

from flask_login import current_user
from flask_socketio import ConnectionRefusedError, join_room, leave_room

from webapp.errors import NotFound
from webapp.extensions import socketio
from webapp.tasks import queries
from webapp.tasks.access import Actor
from webapp.tasks.live import INSTANCE_ADMINS, task_room, tenant_admins_room, user_room


@socketio.on("connect")
def connect(auth=None):
    if not current_user.is_authenticated:
        raise ConnectionRefusedError("Sign in first.")
    join_room(user_room(current_user.id))
    if current_user.role == "ADMIN":
        join_room(tenant_admins_room(current_user.tenant_id))
    if current_user.is_admin:
        join_room(INSTANCE_ADMINS)


@socketio.on("join_task")
def join_task(data):
    """Follow one task's page; the answer (the ack) says whether it was allowed."""
    if not current_user.is_authenticated:
        return {"ok": False}
    task_id = data.get("id") if isinstance(data, dict) else None
    try:
        task = queries.get_task(Actor.of_user(current_user), task_id)
    except NotFound:
        return {"ok": False}
    join_room(task_room(task.id))
    return {"ok": True}


@socketio.on("leave_task")
def leave_task(data):
    if isinstance(data, dict) and data.get("id"):
        leave_room(task_room(str(data["id"])[:100]))
