"""`flask usage-keys approve EMAIL [--quota N]`: approve a pending request from the shell; the raw key
is the last line printed."""

import click
from flask.cli import AppGroup

from webapp.errors import DomainError, terminal_message
from webapp.usage_keys import service

usage_keys_cli = AppGroup("usage-keys", help="Approve code review usage keys.")


@usage_keys_cli.command("approve")
@click.argument("email")
@click.option("--quota", type=click.IntRange(min=1, max=service.MAX_QUOTA), default=None,
              help="Reviews a day (default: USAGE_KEY_DEFAULT_QUOTA).")
def approve(email, quota):
    """Approve EMAIL's pending request and print its key (the key is not stored; keep it now)."""
    try:
        key, raw = service.approve_from_shell(email, quota=quota)
    except DomainError as error:
        raise click.ClickException(terminal_message(error)) from None
    click.echo(f"Approved usage key #{key.id} for {key.contact_name} <{key.contact_email}>: "
               f"{key.daily_quota} reviews a day. The key (shown once):")
    click.echo(raw)
