"""`flask tasks prune --older-than DAYS`: drop old log lines and metric samples (tasks and errors stay)."""

from datetime import timedelta

import click
from flask.cli import AppGroup

from webapp.db.base import utcnow
from webapp.tasks import service

tasks_cli = AppGroup("tasks", help="Maintain agent tasks.")


@tasks_cli.command("prune")
@click.option("--older-than", "days", type=click.IntRange(min=1), required=True,
              help="Remove log lines and metrics recorded more than DAYS days ago (at least 1).")
@click.option("--batch", type=click.IntRange(min=1, max=100_000), default=5000, show_default=True,
              help="Rows deleted per transaction.")
def prune(days, batch):
    """Remove old task logs and metrics in batches, so a large backlog never holds a long lock."""
    removed = service.prune(utcnow() - timedelta(days=days), batch=batch)
    click.echo(f"Removed {removed['task_logs']} log lines and {removed['task_metrics']} metric samples "
               f"older than {days} days.")
