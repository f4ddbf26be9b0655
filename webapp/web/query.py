"""Query-string parameters for the admin pages: numbers checked (a bad one is a 400, not a 500
from the database), and only known names carried into the links a page builds."""

from flask import abort, request

INT_MAX = 2**31 - 1


def int_arg(name: str, *, default: int | None = None, low: int = 1, high: int = INT_MAX) -> int | None:
    raw = request.args.get(name, "")
    if raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10 or not low <= int(raw) <= high:
        abort(400)
    return int(raw)


def kept_args(*names: str) -> dict[str, str]:
    """The listed parameters that are present, for url_for: never the request's arguments wholesale
    (`_method`, `_external`, `endpoint` and friends mean something to url_for)."""
    return {name: request.args[name][:200] for name in names if request.args.get(name)}
