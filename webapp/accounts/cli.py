"""`flask users ...`: accounts from the terminal, in exactly the forms DESIGN.md lists."""

import click
from flask.cli import AppGroup

from webapp.accounts import identities, service
from webapp.errors import DomainError, terminal_message

users_cli = AppGroup("users", help="Manage user accounts.")


@users_cli.command("create")
@click.argument("email")
@click.option("--password", required=True, help="At least 8 characters with upper, lower and a digit.")
@click.option("--username", default=None, help="Login name (3-100 letters, digits, underscores).")
@click.option("--admin", is_flag=True, help="Make the user an instance administrator.")
@click.option("--github", "github_login", default=None, help="Pre-provision this GitHub login for the user.")
@click.option("--gitlab", "gitlab_login", default=None, help="Pre-provision this GitLab login for the user.")
def create_user(email, password, username, admin, github_login, gitlab_login):
    """Create a local account, optionally with GitHub/GitLab identities."""
    logins = {p: login for p, login in (("github", github_login), ("gitlab", gitlab_login)) if login}
    try:
        user = service.create_account(email=email, password=password, username=username, admin=admin, logins=logins)
    except DomainError as error:
        raise click.ClickException(terminal_message(error)) from None
    roles = "admin" if user.is_admin else "user"
    identities = ", ".join(i.user_key for i in user.identities) or "no identities"
    click.echo(f"Created {roles} {user.email} ({identities}) id={user.id}")


@users_cli.command("link")
@click.argument("email")
@click.option("--github", "github_login", default=None, help="The person's GitHub login.")
@click.option("--gitlab", "gitlab_login", default=None, help="The person's GitLab login.")
def link_login(email, github_login, gitlab_login):
    """Attach a GitHub or GitLab login to an existing account (no OAuth needed)."""
    if bool(github_login) == bool(gitlab_login):
        raise click.UsageError("Give exactly one of --github LOGIN or --gitlab LOGIN.")
    platform, login = ("github", github_login) if github_login else ("gitlab", gitlab_login)
    try:
        user = service.find_by_email(email)
        identity = identities.attach(None, user, platform, login, ip="cli")
    except DomainError as error:
        raise click.ClickException(terminal_message(error)) from None
    click.echo(f"Linked {identity.user_key} to {user.email} (reserved until they sign in with it)")
