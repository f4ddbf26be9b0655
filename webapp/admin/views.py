"""Admin → Users: search, filter, paginate, activate, promote, pre-provision (HTMX); one user's page."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.accounts import identities, service
from webapp.accounts.logins import PLATFORM_NAMES
from webapp.admin.forms import PreprovisionForm
from webapp.audit import service as audit
from webapp.audit.labels import action_label
from webapp.llm_configs import agents
from webapp.tokens import service as tokens
from webapp.errors import DomainError
from webapp.remote_addr import client_ip
from webapp.web.access import admin_only
from webapp.web.forms import ActionForm
from webapp.web.htmx import is_fragment_request, render_page_or_fragment
from webapp.web.query import int_arg, kept_args

bp = Blueprint("admin", __name__, url_prefix="/admin")

admin_only(bp)


def _tristate(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


def _user_filter() -> service.UserFilter:
    args = request.args
    sort = args.get("sort", "")
    return service.UserFilter(q=args.get("q", "")[:200], active=_tristate(args.get("active")),
                              admin=_tristate(args.get("admin")), platform=args.get("platform", ""),
                              sort=sort if sort.lstrip("-") in service.USER_SORTS else "-created")


@bp.get("/users")
def users():
    filters = _user_filter()
    pagination = service.search_users(filters, int_arg("page", default=1, high=100_000),
                                      current_app.config["ADMIN_PAGE_SIZE"])
    return render_page_or_fragment("admin/users.html", "admin/_users_table.html", pagination=pagination,
                                   args=request.args, query=kept_args("q", "active", "admin", "platform", "sort"),
                                   sort=filters.sort,
                                   form=PreprovisionForm(), renamed_admins=identities.admin_grants_renamed_away())


@bp.get("/users/<uuid:user_id>")
def user_page(user_id):
    return _user_page(_get_user(user_id))


def _get_user(user_id):
    try:
        return service.get_user(user_id)
    except DomainError:
        abort(404)


def _user_page(user, form: PreprovisionForm | None = None, status: int = 200):
    """One person: logins (attach, detach), personal tokens, what agents receive, recent events."""
    return render_template(
        "admin/user.html", user=user, form=form or PreprovisionForm(formdata=None),
        tokens=tokens.personal_tokens_of(current_user, user), previews=agents.previews(user),
        events=audit.events_about(user.id, [identity.user_key for identity in user.identities]),
        action_label=action_label), status


@bp.post("/users/<uuid:user_id>/identities")
def attach_identity(user_id):
    user = _get_user(user_id)
    form = PreprovisionForm()
    if form.validate_on_submit():
        try:
            identity = identities.attach(current_user, user, form.platform.data, form.login.data, ip=client_ip())
        except DomainError as error:
            form.add_domain_error(error)
        else:
            flash(_("%(user_id)s is attached to %(name)s.", user_id=identity.user_key, name=user.label), "success")
            return redirect(url_for(".user_page", user_id=user.id))
    return _user_page(user, form, 422)


@bp.post("/users/<uuid:user_id>/identities/<platform>/detach")
def detach_identity(user_id, platform: str):
    user = _get_user(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        identities.detach(current_user, user, platform, ip=client_ip())
    except DomainError as error:
        if error.status == 404:
            abort(404)
        flash(str(error.message), "error")
    else:
        flash(_("The %(platform)s login is detached.", platform=PLATFORM_NAMES[platform]), "success")
    return redirect(url_for(".user_page", user_id=user.id))


@bp.post("/users/<uuid:user_id>/tokens/<int:token_id>/revoke")
def revoke_token(user_id, token_id: int):
    user = _get_user(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        tokens.revoke_token(current_user, token_id, ip=client_ip(), owner=user)
    except DomainError:
        abort(404)
    flash(_("Token revoked."), "success")
    return redirect(url_for(".user_page", user_id=user.id))


def _row_or_redirect(user, error: DomainError | None = None):
    if is_fragment_request():
        response = make_response(render_template("admin/_user_row.html", user=user,
                                                 row_error=error.message if error else None), 409 if error else 200)
        response.vary.add("HX-Request")
        return response
    if error:
        flash(str(error.message), "error")
    return redirect(request.referrer if request.referrer and request.referrer.startswith(request.host_url)
                    else url_for(".users"))


def _change(apply):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        return _row_or_redirect(apply())
    except DomainError as error:
        if error.status == 404:
            abort(404)
        return _row_or_redirect(service.get_user(request.view_args["user_id"]), error)


@bp.post("/users/<uuid:user_id>/active/<int:value>")
def set_active(user_id, value: int):
    return _change(lambda: service.set_active(current_user, user_id, bool(value), ip=client_ip()))


@bp.post("/users/<uuid:user_id>/admin/<int:value>")
def set_admin(user_id, value: int):
    return _change(lambda: service.set_admin(current_user, user_id, bool(value), ip=client_ip()))


@bp.post("/users/preprovision")
def preprovision():
    form = PreprovisionForm()
    if form.validate_on_submit():
        try:
            user = identities.preprovision(current_user, form.platform.data, form.login.data, ip=client_ip())
        except DomainError as error:
            form.add_domain_error(error)
        else:
            message = _("%(user_id)s is reserved; agents can be served before the person signs in.",
                        user_id=user.identities[0].user_key)
            if not is_fragment_request():
                flash(message, "success")
                return redirect(url_for(".users"))
            response = make_response(render_template("admin/_preprovision_form.html", form=PreprovisionForm(
                formdata=None), notice=message))
            response.headers["HX-Trigger"] = "users-changed"
            return response
    if is_fragment_request():
        return render_template("admin/_preprovision_form.html", form=form), 422
    page = service.search_users(service.UserFilter(), 1, current_app.config["ADMIN_PAGE_SIZE"])
    return render_template("admin/users.html", pagination=page, args={}, query={}, form=form,
                           renamed_admins=identities.admin_grants_renamed_away()), 422
