"""Socket.IO connections: only signed-in people, each joined to their own room.

Handlers only authenticate, unpack, call a service and emit (STYLE.md #6); login_required does
not work here, so `connect` checks the session itself.
"""

from flask_login import current_user
from flask_socketio import join_room

from webapp.extensions import socketio


def user_room(user_id) -> str:
    return f"user:{user_id}"


@socketio.on("connect")
def connect(auth=None):
    if not current_user.is_authenticated:
        raise ConnectionRefusedError("Sign in first.")
    join_room(user_room(current_user.id))
