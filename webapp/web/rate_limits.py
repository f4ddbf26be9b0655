"""The browser's extensions stay off the machine APIs: Flask-Limiter (on the sign-in pages; the
machine APIs count per credential instead, webapp/machine/ratelimit.py) and Flask-Login's
remember-me cookie (a machine call has no session to remember)."""

from flask import Flask

from webapp.extensions import limiter, login_manager
from webapp.machine.registry import is_machine_request


def _browser_hook(hook) -> bool:
    """A bound method of the limiter or the login manager, or (the limiter's after-request hook) a
    partial with the limiter first."""
    return getattr(hook, "__self__", None) in (limiter, login_manager) or getattr(hook, "args", ())[:1] == (limiter,)


def skip_machine_requests(app: Flask) -> None:
    """Flask-Limiter resolves a route's limits (and builds its context) before its own request
    filter runs, on every request, and Flask-Login looks into the session after each: their hooks
    return at once on the machine hot path instead. Call after both extensions' init_app."""
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
