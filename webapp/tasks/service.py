"""Creating tasks and recording what agents report about them (spec 002).

Every change is one statement guarded by the visibility condition (access.py), so a task that is
not the actor's is never touched and answers 404. Status and progress are compare-and-set: the
UPDATE names the statuses it may start from, so two agents racing can never leave a task in a state
the machine does not allow, and nothing is read first and written back. Each function commits once
and then tells the live dashboard (live.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from webapp.audit import service as audit
from webapp.db.base import utcnow
from webapp.db.orm import db
from webapp.errors import Conflict, InvalidTransition, NotFound
from webapp.tasks import live
from webapp.tasks.access import Actor, person, task_id_of, task_not_found, visible
from webapp.tasks.models import FINISHED, MAX_ID, Task, TaskError, TaskLog, TaskMetric
from webapp.tasks.queries import get_task

# status -> the statuses it may be reached from. PROCESSING again only updates message and progress
# (an agent retrying after a timeout must not fail); a task may fail before it starts, but only a
# started one completes.
TRANSITIONS = {"PROCESSING": ("QUEUED", "PROCESSING"), "COMPLETED": ("PROCESSING",), "FAILED": ("QUEUED", "PROCESSING")}
MAX_FIX_DEPTH = 3  # a fix of a fix of a fix, and no further: a failing fix must not breed forever
ALREADY_FINISHED = _l("The task has already finished; its status can no longer change.")
TOO_DEEP = _l("This task is already a fix of a fix of a fix; look at it yourself before trying again.")


def _finished(task_id, status: str) -> Conflict:
    return Conflict(ALREADY_FINISHED, code="TASK_ALREADY_COMPLETED",
                    details=f"Task '{task_id}' is {status}")


def create_task(actor: Actor, *, title: str, description: str = "", for_user: str | None = None,
                priority: str = "MEDIUM") -> Task:
    """A new QUEUED task for `for_user` (platform:login or id; the actor by default)."""
    owner = person(actor, for_user)
    now = utcnow()
    task = Task(tenant_id=owner.tenant_id, user_id=owner.id, created_by_user_id=actor.user.id if actor.user else None,
                created_by_token_id=actor.token_id, title=title, description=description, priority=priority,
                created_at=now, updated_at=now)
    db.session.add(task)
    db.session.commit()
    live.task_changed(task)
    return task


def _transition_refused(actor: Actor, task_id, wanted: str):
    """Why a compare-and-set changed nothing: no such task (for this actor), finished, or not allowed."""
    current = db.session.scalar(select(Task.status).where(Task.id == task_id, visible(actor)))
    db.session.rollback()
    if current is None:
        return task_not_found(task_id)
    if current in FINISHED:
        return _finished(task_id, current)
    if wanted == "PROGRESS":
        return InvalidTransition(_l("Start the task (status PROCESSING) before reporting its progress."),
                                 code="INVALID_STATUS_TRANSITION", details=f"Task '{task_id}' is {current}")
    return InvalidTransition(_l("A %(current)s task cannot become %(wanted)s. Tasks go QUEUED → PROCESSING → "
                                "COMPLETED or FAILED.", current=current, wanted=wanted),
                             code="INVALID_STATUS_TRANSITION", details=f"{current} -> {wanted}")


def _known(moment: datetime | None) -> datetime | None:
    """A client's timestamp in UTC (one without an offset is taken as UTC), or None for none at all
    (Go sends year 1 for an unset time.Time)."""
    if moment is None or moment.year <= 1:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def change_status(actor: Actor, task_id, *, status: str, message: str | None = None, progress: int | None = None,
                  started_at: datetime | None = None, completed_at: datetime | None = None) -> Task:
    """Move the task to `status` if the state machine allows it from where the task is now."""
    task_id = task_id_of(task_id)
    if status not in TRANSITIONS:  # QUEUED: no task goes back
        raise _transition_refused(actor, task_id, status)
    now = utcnow()
    values = {"status": status, "updated_at": now}
    if message is not None:
        values["message"] = message
    if progress is not None:
        values["progress"] = progress
    elif status == "COMPLETED":
        values["progress"] = 100
    if status == "PROCESSING" or _known(started_at):
        # The first start counts: a retried PROCESSING, or Go's startedAt=now on COMPLETED, keeps it.
        values["started_at"] = func.coalesce(Task.started_at, _known(started_at) or now)
    if status in FINISHED:
        values["completed_at"] = _known(completed_at) or now
        values["estimated_time_remaining"] = None
    changed = db.session.scalars(
        update(Task).where(Task.id == task_id, Task.status.in_(TRANSITIONS[status]), visible(actor))
        .values(**values).returning(Task)).first()
    if changed is None:
        raise _transition_refused(actor, task_id, status)
    db.session.commit()
    live.task_changed(changed)
    return changed


def report_progress(actor: Actor, task_id, *, progress: int, message: str | None = None,
                    estimated_time_remaining: int | None = None) -> Task:
    """Progress of a running task (0-100) and, optionally, the seconds it expects to need."""
    task_id = task_id_of(task_id)
    values = {"progress": progress, "estimated_time_remaining": estimated_time_remaining, "updated_at": utcnow()}
    if message is not None:
        values["message"] = message
    changed = db.session.scalars(
        update(Task).where(Task.id == task_id, Task.status == "PROCESSING", visible(actor))
        .values(**values).returning(Task)).first()
    if changed is None:
        raise _transition_refused(actor, task_id, "PROGRESS")
    db.session.commit()
    live.task_changed(changed)
    return changed


@dataclass(frozen=True)
class LogLine:
    level: str
    message: str
    logged_at: datetime | None = None
    meta: dict | None = None


def add_logs(actor: Actor, task: Task | str, lines: list[LogLine]) -> list[TaskLog]:
    """Append log lines (one request's batch, in order) to a task (or its id); lines arrive even
    after the task finished."""
    if not isinstance(task, Task):
        task = get_task(actor, task, with_person=False)
    now = utcnow()
    rows = [{"task_id": task.id, "level": line.level, "message": line.message,
             "logged_at": _known(line.logged_at) or now, "meta": line.meta, "created_at": now} for line in lines]
    try:
        ids = db.session.scalars(insert(TaskLog).returning(TaskLog.id, sort_by_parameter_order=True), rows).all()
        db.session.commit()
    except IntegrityError:  # the task went away in between (its person was deleted)
        db.session.rollback()
        raise task_not_found(task.id) from None
    logs = [TaskLog(id=log_id, **row) for log_id, row in zip(ids, rows)]
    live.logs_added(task, logs)
    return logs


def add_metric(actor: Actor, task_id, *, measured_at: datetime | None = None, **values) -> TaskMetric:
    """One sample of the task's resource use (execution time, memory, CPU, disk, network)."""
    task = get_task(actor, task_id, with_person=False)
    metric = TaskMetric(task_id=task.id, measured_at=_known(measured_at) or utcnow(), **values)
    db.session.add(metric)
    db.session.commit()
    live.metric_added(task, metric)
    return metric


def _auto_fix_title(owner, what: str) -> str:
    with force_locale(owner.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        title = _("Auto-fix: %(what)s", what=what)
    return title if len(title) <= 200 else title[:199] + "…"


def _new_fix(actor: Actor, origin: Task, *, error_code: str, original_error: str, suggested_fix: str,
             priority: str | None) -> Task:
    if origin.fix_depth >= MAX_FIX_DEPTH:
        db.session.rollback()
        raise Conflict(TOO_DEEP, code="AUTO_FIX_LIMIT_REACHED",
                       details=f"Task '{origin.id}' is auto-fix generation {origin.fix_depth}")
    owner = origin.person
    now = utcnow()
    fix = Task(tenant_id=origin.tenant_id, user_id=origin.user_id, origin_task_id=origin.id,
               fix_depth=origin.fix_depth + 1, created_by_user_id=actor.user.id if actor.user else None,
               created_by_token_id=actor.token_id, title=_auto_fix_title(owner, original_error or error_code),
               description=suggested_fix or original_error, priority=priority or origin.priority,
               created_at=now, updated_at=now)
    db.session.add(fix)
    db.session.flush()
    return fix


def create_auto_fix(actor: Actor, task_id, *, error_code: str, original_error: str = "", suggested_fix: str = "",
                    priority: str | None = None) -> Task:
    """A QUEUED task that fixes `task_id`'s error, pointing back at it."""
    origin = get_task(actor, task_id, with_person=False)
    fix = _new_fix(actor, origin, error_code=error_code, original_error=original_error, suggested_fix=suggested_fix,
                   priority=priority)
    db.session.commit()
    live.task_changed(fix)
    return fix


def fix_error(actor: Actor, task_id, error_id: int, *, ip: str) -> tuple[Task, bool]:
    """The auto-fix task of one recorded error (from the task page), and whether it is new: made
    once, however often the button is pressed; the error then points at it."""
    task = get_task(actor, task_id, with_person=False)
    error = db.session.scalar(select(TaskError).where(TaskError.id == error_id, TaskError.task_id == task.id)) \
        if 1 <= error_id <= MAX_ID else None
    if error is None:
        raise NotFound(_l("That error is not one of this task's."), code="ERROR_NOT_FOUND")
    if error.auto_fix_task_id is not None:
        return get_task(actor, error.auto_fix_task_id, with_person=False), False
    fix = _new_fix(actor, task, error_code=error.error_code, original_error=error.message,
                   suggested_fix=error.details, priority=None)
    # Compare-and-set: of two presses racing, one links its fix and the other's is undone.
    linked = db.session.execute(update(TaskError).where(TaskError.id == error.id, TaskError.auto_fix_task_id.is_(None))
                                .values(auto_fix_task_id=fix.id)).rowcount
    if linked != 1:
        db.session.rollback()
        existing = db.session.scalar(select(TaskError.auto_fix_task_id).where(TaskError.id == error_id))
        return get_task(actor, existing, with_person=False), False
    audit.record("task.auto_fix", ip=ip, actor=actor.user, target=str(task.id),
                 details={"auto_fix_task_id": str(fix.id), "error_code": error.error_code})
    db.session.commit()
    live.task_changed(fix)
    return fix, True


def report_error(actor: Actor, task_id, *, error_code: str, message: str, details: str = "", stack_trace: str = "",
                 occurred_at: datetime | None = None, auto_fix: bool = False) -> tuple[TaskError, str | None]:
    """Record an error; with `auto_fix`, also the task that fixes it (one transaction). The error is
    kept even when no fix may be made (a fix of a fix of a fix): the second value says why not."""
    task = get_task(actor, task_id, with_person=False)
    fix, no_fix = None, None
    if auto_fix:
        if task.fix_depth >= MAX_FIX_DEPTH:
            no_fix = str(TOO_DEEP)
        else:
            fix = _new_fix(actor, task, error_code=error_code, original_error=message, suggested_fix=details,
                           priority=None)
    error = TaskError(task_id=task.id, error_code=error_code, message=message, details=details,
                      stack_trace=stack_trace, occurred_at=_known(occurred_at) or utcnow(),
                      auto_fix_task_id=fix.id if fix else None)
    db.session.add(error)
    db.session.commit()
    live.error_added(task, error)
    if fix is not None:
        live.task_changed(fix)
    return error, no_fix


def prune(older_than: datetime, *, batch: int = 5000) -> dict[str, int]:
    """Delete logs and metrics recorded before `older_than`, `batch` rows per transaction so a big
    backlog never holds a long lock; tasks and errors stay."""
    removed = {}
    for model in (TaskLog, TaskMetric):
        total = 0
        while True:
            ids = select(model.id).where(model.created_at < older_than).limit(batch).scalar_subquery()
            count = db.session.execute(delete(model).where(model.id.in_(ids))).rowcount
            db.session.commit()
            total += count
            if count < batch:
                break
        removed[model.__tablename__] = total
    return removed
