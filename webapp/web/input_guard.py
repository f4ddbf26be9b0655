"""Refuse text with NUL characters before any view sees it: PostgreSQL cannot store them, so a
filter or form field holding one would otherwise fail deep inside a query. (JSON bodies of the
machine APIs are checked where they are parsed, webapp/machine/inputs.py.)"""

from flask import request
from flask_babel import lazy_gettext as _l

from webapp.errors import BadRequest
from webapp.machine.registry import is_machine_request

FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def _refuse_nul() -> None:
    # The agents' hot path (a GET with a clean query string) pays for two cheap tests, nothing more.
    req = request._get_current_object()
    in_query = b"%00" in req.query_string
    in_form = req.method in BODY_METHODS and req.mimetype in FORMS
    if not (in_query or in_form) or is_machine_request():
        return  # the machine APIs refuse it themselves, in their own envelope (webapp/machine/inputs.py)
    if (in_query and any("\x00" in v for v in req.args.values())) or (
            in_form and any("\x00" in v for v in req.form.values())):
        raise BadRequest(_l("Text may not contain NUL characters (\\u0000)."), code="INVALID_REQUEST")


def init_app(app) -> None:
    app.before_request(_refuse_nul)
