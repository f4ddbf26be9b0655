"""One place maps errors to responses: a page for people, the family's envelope for machines."""

from __future__ import annotations

from flask import make_response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from webapp.db.session import discard_changes, unavailable
from webapp.errors import DomainError
from webapp.machine.blueprint import respond
from webapp.machine.families import database_busy, from_http, internal_error
from webapp.machine.registry import registry

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


def wants_json() -> bool:
    """Machine URLs, and clients that prefer JSON to HTML, get JSON errors."""
    if registry().family_for_path(request.path) is not None:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def render_error(error: DomainError, *, page_message=None):
    """The error as JSON in the family's envelope, or as the error page; its headers either way."""
    if wants_json():
        return respond(error)
    status = error.status
    page = render_template("web/error.html", status=status, title=TITLES.get(status, TITLES[500]),
                           message=page_message or MESSAGES.get(status, ""))
    response = make_response(page, status)
    if "Retry-After" in error.headers:
        response.headers["Retry-After"] = error.headers["Retry-After"]
    return response


def init_app(app) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        return render_error(from_http(error))

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        message = _l("This form expired or did not come from this site. Reload the page and try again.")
        return render_error(DomainError(str(message), code="CSRF_FAILED", status=400), page_message=message)

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        discard_changes()
        return render_error(error, page_message=error.message)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        discard_changes()
        if unavailable(error):
            app.logger.warning("database unavailable on %s %s: %s", request.method, request.path,
                               error.__class__.__name__)
            return render_error(database_busy())
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(internal_error())
