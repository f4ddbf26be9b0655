"""Refuse text with NUL characters before any view sees it: PostgreSQL cannot store them, so a
filter or form field holding one would otherwise fail deep inside a query. (JSON bodies of the
machine APIs are checked where they are parsed, webapp/machine/inputs.py.)"""

from flask import request
from flask_babel import lazy_gettext as _l

from webapp.errors import BadRequest
from webapp.machine.registry import is_machine_request

FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def _refuse_nul() -> None:
    # Byte checks first: the agents' hot path pays for one `in` on the query string, nothing more.
    # The machine APIs refuse it themselves, in their own envelope (webapp/machine/inputs.py).
    in_query = (b"%00" in request.query_string and not is_machine_request()
                and any("\x00" in v for v in request.args.values()))
    in_form = (request.mimetype in FORMS and not is_machine_request()
               and any("\x00" in v for v in request.form.values()))
    if in_query or in_form:
        raise BadRequest(_l("Text may not contain NUL characters (\\u0000)."), code="INVALID_REQUEST")


def init_app(app) -> None:
    app.before_request(_refuse_nul)
