"""Flask CLI commands, in exactly the forms DESIGN.md lists."""

import click
from flask.cli import AppGroup
from flask_babel import force_locale

from webapp.errors import DomainError

users_cli = AppGroup("users", help="Manage user accounts.")


def cli_message(error: DomainError) -> str:
    """Operators read the terminal in English, whatever the instance's default page language."""
    with force_locale("en"):
        field = f"{error.field}: " if error.field else ""
        return f"{field}{error.message}"


@users_cli.command("create")
@click.argument("email")
@click.option("--password", required=True, help="At least 8 characters with upper, lower and a digit.")
@click.option("--username", default=None, help="Login name (3-100 letters, digits, underscores).")
@click.option("--admin", is_flag=True, help="Make the user an instance administrator.")
@click.option("--github", "github_login", default=None, help="Pre-provision this GitHub login for the user.")
@click.option("--gitlab", "gitlab_login", default=None, help="Pre-provision this GitLab login for the user.")
def create_user(email, password, username, admin, github_login, gitlab_login):
    """Create a local account, optionally with GitHub/GitLab identities."""
    from webapp.accounts import service

    logins = {p: login for p, login in (("github", github_login), ("gitlab", gitlab_login)) if login}
    try:
        user = service.create_user_cli(email=email, password=password, username=username, admin=admin, logins=logins)
    except DomainError as error:
        raise click.ClickException(cli_message(error)) from None
    roles = "admin" if user.is_admin else "user"
    identities = ", ".join(i.user_key for i in user.identities) or "no identities"
    click.echo(f"Created {roles} {user.email} ({identities}) id={user.id}")


tokens_cli = AppGroup("tokens", help="Manage machine tokens.")


@tokens_cli.command("create")
@click.option("--kind", type=click.Choice(["service", "widget", "usage", "personal"]), required=True)
@click.option("--name", required=True, help="What the token is for, e.g. 'ci-agent'.")
@click.option("--user", "user_email", default=None, help="Owner's e-mail (required for personal tokens).")
@click.option("--expires-in-days", type=int, default=None, help="Optional lifetime; none by default.")
def create_token(kind, name, user_email, expires_in_days):
    """Mint a token; the raw value is printed once, as the last line."""
    from sqlalchemy import select

    from webapp.accounts.models import User
    from webapp.extensions import db
    from webapp.tokens import service

    owner = None
    if user_email:
        owner = db.session.scalar(select(User).where(User.email == user_email.strip().lower()))
        if owner is None:
            raise click.ClickException(f"No user with e-mail {user_email}")
    try:
        token, raw = service.create_token(None, kind=kind, name=name, owner=owner, expires_in_days=expires_in_days,
                                          ip="cli")
    except DomainError as error:
        raise click.ClickException(cli_message(error)) from None
    click.echo(f"Created {kind} token '{token.name}' ({token.prefix}…), scopes: {', '.join(token.scopes) or 'none'}."
               " Store it now: it is not shown again.", err=True)
    click.echo(raw)


keys_cli = AppGroup("keys", help="Encryption keys for secrets at rest.")


@keys_cli.command("rotate")
def rotate_keys():
    """Re-encrypt every stored secret under the newest key in ENCRYPTION_KEYS."""
    from webapp.llm_configs import service

    count = service.rotate_secrets()
    click.echo(f"Re-encrypted {count} secret(s) with the newest key.")


llm_config_cli = AppGroup("llm-config", help="LLM settings.")


@llm_config_cli.command("import")
@click.argument("config_yaml", type=click.File("r", encoding="utf-8"))
@click.option("--platform", type=click.Choice(["github", "gitlab"]), required=True)
@click.option("--username", required=True, help="The login on that platform.")
def import_llm_config(config_yaml, platform, username):
    """Import a legacy coding-agent config.yaml into platform:username's settings."""
    from webapp.llm_configs import legacy

    try:
        user, created = legacy.import_file(config_yaml.read(), platform=platform, username=username)
    except DomainError as error:
        details = error.details.get("fields") or {}
        lines = [cli_message(error)] + [f"  {name}: {message}" for name, message in details.items()
                                        if str(message) != str(error.message)]
        raise click.ClickException("\n".join(lines)) from None
    reserved = " (login reserved: nobody had it yet)" if created else ""
    click.echo(f"Imported LLM settings for {platform}:{username}{reserved}.")
