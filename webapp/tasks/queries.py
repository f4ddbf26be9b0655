"""Reading tasks: lists and log pages by keyset (newest first, `before` the last one seen), so a task
with a hundred thousand log lines opens as fast as one with ten. Every query carries the actor's
visibility condition (access.py)."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from webapp.accounts.models import User
from webapp.db.orm import db
from webapp.errors import NotFound, ValidationFailed
from webapp.tasks.access import Actor, person, task_id_of, task_not_found, visible
from webapp.tasks.models import MAX_ID, Task, TaskError, TaskLog, TaskMetric

RECENT_LOGS = 50
RECENT_ERRORS = 20
METRIC_POINTS = 500


@dataclass(frozen=True)
class TaskFilter:
    statuses: tuple[str, ...] = ()
    user: str | None = None  # platform:login or a user id
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Page:
    items: list
    next_cursor: str | None


def _cursor(task: Task) -> str:
    return base64.urlsafe_b64encode(f"{task.created_at.isoformat()}|{task.id}".encode()).decode().rstrip("=")


def _after(cursor: str):
    """The keyset condition for the page after `cursor` (created_at, id descending)."""
    try:
        created, _, task_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition("|")
        created_at, task_id = datetime.fromisoformat(created), uuid.UUID(task_id)
        created_at = created_at.astimezone(timezone.utc) if created_at.tzinfo else created_at.replace(
            tzinfo=timezone.utc)
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed(_l("The cursor is not one this API handed out; start from the first page."),
                               field="cursor") from None
    return or_(Task.created_at < created_at, and_(Task.created_at == created_at, Task.id < task_id))


def list_tasks(actor: Actor, filters: TaskFilter, *, limit: int = 20, cursor: str | None = None) -> Page:
    """The actor's tasks, newest first, `limit` per page."""
    query = select(Task).where(visible(actor)).options(selectinload(Task.person).selectinload(User.identities))
    if filters.statuses:
        query = query.where(Task.status.in_(filters.statuses))
    if filters.user:
        try:
            query = query.where(Task.user_id == person(actor, filters.user).id)
        except NotFound:
            return Page([], None)  # someone the actor cannot see has, for them, no tasks
    if filters.since:
        query = query.where(Task.created_at >= filters.since)
    if filters.until:
        query = query.where(Task.created_at < filters.until)
    if cursor:
        query = query.where(_after(cursor))
    tasks = list(db.session.scalars(query.order_by(Task.created_at.desc(), Task.id.desc()).limit(limit + 1)))
    more = len(tasks) > limit
    tasks = tasks[:limit]
    return Page(tasks, _cursor(tasks[-1]) if more else None)


def get_task(actor: Actor, task_id, *, with_person: bool = True) -> Task:
    """The task, if the actor may see it; else TASK_NOT_FOUND, whether it exists or not."""
    task_id = task_id_of(task_id)
    query = select(Task).where(Task.id == task_id, visible(actor))
    if with_person:
        query = query.options(selectinload(Task.person).selectinload(User.identities))
    task = db.session.scalar(query)
    if task is None:
        raise task_not_found(task_id)
    return task


@dataclass(frozen=True)
class TaskDetail:
    task: Task
    logs: list[TaskLog]  # the most recent, oldest first
    more_logs: bool
    errors: list[TaskError]  # newest first
    fixes: list[Task]  # auto-fix tasks made from this one
    origin: Task | None  # the task this one fixes
    metrics: list[TaskMetric] = field(default_factory=list)


def task_detail(actor: Actor, task_id, *, logs: int = RECENT_LOGS, metrics: bool = False) -> TaskDetail:
    task = get_task(actor, task_id)
    page = log_page(actor, task, limit=logs) if logs else Page([], None)
    errors = list(db.session.scalars(select(TaskError).where(TaskError.task_id == task.id)
                                     .order_by(TaskError.id.desc()).limit(RECENT_ERRORS)))
    fixes = list(db.session.scalars(select(Task).where(Task.origin_task_id == task.id, visible(actor))
                                    .order_by(Task.created_at)))
    origin = db.session.scalar(select(Task).where(Task.id == task.origin_task_id, visible(actor))) \
        if task.origin_task_id else None
    return TaskDetail(task, page.items, page.next_cursor is not None, errors, fixes, origin,
                      metric_series(actor, task) if metrics else [])


def log_page(actor: Actor, task_or_id, *, before: int | None = None, levels: tuple[str, ...] = (),
             search: str = "", limit: int = RECENT_LOGS) -> Page:
    """Up to `limit` log lines before the line `before` (newest first in the query, returned oldest
    first); `next_cursor` is the id to ask before for the page older than this one."""
    task = task_or_id if isinstance(task_or_id, Task) else get_task(actor, task_or_id)
    query = select(TaskLog).where(TaskLog.task_id == task.id)
    if before is not None and not 1 <= before <= MAX_ID:
        return Page([], None)  # no line has such an id
    if before is not None:
        query = query.where(TaskLog.id < before)
    if levels:
        query = query.where(TaskLog.level.in_(levels))
    if search:
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(TaskLog.message.ilike(f"%{escaped}%", escape="\\"))
    rows = list(db.session.scalars(query.order_by(TaskLog.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    rows.reverse()
    return Page(rows, str(rows[0].id) if more and rows else None)


def metric_series(actor: Actor, task_or_id, *, points: int = METRIC_POINTS) -> list[TaskMetric]:
    """The latest `points` samples, oldest first (what the charts draw)."""
    task = task_or_id if isinstance(task_or_id, Task) else get_task(actor, task_or_id)
    rows = list(db.session.scalars(select(TaskMetric).where(TaskMetric.task_id == task.id)
                                   .order_by(TaskMetric.id.desc()).limit(points)))
    rows.reverse()
    return rows


def sees_others(actor_user) -> bool:
    """Whether a person's task list can hold other people's tasks (the list offers a person filter):
    instance admins, and administrators of an organisation with other members."""
    if actor_user.is_admin:
        return True
    if actor_user.role != "ADMIN":
        return False
    return bool(db.session.scalar(select(User.id).where(User.tenant_id == actor_user.tenant_id,
                                                        User.id != actor_user.id).limit(1)))
