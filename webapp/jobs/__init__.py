"""Background jobs (DESIGN.md): Huey on a SQLite file by default, on Redis when JOBS_URL names one.

A feature declares each job once, at import, and enqueues it by name after its transaction commits:

    @job("mail.send")
    def send(message_id): ...

    enqueue("mail.send", message.id)

Every app builds its own queue from its config and registers every declared job on it, each run
inside that app's context. `python -m webapp.jobs` is the consumer (make run and the Docker image
start one beside the web workers; JOBS_CONSUMER=none leaves that to another host).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from flask import Flask, current_app
from huey import RedisHuey, SqliteHuey, crontab

EXTENSION = "agentdesk.jobs"


@dataclass(frozen=True)
class Declared:
    name: str
    func: Callable
    every_minute: bool = False


_DECLARED: dict[str, Declared] = {}


def job(name: str, *, every_minute: bool = False):
    """Declare a job (`every_minute`: also run it once a minute, for sweepers)."""
    def declare(func):
        _DECLARED[name] = Declared(name, func, every_minute)
        return func
    return declare


class Jobs:
    """One app's queue and its registered jobs."""

    def __init__(self, app: Flask):
        url = app.config["JOBS_URL"]
        if url.startswith(("redis://", "rediss://", "unix://")):
            self.huey = RedisHuey("agentdesk", url=url, results=False)
        else:
            path = Path(url.removeprefix("sqlite:///"))
            path.parent.mkdir(parents=True, exist_ok=True)
            self.huey = SqliteHuey("agentdesk", filename=str(path), results=False)
        self.tasks = {}
        for declared in _DECLARED.values():
            self.tasks[declared.name] = self._register(app, declared)

    def _register(self, app: Flask, declared: Declared):
        def run(*args):
            with app.app_context():
                return declared.func(*args)

        run.__name__ = declared.func.__name__
        if declared.every_minute:
            return self.huey.periodic_task(crontab(minute="*"), name=declared.name)(run)
        return self.huey.task(name=declared.name)(run)


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = Jobs(app)


def jobs_of(app: Flask) -> Jobs:
    return app.extensions[EXTENSION]


def enqueue(name: str, *args, delay: float | None = None) -> bool:
    """Put a job on the queue (after `delay` seconds); False, logged, if the queue is unreachable:
    every job here is also found again by a sweeper, so nothing is lost, only later."""
    task = jobs_of(current_app).tasks[name]
    try:
        if delay:
            task.schedule(args, delay=delay)
        else:
            task(*args)
    except Exception as error:  # noqa: BLE001 (Redis down, SQLite locked: the sweeper retries)
        current_app.logger.warning("job %s not queued (%s); the sweeper will pick it up", name,
                                   error.__class__.__name__)
        return False
    return True
