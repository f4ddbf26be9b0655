"""`flask tokens create`: mint a machine token; the raw value is the last line printed."""

import click
from flask.cli import AppGroup

from webapp.accounts import service as accounts
from webapp.errors import DomainError, terminal_message
from webapp.tokens import service

tokens_cli = AppGroup("tokens", help="Manage machine tokens.")


@tokens_cli.command("create")
@click.option("--kind", type=click.Choice(["service", "widget", "usage", "personal"]), required=True)
@click.option("--name", required=True, help="What the token is for, e.g. 'ci-agent'.")
@click.option("--user", "user_email", default=None, help="Owner's e-mail (required for personal tokens).")
@click.option("--expires-in-days", type=int, default=None, help="Optional lifetime; none by default.")
def create_token(kind, name, user_email, expires_in_days):
    """Mint a token; the raw value is printed once, as the last line."""
    try:
        owner = accounts.find_by_email(user_email) if user_email else None
        token, raw = service.create_token(None, kind=kind, name=name, owner=owner, expires_in_days=expires_in_days,
                                          ip="cli")
    except DomainError as error:
        raise click.ClickException(terminal_message(error)) from None
    click.echo(f"Created {kind} token '{token.name}' ({token.prefix}…), scopes: {', '.join(token.scopes) or 'none'}."
               " Store it now: it is not shown again.", err=True)
    click.echo(raw)
