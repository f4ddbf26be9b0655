"""What the task pages hear over Socket.IO, sent after each commit.

Rooms (webapp/live/events.py joins them): `task:<id>` for a task's own page (logs, metrics, errors,
status), and for the task lists the owner's `user:<id>`, the tenant admins' `tenant-admins:<id>` and
the instance admins' `instance-admins`, so each list hears exactly the tasks its reader may see.
With SOCKETIO_MESSAGE_QUEUE set, every worker's clients hear it through Redis.
"""

from __future__ import annotations

import logging

from flask import current_app

from webapp.extensions import socketio_of
from webapp.tasks.serialize import error_json, log_json, metric_json, status_json

log = logging.getLogger(__name__)
INSTANCE_ADMINS = "instance-admins"


def task_room(task_id) -> str:
    return f"task:{task_id}"


def tenant_admins_room(tenant_id) -> str:
    return f"tenant-admins:{tenant_id}"


def user_room(user_id) -> str:
    return f"user:{user_id}"


def _emit(event: str, data: dict, rooms: list[str]) -> None:
    """Best effort: the change is committed whatever happens to the notification."""
    try:
        socketio_of(current_app).emit(event, data, to=rooms)
    except Exception as error:  # noqa: BLE001 (a dead message queue must not fail the agent's call)
        log.warning("live update %s not sent: %s", event, error.__class__.__name__)


def task_changed(task) -> None:
    _emit("task", status_json(task), [task_room(task.id), user_room(task.user_id), tenant_admins_room(task.tenant_id),
                                      INSTANCE_ADMINS])


def logs_added(task, logs) -> None:
    _emit("logs", {"taskId": str(task.id), "logs": [log_json(row) for row in logs]}, [task_room(task.id)])


def metric_added(task, metric) -> None:
    _emit("metric", metric_json(metric), [task_room(task.id)])


def error_added(task, error) -> None:
    _emit("task_error", error_json(error), [task_room(task.id)])
