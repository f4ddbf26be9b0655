"""Spec 002: agents report their tasks' status, progress, logs, metrics and errors; plus creating and
reading tasks, and the health check. Every answer is spec 002's envelope."""

from __future__ import annotations

from flask import jsonify

from webapp.api import task_schemas as schemas
from webapp.api.credentials import PERSON_OR_AGENT
from webapp.db.base import utcnow
from webapp.machine.blueprint import MachineBlueprint, charge
from webapp.machine.declarations import Reply, body_limit, operation, requires
from webapp.machine.families import TASKS
from webapp.machine.inputs import parse_body, parse_query
from webapp.machine.observe import current_call
from webapp.tasks import queries, service
from webapp.tasks.access import Actor
from webapp.tasks.serialize import error_json, iso, log_json, metric_json, status_json, task_json

bp = MachineBlueprint("api_tasks", __name__, family=TASKS, credentials=[PERSON_OR_AGENT],
                      rate_limits="TASK_RATE_LIMITS")
NOT_FOUND = {404: "TASK_NOT_FOUND: no such task, or not one this credential may see"}
BAD_INPUT = {400: "BAD_REQUEST: the body is not JSON", 422: "VALIDATION_ERROR: a field is missing or out of range"}
WRITE_ERRORS = {**BAD_INPUT, **NOT_FOUND}
PATH = {"path": schemas.TaskPath}


def _ok(data: dict, message: str, status: int = 200):
    response = jsonify({"success": True, "data": data, "message": message, "timestamp": iso(utcnow())})
    response.status_code = status
    return response


def _actor(task_id: str | None = None) -> Actor:
    call = current_call()
    if task_id is not None:
        call.target = f"task:{task_id[:100]}"
    return Actor.of_principal(call.principal)


def _names(raw: str | None) -> tuple[str, ...]:
    """A comma-separated filter (status=QUEUED,processing), each name once, upper-case; the query's
    pattern (task_schemas) has already refused any name that is not one."""
    return tuple(dict.fromkeys(part.upper() for part in (raw or "").split(",") if part))


@bp.post("/api/v1/tasks")
@requires("tasks:write")
@operation("Create a task for a person", "createTask", body=schemas.CreateTaskRequest,
           responses={201: Reply("The new task, QUEUED", schemas.TaskEnvelope)},
           errors={**BAD_INPUT, 404: "USER_NOT_FOUND: no such person, or not one this credential may act for"})
def create_task():
    data = parse_body(schemas.CreateTaskRequest, 'Expected {"title": "...", "description", "user", "priority"}.')
    task = service.create_task(_actor(), title=data.title, description=data.description, for_user=data.user,
                               priority=data.priority)
    current_call().target = f"task:{task.id}"
    return _ok(task_json(task), "Task created", 201)


@bp.get("/api/v1/tasks")
@requires("tasks:read")
@operation("Tasks this credential may see, newest first", "listTasks", query=schemas.TaskListQuery,
           responses={200: Reply("One page; pass nextCursor as cursor for the next", schemas.TaskPageEnvelope)},
           errors={422: "VALIDATION_ERROR: a filter or the cursor is not valid"})
def list_tasks():
    query = parse_query(schemas.TaskListQuery)
    filters = queries.TaskFilter(statuses=_names(query.status), user=query.user,
                                 since=query.since, until=query.until)
    page = queries.list_tasks(_actor(), filters, limit=query.limit, cursor=query.cursor)
    return _ok({"tasks": [task_json(task) for task in page.items], "nextCursor": page.next_cursor},
               f"{len(page.items)} tasks")


@bp.get("/api/v1/tasks/<id>")
@requires("tasks:read")
@operation("A task with its latest logs and errors", "getTask", **PATH,
           responses={200: Reply("The task", schemas.TaskDetailEnvelope)}, errors=NOT_FOUND)
def get_task(id: str):  # noqa: A002 (the spec's name)
    detail = queries.task_detail(_actor(id), id)
    return _ok({**task_json(detail.task), "logs": [log_json(row) for row in detail.logs], "moreLogs": detail.more_logs,
                "errors": [error_json(row) for row in detail.errors],
                "autoFixTaskIds": [str(fix.id) for fix in detail.fixes]}, "Task found")


@bp.patch("/api/v1/tasks/<id>/status")
@requires("tasks:write")
@operation("Change a task's status (QUEUED → PROCESSING → COMPLETED / FAILED)", "updateTaskStatus", **PATH,
           body=schemas.StatusRequest, responses={200: Reply("The task's new state", schemas.StatusEnvelope)},
           errors={**WRITE_ERRORS, 409: "TASK_ALREADY_COMPLETED: the task has finished",
                   422: "INVALID_STATUS_TRANSITION (e.g. QUEUED → COMPLETED), or VALIDATION_ERROR"})
def update_status(id: str):  # noqa: A002
    data = parse_body(schemas.StatusRequest, 'Expected {"status": "PROCESSING|COMPLETED|FAILED", "message", '
                                             '"progress": 0-100}.')
    task = service.change_status(_actor(id), id, status=data.status, message=data.message, progress=data.progress,
                                 started_at=data.startedAt, completed_at=data.completedAt)
    return _ok(status_json(task), "Task status updated")


@bp.patch("/api/v1/tasks/<id>/progress")
@requires("tasks:write")
@operation("Report a running task's progress", "updateTaskProgress", **PATH, body=schemas.ProgressRequest,
           responses={200: Reply("The task's progress", schemas.StatusEnvelope)},
           errors={**WRITE_ERRORS, 409: "TASK_ALREADY_COMPLETED: the task has finished",
                   422: "INVALID_STATUS_TRANSITION: the task has not started, or VALIDATION_ERROR"})
def update_progress(id: str):  # noqa: A002
    data = parse_body(schemas.ProgressRequest, 'Expected {"progress": 0-100, "message", "estimatedTimeRemaining"}.')
    task = service.report_progress(_actor(id), id, progress=data.progress, message=data.message,
                                   estimated_time_remaining=data.estimatedTimeRemaining)
    return _ok(status_json(task), "Progress updated")


@bp.post("/api/v1/tasks/<id>/logs")
@requires("tasks:write")
@body_limit(2 * 1024 * 1024)
@operation("Send a log line, or up to 1000 as {\"logs\": [...]}", "sendTaskLogs", **PATH, body=schemas.LogBody,
           responses={201: Reply("The line, or the batch, as stored", schemas.LogAnswer)},
           errors={**WRITE_ERRORS, 413: "PAYLOAD_TOO_LARGE: over 2 MB",
                   429: "RATE_LIMIT_EXCEEDED: over 1000 log lines a minute (X-RateLimit-*-Lines)"})
def send_logs(id: str):  # noqa: A002
    body = parse_body(schemas.LogBody, 'Expected {"level": "INFO", "message": "..."} or {"logs": [...]}.').root
    batch = isinstance(body, schemas.LogBatchRequest)
    entries = body.logs if batch else [body]
    actor = _actor(id)
    task = queries.get_task(actor, id, with_person=False)  # a refused batch spends none of the line budget
    charge("TASK_LOG_LINES_LIMIT", len(entries))
    logs = service.add_logs(actor, task, [service.LogLine(e.level, e.message, e.timestamp, e.metadata)
                                          for e in entries])
    if batch:
        return _ok({"taskId": str(logs[0].task_id), "count": len(logs), "logs": [log_json(row) for row in logs]},
                   f"{len(logs)} log lines recorded", 201)
    return _ok(log_json(logs[0]), "Log recorded", 201)


@bp.get("/api/v1/tasks/<id>/logs")
@requires("tasks:read")
@operation("A task's log lines, newest page first", "listTaskLogs", **PATH, query=schemas.LogQuery,
           responses={200: Reply("Lines oldest first; nextCursor as `before` gives the older page",
                                 schemas.LogPageEnvelope)},
           errors={**NOT_FOUND, 422: "VALIDATION_ERROR: a filter is not valid"})
def list_logs(id: str):  # noqa: A002
    query = parse_query(schemas.LogQuery)
    page = queries.log_page(_actor(id), id, before=query.before, levels=_names(query.level),
                            search=query.q or "", limit=query.limit)
    return _ok({"logs": [log_json(row) for row in page.items], "nextCursor": page.next_cursor},
               f"{len(page.items)} log lines")


@bp.post("/api/v1/tasks/<id>/metrics")
@requires("tasks:write")
@operation("Send the task's resource use", "sendTaskMetrics", **PATH, body=schemas.MetricRequest,
           responses={201: Reply("The sample as stored", schemas.MetricEnvelope)}, errors=WRITE_ERRORS)
def send_metrics(id: str):  # noqa: A002
    data = parse_body(schemas.MetricRequest, 'Expected {"executionTime", "memoryUsage", "cpuUsage", "diskUsage", '
                                             '"networkUsage", "timestamp"}.')
    metric = service.add_metric(_actor(id), id, measured_at=data.timestamp, execution_time=data.executionTime,
                                memory_usage=data.memoryUsage, cpu_usage=data.cpuUsage, disk_usage=data.diskUsage,
                                network_usage=data.networkUsage)
    return _ok(metric_json(metric), "Metrics recorded", 201)


@bp.post("/api/v1/tasks/<id>/errors")
@requires("tasks:write")
@operation("Report an error; autoFixRequested also creates the task that fixes it", "reportTaskError", **PATH,
           body=schemas.ErrorRequest, responses={201: Reply("The error, with autoFixTaskId (null, and the message "
                                                            "says why, when no fix may be made)",
                                                            schemas.ErrorEnvelope)},
           errors=WRITE_ERRORS)
def report_error(id: str):  # noqa: A002
    data = parse_body(schemas.ErrorRequest, 'Expected {"errorCode": "...", "message": "...", "details", '
                                            '"stackTrace", "autoFixRequested"}.')
    error, no_fix = service.report_error(_actor(id), id, error_code=data.errorCode, message=data.message,
                                         details=data.details, stack_trace=data.stackTrace,
                                         occurred_at=data.timestamp, auto_fix=data.autoFixRequested)
    return _ok(error_json(error), f"Error recorded. No auto-fix task: {no_fix}" if no_fix else "Error recorded", 201)


@bp.post("/api/v1/tasks/<id>/auto-fix")
@requires("tasks:write")
@operation("Create a task that fixes this one's error", "createAutoFixTask", **PATH, body=schemas.AutoFixRequest,
           responses={201: Reply("The auto-fix task, QUEUED", schemas.AutoFixEnvelope)},
           errors={**WRITE_ERRORS, 409: "AUTO_FIX_LIMIT_REACHED: the task is a third-generation fix already"})
def create_auto_fix(id: str):  # noqa: A002
    data = parse_body(schemas.AutoFixRequest, 'Expected {"errorCode": "...", "originalError", "suggestedFix", '
                                              '"priority"}.')
    fix = service.create_auto_fix(_actor(id), id, error_code=data.errorCode, original_error=data.originalError,
                                  suggested_fix=data.suggestedFix, priority=data.priority)
    return _ok(task_json(fix), "Auto-fix task created", 201)
