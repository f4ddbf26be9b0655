"""CPU-bound work off the event loop: under gevent (gunicorn's workers) a native thread runs it while
the worker's other connections are served (the GIL is handed over every few milliseconds, and C code
such as Argon2 releases it); without gevent it simply runs."""

from __future__ import annotations

from gevent import monkey


def offload(function, *args):
    if monkey.is_module_patched("threading"):
        from gevent import get_hub

        return get_hub().threadpool.apply(function, args)
    return function(*args)
