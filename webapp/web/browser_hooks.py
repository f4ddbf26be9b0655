"""The browser's extensions stay off the machine APIs, whose requests have no cookie session
(webapp/web/cookie_session.py): Flask-Limiter (on the sign-in pages; the machine APIs count per
credential instead, webapp/machine/ratelimit.py), Flask-Login's remember-me cookie (nothing to
remember) and CSRF protection (nothing a forged request could borrow: every machine blueprint is
exempt already, and a path in a machine family's space gets no session whatever serves it)."""

from flask import Flask

from webapp.extensions import csrf, limiter, login_manager
from webapp.machine.registry import is_machine_request

_OWNERS = (limiter, login_manager, csrf)


def _browser_hook(hook) -> bool:
    """A hook of one of those extensions: a bound method, a partial with the extension first (the
    limiter's after-request hook), or a closure over it (CSRFProtect's before-request hook)."""
    if getattr(hook, "__self__", None) in _OWNERS or getattr(hook, "args", ())[:1] == (limiter,):
        return True
    return any(_contents(cell) in _OWNERS for cell in getattr(hook, "__closure__", None) or ())


def _contents(cell):
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell
        return None


def skip_machine_requests(app: Flask) -> None:
    """Flask-Limiter resolves a route's limits (and builds its context) before its own request
    filter runs, on every request; Flask-Login looks into the session after each, and CSRFProtect
    looks up the view's exemption before each: their hooks return at once on the machine hot path
    instead. Call after the three extensions' init_app."""
    for registry in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs):
        hooks = registry.setdefault(None, [])
        for index, hook in enumerate(hooks):
            if _browser_hook(hook):
                hooks[index] = _unless_machine(hook, passes_response=registry is app.after_request_funcs)


def _unless_machine(hook, *, passes_response: bool):
    if passes_response:
        def after(response):
            return response if is_machine_request() else hook(response)
        return after

    def guarded(*args):
        if not is_machine_request():
            return hook(*args)
    return guarded
