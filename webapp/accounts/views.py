"""Sign-in, registration and sign-out pages."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_url

from webapp.accounts import service
from webapp.accounts.forms import LoginForm, PasswordForm, RegisterForm
from webapp.accounts.sessions import end_session, start_session
from webapp.errors import DomainError
from webapp.extensions import limiter
from webapp.remote_addr import client_ip
from webapp.web.forms import ActionForm
from webapp.web.redirects import safe_next

bp = Blueprint("auth", __name__, url_prefix="/auth")


def auth_rate_limit() -> str:
    return current_app.config["AUTH_RATE_LIMIT"]


def _enabled_providers():
    return [p for p in current_app.config["OAUTH_PROVIDERS"].values() if p.configured]


def first_visit_or_sign_in():
    """Where a signed-out visitor of a protected page goes: on an instance without any account,
    straight to creating the first (administrator) account; otherwise to sign in."""
    if current_app.config["REGISTRATION_OPEN"] and service.is_new_instance():
        return redirect(url_for("auth.register"))
    flash(_("Please sign in to see this page."), "info")
    return redirect(login_url("auth.login", next_url=request.url))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(auth_rate_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        try:
            user = service.authenticate(login=form.login.data, password=form.password.data, ip=client_ip())
        except DomainError as error:
            form.add_domain_error(error)
        else:
            start_session(user, remember=form.remember.data)
            return redirect(safe_next(form.next.data, url_for("dashboard.index")))
    status = 422 if form.has_errors else 200
    return render_template("accounts/login.html", form=form, providers=_enabled_providers(),
                           registration_open=current_app.config["REGISTRATION_OPEN"],
                           first_account=service.is_new_instance()), status


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(auth_rate_limit, methods=["POST"])
def register():
    if not current_app.config["REGISTRATION_OPEN"]:
        flash(_("Registration is closed on this instance. Ask an administrator for an account."), "warning")
        return redirect(url_for(".login"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = service.register_local(email=form.email.data, username=form.username.data,
                                          password=form.password.data, tenant_name=form.tenant_name.data,
                                          ip=client_ip())
        except DomainError as error:
            form.add_domain_error(error)
        else:
            start_session(user)
            flash(_("Welcome to AgentDesk, %(name)s!", name=user.label), "success")
            return redirect(url_for("dashboard.index"))
    status = 422 if form.has_errors else 200
    return render_template("accounts/register.html", form=form, providers=_enabled_providers(),
                           first_account=service.is_new_instance()), status


@bp.post("/logout")
@login_required
def logout():
    service.record_logout(current_user._get_current_object(), ip=client_ip())
    end_session()
    flash(_("You have been signed out."), "info")
    return redirect(url_for(".login"))


@bp.post("/sessions/revoke")
@login_required
def sign_out_everywhere():
    """Every browser signed in as this user, this one included, is signed out."""
    if not ActionForm().validate_on_submit():
        abort(400)
    service.sign_out_everywhere(current_user._get_current_object(), ip=client_ip())
    end_session()
    flash(_("You have been signed out on every device."), "info")
    return redirect(url_for(".login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            service.change_password(user, current=form.current_password.data, new=form.new_password.data,
                                    ip=client_ip())
        except DomainError as error:
            form.add_domain_error(error)
        else:
            start_session(user)  # this browser stays signed in; every other session has ended
            flash(_("Password changed. Other devices have been signed out."), "success")
            return redirect(url_for("dashboard.index"))
    return render_template("accounts/password.html", form=form), 422 if form.has_errors else 200
