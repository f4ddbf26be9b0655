"""Admin → Outbox: every e-mail the instance wrote, its delivery state, and its text."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from webapp.mail import service
from webapp.web.access import admin_only
from webapp.web.forms import ActionForm

bp = Blueprint("mail", __name__, url_prefix="/admin/outbox")
admin_only(bp)
PAGE = 100


@bp.get("")
def outbox():
    messages = service.recent(PAGE)
    return render_template("mail/outbox.html", messages=messages, smtp=service.configured())


@bp.get("/<int:message_id>")
def message(message_id: int):
    found = service.get(message_id)
    if found is None:
        abort(404)
    return render_template("mail/message.html", message=found, smtp=service.configured())


@bp.post("/<int:message_id>/retry")
def retry(message_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    if service.retry(message_id) is None:
        abort(404)
    flash(_("Queued for another attempt."), "success")
    return redirect(url_for(".message", message_id=message_id))
