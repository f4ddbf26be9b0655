"""`flask llm-config import` and `flask keys rotate`: LLM settings from the terminal."""

import click
from flask.cli import AppGroup

from webapp.errors import DomainError, terminal_message
from webapp.llm_configs import legacy, service

llm_config_cli = AppGroup("llm-config", help="LLM settings.")
keys_cli = AppGroup("keys", help="Encryption keys for secrets at rest.")


@llm_config_cli.command("import")
@click.argument("config_yaml", type=click.File("r", encoding="utf-8"))
@click.option("--platform", type=click.Choice(["github", "gitlab"]), required=True)
@click.option("--username", required=True, help="The login on that platform.")
def import_llm_config(config_yaml, platform, username):
    """Import a legacy coding-agent config.yaml into platform:username's settings."""
    try:
        user, created = legacy.import_file(config_yaml.read(), platform=platform, username=username)
    except DomainError as error:
        details = error.details.get("fields") or {}
        lines = [terminal_message(error)] + [f"  {name}: {message}" for name, message in details.items()
                                             if str(message) != str(error.message)]
        raise click.ClickException("\n".join(lines)) from None
    reserved = " (login reserved: nobody had it yet)" if created else ""
    click.echo(f"Imported LLM settings for {platform}:{username}{reserved}.")


@keys_cli.command("rotate")
def rotate_keys():
    """Re-encrypt every stored secret under the newest key in ENCRYPTION_KEYS."""
    count = service.rotate_secrets()
    click.echo(f"Re-encrypted {count} secret(s) with the newest key.")
