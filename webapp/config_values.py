"""The values the environment holds, parsed: each parser names the variable and the shape it wants
when a value is wrong (webapp/config.py puts them together)."""

from __future__ import annotations

import json
import math
import os
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path


class ConfigError(RuntimeError):
    """The environment does not describe a runnable instance."""


DEFAULT_PRICES = {"gpt-4": (30.0, 60.0), "gpt-4-turbo": (10.0, 30.0), "gpt-4o": (2.5, 10.0),
                  "gpt-4o-mini": (0.15, 0.6), "gpt-4.1": (2.0, 8.0), "gpt-4.1-mini": (0.4, 1.6),
                  "gpt-4.1-nano": (0.1, 0.4), "gpt-3.5-turbo": (0.5, 1.5),
                  "text-embedding-3-small": (0.02, 0.0), "text-embedding-3-large": (0.13, 0.0)}


def parse_prices(value: str | None) -> dict[str, tuple[float, float]]:
    if not value:
        return dict(DEFAULT_PRICES)
    try:
        parsed = json.loads(value)
        return {str(model): (float(pair[0]), float(pair[1])) for model, pair in parsed.items()}
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        raise ConfigError('MODEL_PRICES must be JSON like {"gpt-4o": [2.5, 10]} '
                          "(US dollars per million tokens in and out)") from None


def parse_json_object(value: str | None, name: str, shape: str) -> dict[str, str]:
    if not value:
        return {}
    try:
        parsed = json.loads(value)
        if not isinstance(parsed, dict):
            raise TypeError
        return {str(k): str(v) for k, v in parsed.items()}
    except (ValueError, TypeError):
        raise ConfigError(f"{name} must be {shape}") from None


def parse_agent_choices(value: str | None) -> dict[str, dict[str, str]]:
    """AGENT_CHOICES: the agents a person may pick in their workspace settings, by name."""
    shape = 'JSON like {"amazon-q": {"command": "q chat", "approval": "amazon-q", "label": "Amazon Q"}}'
    if not value:
        return {}
    try:
        parsed = json.loads(value)
        choices = {str(name): {"command": str(entry["command"]), "approval": str(entry.get("approval", "")),
                               "label": str(entry.get("label") or name)} for name, entry in parsed.items()}
    except (ValueError, TypeError, KeyError, AttributeError):
        raise ConfigError(f"AGENT_CHOICES must be {shape}") from None
    if any(not name or len(name) > 40 or not entry["command"].strip() for name, entry in choices.items()):
        raise ConfigError(f"AGENT_CHOICES must be {shape}, each with a name and a command")
    return choices


def parse_bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


GENERATE_SECRET = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"


def estimated_bits(secret: str) -> float:
    """A cautious entropy estimate: the lower of the character distribution's (Shannon, times the
    length) and what zlib cannot compress away, so repeated or patterned keys score low however long."""
    if not secret:
        return 0.0
    counts = Counter(secret)
    shannon = -sum(n * math.log2(n / len(secret)) for n in counts.values())
    incompressible = 8 * (len(zlib.compress(secret.encode(), 9)) - 8)  # zlib adds 8 bytes of framing
    return min(shannon, incompressible)


def instance_secret(instance_path: Path, name: str, generate) -> str:
    """Read a development secret from instance/, creating it (mode 600) on first use."""
    path = instance_path / name
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    value = generate()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value


def parse_jwt_keys(raw: str) -> list[tuple[str, str]]:
    """JWT_SIGNING_KEYS: "KID:SECRET,KID:SECRET", the first signs, every one verifies (rotation:
    put the new key first, keep the old one until the last token it signed has expired)."""
    keys = []
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        kid, _, secret = entry.partition(":")
        if not kid or len(secret) < 32:
            raise ConfigError("JWT_SIGNING_KEYS: each entry is KID:SECRET with a secret of at least 32 characters")
        keys.append((kid, secret))
    if not keys:
        raise ConfigError("JWT_SIGNING_KEYS names no key")
    return keys


def normalize_database_url(url: str) -> str:
    """Use the psycopg 3 driver for any PostgreSQL URL, whatever scheme it was given with."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def parse_admin_users(value: str) -> frozenset[tuple[str, str]]:
    """`github:alice,gitlab:bob` -> {("github", "alice"), ("gitlab", "bob")}, logins lower-cased."""
    pairs = set()
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        platform, sep, login = item.partition(":")
        platform = platform.strip().lower()
        if not sep or platform not in ("github", "gitlab") or not login.strip():
            raise ConfigError(f"ADMIN_USERS entry {item!r} is not platform:login (platform github or gitlab)")
        pairs.add((platform, login.strip().lower()))
    return frozenset(pairs)


@dataclass(frozen=True)
class OAuthProviderSettings:
    """What Authlib needs to talk to one GitHub or GitLab instance."""

    name: str
    client_id: str
    client_secret: str
    authorize_url: str
    access_token_url: str
    api_base_url: str
    scope: str

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret)
