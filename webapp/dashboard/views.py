"""Dashboard and language preference."""

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from webapp.accounts import service
from webapp.web.forms import ActionForm
from webapp.web.redirects import safe_next

bp = Blueprint("dashboard", __name__)


@bp.get("/")
@login_required
def index():
    providers = [p for p in current_app.config["OAUTH_PROVIDERS"].values() if p.configured]
    linkable = [p for p in providers if current_user.identity_for(p.name) is None]
    return render_template("dashboard/index.html", linkable=linkable)


@bp.post("/language")
def set_language():
    lang = request.form.get("lang", "")
    if ActionForm().validate_on_submit() and lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        if current_user.is_authenticated:
            service.set_locale(current_user, lang)
    return redirect(safe_next(request.form.get("next"), url_for("dashboard.index")))
