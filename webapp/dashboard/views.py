"""Home page, and the language and theme preferences."""

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from webapp.accounts import service
from webapp.audit.labels import action_label
from webapp.dashboard.home import activity, home_for
from webapp.tasks.labels import status_context
from webapp.web.forms import ActionForm
from webapp.web.redirects import safe_next

bp = Blueprint("dashboard", __name__)


@bp.get("/")
@login_required
def index():
    providers = [p for p in current_app.config["OAUTH_PROVIDERS"].values() if p.configured]
    linkable = [p for p in providers if current_user.identity_for(p.name) is None]
    return render_template("dashboard/index.html", linkable=linkable, home=home_for(current_user),
                           activity=activity() if current_user.is_admin else None, action_label=action_label,
                           **status_context())


@bp.post("/theme")
def set_theme():
    """Light, dark or the device's setting: kept on the account when signed in, else in the session."""
    theme = request.form.get("theme", "")
    if ActionForm().validate_on_submit() and theme in (*service.THEMES, "system"):
        chosen = None if theme == "system" else theme
        session["theme"] = chosen
        if current_user.is_authenticated:
            service.set_theme(current_user, chosen)
    return redirect(safe_next(request.form.get("next"), url_for("dashboard.index")))


@bp.post("/language")
def set_language():
    lang = request.form.get("lang", "")
    if ActionForm().validate_on_submit() and lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        if current_user.is_authenticated:
            service.set_locale(current_user, lang)
    return redirect(safe_next(request.form.get("next"), url_for("dashboard.index")))
