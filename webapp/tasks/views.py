"""Tasks pages: the list (status and person filters, live progress) and a task's page (live log
tail with level filter, search and older pages; metric charts; errors with "create auto-fix task";
the auto-fix lineage). Live updates arrive over Socket.IO (webapp/live/events.py, static/js/tasks.js)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from webapp.errors import DomainError, NotFound
from webapp.remote_addr import client_ip
from webapp.tasks import queries, service
from webapp.tasks.access import Actor
from webapp.tasks.labels import status_context
from webapp.tasks.models import LEVELS, STATUSES
from webapp.tasks.serialize import metric_json, person_label
from webapp.web.access import require_sign_in
from webapp.web.forms import ActionForm
from webapp.web.htmx import is_fragment_request, render_page_or_fragment

bp = Blueprint("tasks", __name__, url_prefix="/tasks")
require_sign_in(bp)
PAGE_SIZE = 25
LOG_PAGE = 100


def _actor() -> Actor:
    return Actor.of_user(current_user)


def _choice(name: str, allowed: tuple[str, ...]) -> str:
    value = request.args.get(name, "").upper()
    return value if value in allowed else ""


def _context(**extra) -> dict:
    return {**status_context(), "levels": LEVELS, "person_label": person_label, **extra}


@bp.get("")
def index():
    status = _choice("status", STATUSES)
    person = request.args.get("user", "").strip()[:300]
    filters = queries.TaskFilter(statuses=(status,) if status else (), user=person or None)
    try:
        page = queries.list_tasks(_actor(), filters, limit=PAGE_SIZE, cursor=request.args.get("cursor") or None)
    except DomainError:  # a cursor that is not ours, or a person reference that is not one
        page = queries.Page([], None)
    sees_others = queries.sees_others(current_user)
    return render_page_or_fragment("tasks/index.html", "tasks/_table.html", listing=page, status_filter=status,
                                   person=person, sees_others=sees_others, **_context())


def _log_filters() -> tuple[tuple[str, ...], str]:
    level = _choice("level", LEVELS)
    return ((level,) if level else ()), request.args.get("q", "").strip()[:200]


@bp.get("/<task_id>")
def detail(task_id: str):
    levels, search = _log_filters()
    try:
        found = queries.task_detail(_actor(), task_id, logs=0, metrics=True)
        logs = queries.log_page(_actor(), found.task, before=request.args.get("before", type=int), levels=levels,
                                search=search, limit=LOG_PAGE)
    except NotFound:
        abort(404)
    return render_page_or_fragment("tasks/detail.html", "tasks/_summary.html", detail=found, logs=logs,
                                   level=levels[0] if levels else "", search=search,
                                   metrics=[metric_json(m) for m in found.metrics], **_context(task=found.task))


@bp.get("/<task_id>/logs")
def logs(task_id: str):
    """Log lines as list items: the newest page for a filter, or the page before `before`."""
    levels, search = _log_filters()
    before = request.args.get("before", type=int)
    try:
        page = queries.log_page(_actor(), task_id, before=before, levels=levels, search=search, limit=LOG_PAGE)
    except NotFound:
        abort(404)
    return render_page_or_fragment("tasks/_log_page.html", "tasks/_log_page.html", logs=page, task_id=task_id,
                                   level=levels[0] if levels else "", search=search)


@bp.get("/<task_id>/errors")
def errors(task_id: str):
    """The errors section, refreshed when an agent reports one (the page itself without HTMX)."""
    if not is_fragment_request():
        return redirect(url_for(".detail", task_id=task_id, _anchor="errors"))
    try:
        found = queries.task_detail(_actor(), task_id, logs=0)
    except NotFound:
        abort(404)
    return render_page_or_fragment("tasks/_errors.html", "tasks/_errors.html", detail=found, task=found.task)


@bp.post("/<task_id>/errors/<int:error_id>/auto-fix")
def auto_fix(task_id: str, error_id: int):
    """Create the task that fixes this error, then open it."""
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        fix, created = service.fix_error(_actor(), task_id, error_id, ip=client_ip())
    except NotFound:
        abort(404)
    except DomainError as refused:  # a fix of a fix of a fix
        flash(str(refused.message), "error")
        return redirect(url_for(".detail", task_id=task_id), 303)
    if created:
        flash(_l("Auto-fix task created. An agent picks it up from the queue."), "success")
    else:
        flash(_l("This error already has its auto-fix task."), "info")
    return redirect(url_for(".detail", task_id=fix.id), 303)
