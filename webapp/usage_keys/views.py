"""Admin → Usage keys (approve, reject, revoke, usage), the requester's one-time reveal page, and a
signed-in person's own request."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from webapp.errors import DomainError
from webapp.remote_addr import client_ip
from webapp.usage_keys import service
from webapp.usage_keys.forms import ApproveForm, RejectForm
from webapp.web.forms import ActionForm
from webapp.web.htmx import is_fragment_request, render_page_or_fragment

bp = Blueprint("usage_keys", __name__)


def _admin() -> None:
    if not current_user.is_authenticated:
        abort(current_app.login_manager.unauthorized())
    if not current_user.is_admin:
        abort(403)


def _prefix(key_id: int) -> str:
    return f"key{key_id}"  # each pending request's forms get their own field names and ids


def _tab(tab: str, *, failed: int | None = None, form=None, **extra) -> dict:
    """The tab's keys and, for each pending one, its approve and reject forms (the one that was just
    refused keeps what was typed and its errors)."""
    listing = service.listing(current_user, tab)
    quota = current_app.config["USAGE_KEY_DEFAULT_QUOTA"]
    forms = {key.id: {"approve": ApproveForm(formdata=None, prefix=_prefix(key.id), quota=quota),
                      "reject": RejectForm(formdata=None, prefix=_prefix(key.id))}
             for key in listing.keys if key.status == "pending"}
    if form is not None and failed in forms:
        forms[failed]["approve" if isinstance(form, ApproveForm) else "reject"] = form
    return {"listing": listing, "forms": forms, "failed_key": failed, **extra}


@bp.get("/admin/usage-keys")
@login_required
def admin_index():
    _admin()
    return render_page_or_fragment("usage_keys/admin.html", "usage_keys/_tab.html",
                                   **_tab(request.args.get("tab", "pending")))


def _after_change(message: str, tab: str):
    """Back to the tab the admin was on: the tab's fragment for HTMX, else a redirect with a flash."""
    if is_fragment_request():
        return render_template("usage_keys/_tab.html", **_tab(tab, notice=message))
    flash(message, "success")
    return redirect(url_for(".admin_index", tab=tab))


def _refused(error: DomainError, tab: str, form=None, key_id: int | None = None):
    """A decision the service refused: the message beside the form (HTMX), or as a flash."""
    if error.status == 404:
        abort(404)
    if form is not None:
        form.add_domain_error(error)
    return _not_done(tab, form, key_id, None if form is not None else error.message)


def _not_done(tab: str, form, key_id: int | None, message=None):
    if is_fragment_request():
        return make_response(render_template("usage_keys/_tab.html", **_tab(tab, failed=key_id, form=form,
                                                                              error=message)), 422)
    for text in [message] if message else [m for errors in form.errors.values() for m in errors]:
        flash(str(text), "error")
    return redirect(url_for(".admin_index", tab=tab))


@bp.post("/admin/usage-keys/<int:key_id>/approve")
@login_required
def approve(key_id: int):
    _admin()
    form = ApproveForm(prefix=_prefix(key_id))
    if not form.validate_on_submit():
        return _invalid(form, key_id)
    try:
        key = service.approve(current_user, key_id, quota=form.quota.data, expires_on=form.expires_on.data,
                              ip=client_ip())
    except DomainError as error:
        return _refused(error, "pending", form, key_id)
    return _after_change(_("Approved. %(email)s has been sent a one-time link to their key.",
                           email=key.contact_email), "pending")


@bp.post("/admin/usage-keys/<int:key_id>/reject")
@login_required
def reject(key_id: int):
    _admin()
    form = RejectForm(prefix=_prefix(key_id))
    if not form.validate_on_submit():
        return _invalid(form, key_id)
    try:
        key = service.reject(current_user, key_id, reason=form.reason.data, ip=client_ip())
    except DomainError as error:
        return _refused(error, "pending", form, key_id)
    return _after_change(_("Rejected. %(email)s has been told why.", email=key.contact_email), "pending")


def _invalid(form, key_id: int):
    if form.csrf_token.errors:
        abort(400)
    return _not_done("pending", form, key_id)


@bp.post("/admin/usage-keys/<int:key_id>/revoke")
@login_required
def revoke(key_id: int):
    _admin()
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        key = service.revoke(current_user, key_id, ip=client_ip())
    except DomainError as error:
        return _refused(error, "active")
    return _after_change(_("Revoked. Reviews with %(name)s's key are refused from now on.", name=key.contact_name),
                         "active")


@bp.post("/admin/usage-keys/<int:key_id>/link")
@login_required
def send_link(key_id: int):
    _admin()
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        key = service.send_new_link(current_user, key_id, ip=client_ip())
    except DomainError as error:
        return _refused(error, "active")
    return _after_change(_("A new one-time link has been sent to %(email)s; the old one no longer works.",
                           email=key.contact_email), "active")


@bp.get("/admin/usage-keys/<int:key_id>")
@login_required
def key_page(key_id: int):
    _admin()
    try:
        key, days = service.daily_usage(current_user, key_id)
    except DomainError:
        abort(404)
    chart = {"days": [day.isoformat() for day, _ in days], "reviews": [count for _, count in days]}
    return render_template("usage_keys/key.html", key=key, chart=chart, total=sum(chart["reviews"]),
                           today=days[-1][1])


# --- The requester's one-time link ------------------------------------------------------------


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the link is a secret: never pass it on
    return response


@bp.get("/usage-keys/reveal/<signed>")
def reveal_page(signed: str):
    """Opening the link shows a button; only pressing it (a POST) mints the key, so a mail scanner
    that fetches every link cannot use it up."""
    try:
        key = service.open_link(signed)
    except DomainError as error:
        return _no_store(make_response(render_template("usage_keys/reveal.html", error=error.message), error.status))
    return _no_store(make_response(render_template("usage_keys/reveal.html", key=key, signed=signed)))


@bp.post("/usage-keys/reveal/<signed>")
def reveal(signed: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        key, raw = service.reveal(signed, ip=client_ip())
    except DomainError as error:
        return _no_store(make_response(render_template("usage_keys/reveal.html", error=error.message), error.status))
    return _no_store(make_response(render_template("usage_keys/reveal.html", key=key, raw=raw)))


# --- A signed-in person's own request ---------------------------------------------------------


@bp.post("/usage-keys/request")
@login_required
def request_own():
    if not ActionForm().validate_on_submit():
        abort(400)
    if not current_user.email:
        flash(_("Add an e-mail address to your account first: the key's link is sent there."), "error")
        return redirect(url_for("dashboard.index", _anchor="usage-keys"))
    try:
        status = service.request_key(current_user.label[:100], current_user.email,
                                     locale=str(get_locale()), ip=client_ip(), user=current_user)
    except DomainError as error:
        flash(str(error.message), "error")
    else:
        flash(_("Requested. An administrator will review it; the link to your key comes by e-mail.")
              if status == "PENDING" else _("You already have a key. Ask an administrator if you lost it."),
              "success" if status == "PENDING" else "info")
    return redirect(url_for("dashboard.index", _anchor="usage-keys"))
