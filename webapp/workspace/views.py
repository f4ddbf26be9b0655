"""The Workspace pages: a person's agent sessions (create, rename, close, delete), each with a live
terminal (xterm.js over spec 004's Socket.IO events, static/js/workspace.js), the approval card and
a cancel button; the transcript as text; search across sessions; the workspace settings."""

from __future__ import annotations

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from webapp.errors import DomainError
from webapp.web.access import require_sign_in
from webapp.web.forms import ActionForm
from webapp.web.headers import page_csp
from webapp.workspace import replay, runner, service
from webapp.workspace import settings as workspace_settings
from webapp.workspace.forms import RenameForm, SearchForm, SettingsForm

bp = Blueprint("workspace", __name__, url_prefix="/workspace")
require_sign_in(bp)


def _terminal_page(response):
    """xterm.js from the CDN (or its local copy) and the inline styles its renderer writes."""
    response.headers["Content-Security-Policy"] = page_csp(scripts=("xterm", "xterm-fit", "socketio"),
                                                           styles=("xterm-css",), inline_styles=True)
    return response


@bp.get("")
@bp.get("/<session_id>")
def page(session_id: str | None = None):
    listing = service.list_sessions(current_user, page=max(request.args.get("page", 1, type=int) or 1, 1), limit=50)
    current, messages = service.session_detail(current_user, session_id) if session_id else (None, [])
    screen = replay.screen(messages) if current else None
    rename = RenameForm(title=current.title) if current else None
    response = render_template("workspace/page.html", listing=listing, current=current, screen=screen,
                               settings=workspace_settings.settings_of(current_user), rename=rename)
    return _terminal_page(make_response(response)) if current else response


@bp.post("/sessions")
def create():
    form = RenameForm()
    if not form.validate_on_submit():
        abort(400)
    session = service.create_session(current_user, title=form.title.data)
    return redirect(url_for(".page", session_id=session.id), 303)


@bp.post("/<session_id>/rename")
def rename(session_id: str):
    form = RenameForm()
    if not form.validate_on_submit():
        abort(400)
    service.rename_session(current_user, session_id, form.title.data or "")
    return redirect(url_for(".page", session_id=session_id), 303)


@bp.post("/<session_id>/close")
def close(session_id: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    service.close_session(current_user, session_id)
    runner.stop(service.parse_id(session_id))
    return redirect(url_for(".page", session_id=session_id), 303)


@bp.post("/<session_id>/delete")
def delete(session_id: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    service.delete_session(current_user, session_id)
    runner.stop(service.parse_id(session_id))
    return redirect(url_for(".page"), 303)


@bp.get("/<session_id>/transcript")
def transcript(session_id: str):
    current, messages = service.session_detail(current_user, session_id)
    return render_template("workspace/transcript.html", current=current, messages=messages, plain=service.plain)


@bp.get("/search")
def search():
    form = SearchForm(request.args, meta={"csrf": False})
    found = None
    if form.q.data and form.validate():
        found = service.search(current_user, form.q.data, session_id=form.session.data or None,
                               start=form.start_moment, end=form.end_moment, page=form.page.data or 1, limit=20)
    titles = service.titles_of(current_user, [sid for sid, _ in found.sessions]) if found else {}
    return render_template("workspace/search.html", form=form, found=found, titles=titles)


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    current = workspace_settings.settings_of(current_user)
    form = SettingsForm(data=SettingsForm.initial(current))
    form.agent.choices = list(workspace_settings.agent_choices().items())
    if form.validate_on_submit():
        try:
            workspace_settings.update_settings(current_user, form.changes())
        except DomainError as error:
            form.add_domain_error(error)
        else:
            return redirect(url_for(".settings", saved=1), 303)
    return render_template("workspace/settings.html", form=form, saved=request.args.get("saved"))
