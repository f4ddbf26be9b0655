"""The browser's rate limiter (Flask-Limiter, on the sign-in pages) stays off the machine APIs,
which count per credential instead (webapp/machine/ratelimit.py)."""

from flask import Flask

from webapp.extensions import limiter
from webapp.machine.registry import is_machine_request


def skip_machine_requests(app: Flask) -> None:
    """Flask-Limiter's request filter only runs after it has resolved the route's limits, so wrap
    its before-request hook to return at once on the machine hot path."""
    hooks = app.before_request_funcs.setdefault(None, [])
    for index, hook in enumerate(hooks):
        if getattr(hook, "__self__", None) is limiter:
            def guarded(hook=hook):
                if not is_machine_request():
                    return hook()
            hooks[index] = guarded
