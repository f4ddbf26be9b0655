"""One place maps errors to responses: a page for people, the spec family's envelope for machines."""

from __future__ import annotations

from flask import jsonify, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from webapp.api.envelopes import GENERIC, error_body, family_for_path
from webapp.errors import DomainError
from webapp.extensions import db
from webapp.net import wants_json

TITLES = {
    400: _l("Bad request"),
    403: _l("You do not have access to this page"),
    404: _l("Page not found"),
    405: _l("Method not allowed"),
    409: _l("Conflict"),
    413: _l("Too large"),
    422: _l("Check your input"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong on our side"),
    503: _l("Temporarily unavailable"),
}
MESSAGES = {
    400: _l("The request could not be understood. Reload the page and try again."),
    403: _l("Ask an administrator if you think you should have access."),
    404: _l("The address may be mistyped, or the page may have moved."),
    405: _l("This address does not accept that kind of request."),
    413: _l("The upload is larger than this server accepts."),
    429: _l("You have tried too often in a short time. Wait a minute, then try again."),
    500: _l("The error has been logged. Try again; if it keeps happening, tell your administrator."),
    503: _l("A service AgentDesk depends on is not answering. Try again shortly."),
}


def _retry_after(error) -> str | None:
    headers = dict(error.get_headers()) if isinstance(error, HTTPException) else {}
    return headers.get("Retry-After")


def render_error(status: int, *, code: str | None = None, message: str | None = None, error=None):
    if wants_json():
        family = family_for_path(request.path) or "gui"
        generic_code, generic_message = GENERIC.get(status, GENERIC[500] if status >= 500 else GENERIC[400])
        response = jsonify(error_body(family, code or generic_code, message or generic_message))
        response.status_code = status
    else:
        page = render_template("errors/error.html", status=status, title=TITLES.get(status, TITLES[500]),
                               message=message or MESSAGES.get(status, ""))
        response = make_response(page, status)
    retry = _retry_after(error) if error is not None else None
    if retry:
        response.headers["Retry-After"] = retry
    return response


def init_app(app) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        return render_error(error.code, error=error)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(400, code="CSRF_FAILED", message=str(_l(
            "This form expired or did not come from this site. Reload the page and try again.")))

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        db.session.rollback()
        return render_error(error.status, code=error.code, message=str(error.message))

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(500, error=InternalServerError())
