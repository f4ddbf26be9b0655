"""The review page for signed-in people, and Admin → Review rules (rules.json, validated, versioned)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from webapp.errors import DomainError
from webapp.extensions import limiter
from webapp.review import engine, languages, rules, service
from webapp.web.access import require_sign_in
from webapp.web.forms import ActionForm

bp = Blueprint("review", __name__)
# Everyone signed in reviews; the rules are the admins'.
require_sign_in(bp, admin_when=lambda: request.path.startswith("/admin/"))


@bp.get("/admin/review-rules")
def rules_page():
    current = rules.current()
    return render_template("review/rules.html", content=current.source, version=current.version,
                           versions=rules.versions(), categories=current.categories, error=None)


@bp.post("/admin/review-rules")
def save_rules():
    if not ActionForm().validate_on_submit():
        abort(400)
    content = request.form.get("content", "")
    try:
        saved = rules.save(current_user, content)
    except DomainError as error:
        current = rules.current()
        response = make_response(render_template(
            "review/rules.html", content=content, version=current.version, versions=rules.versions(),
            categories=current.categories, error=error.message, error_line=error.details.get("line")), 422)
        return response
    flash(_("Saved as version %(version)s; reviews use it from now on.", version=saved.id), "success")
    return redirect(url_for(".rules_page"))


@bp.get("/admin/review-rules/<int:version>")
def rules_version(version: int):
    found = rules.version(version)
    if found is None:
        abort(404)
    response = make_response(found.content)
    response.mimetype = "application/json"
    response.headers["Content-Disposition"] = f'attachment; filename="rules-v{version}.json"'
    return response


@bp.get("/review")
def page():
    return render_template("review/page.html", languages=languages.LANGUAGES.values(), result=None)


@bp.post("/review")
@limiter.limit(lambda: current_app.config["REVIEW_PAGE_LIMITS"], key_func=lambda: f"review:{current_user.id}")
def run():
    if not ActionForm().validate_on_submit():
        abort(400)
    source, language_name = request.form.get("source", ""), request.form.get("language", "")
    try:
        result = service.review_for_person(current_user, source, language_name, locale=str(get_locale()))
    except DomainError as error:
        return render_template("review/_result.html", error=error.message, result=None), 422
    return render_template("review/_result.html", result=result, source_lines=engine.source_lines(source),
                           categories=rules.current().categories, locale=str(get_locale()))
