"""Tasks as spec 002's JSON objects: one whitelist of fields per object, shared by the API answers
and the live updates the task pages hear."""

from __future__ import annotations

from datetime import datetime


def iso(moment: datetime | None) -> str | None:
    """RFC 3339 in UTC: to the second, or the millisecond when the moment has one."""
    if moment is None:
        return None
    return moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds").replace("+00:00", "Z")


def number(value: float | None) -> int | float | None:
    """3600 stays 3600, not 3600.0: a Go client decoding into an int field would refuse the float."""
    return int(value) if value is not None and float(value).is_integer() else value


def person_label(user) -> str:
    """platform:login when the person has one (what agents know them by), else their name."""
    return user.identities[0].user_key if user.identities else user.label


def task_json(task) -> dict:
    return {"id": str(task.id), "title": task.title, "description": task.description, "priority": task.priority,
            "status": task.status, "message": task.message, "progress": task.progress,
            "estimatedTimeRemaining": task.estimated_time_remaining, "startedAt": iso(task.started_at),
            "completedAt": iso(task.completed_at), "createdAt": iso(task.created_at), "updatedAt": iso(task.updated_at),
            "userId": str(task.user_id), "user": person_label(task.person), "tenantId": str(task.tenant_id),
            "originalTaskId": str(task.origin_task_id) if task.origin_task_id else None}


def status_json(task) -> dict:
    """What a status or progress change answers, and what the task lists hear live."""
    return {"id": str(task.id), "title": task.title, "status": task.status, "message": task.message,
            "progress": task.progress, "estimatedTimeRemaining": task.estimated_time_remaining,
            "startedAt": iso(task.started_at), "completedAt": iso(task.completed_at), "updatedAt": iso(task.updated_at)}


def log_json(log) -> dict:
    return {"id": str(log.id), "taskId": str(log.task_id), "level": log.level, "message": log.message,
            "timestamp": iso(log.logged_at), "metadata": log.meta}


def metric_json(metric) -> dict:
    return {"id": str(metric.id), "taskId": str(metric.task_id), "executionTime": number(metric.execution_time),
            "memoryUsage": number(metric.memory_usage), "cpuUsage": number(metric.cpu_usage),
            "diskUsage": number(metric.disk_usage), "networkUsage": number(metric.network_usage),
            "timestamp": iso(metric.measured_at)}


def error_json(error) -> dict:
    return {"id": str(error.id), "taskId": str(error.task_id), "errorCode": error.error_code, "message": error.message,
            "details": error.details, "autoFixTaskId": str(error.auto_fix_task_id) if error.auto_fix_task_id else None,
            "timestamp": iso(error.occurred_at)}
