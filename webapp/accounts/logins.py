"""GitHub/GitLab login names: their shape, who holds one, and reserving one for a user."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from webapp.accounts.models import PLATFORMS, Identity, User
from webapp.db.orm import db
from webapp.errors import Conflict, ValidationFailed

# GitHub: 1-39 alphanumerics or single hyphens; GitLab also allows dots and underscores.
# Matched whole (fullmatch): `$` alone would let a trailing newline through.
LOGIN_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$"
LOGIN_RE = re.compile(LOGIN_PATTERN)
PLATFORM_NAMES = {"github": "GitHub", "gitlab": "GitLab"}


def is_login(value: str) -> bool:
    return LOGIN_RE.fullmatch(value) is not None


def check_platform_login(platform: str, login: str) -> tuple[str, str]:
    platform = (platform or "").strip().lower()
    login = (login or "").strip()
    if platform not in PLATFORMS:
        raise ValidationFailed(_l("Choose GitHub or GitLab."), field="platform")
    if not is_login(login):
        raise ValidationFailed(_l("Enter the login exactly as on GitHub or GitLab (letters, digits, '-', '_', '.')."),
                               field="login")
    return platform, login


def find_by_login(platform: str, login: str) -> Identity | None:
    return db.session.scalar(
        select(Identity).where(Identity.platform == platform, Identity.login_key == login.lower())
    )


def reserve_login(user: User, platform: str, login: str) -> Identity:
    """Attach a pre-provisioned identity (no provider id yet) to `user`; the caller commits."""
    platform, login = check_platform_login(platform, login)
    if find_by_login(platform, login):
        raise Conflict(_l("%(user_id)s is already taken.", user_id=f"{platform}:{login}"), field="login")
    if user.identity_for(platform):
        raise Conflict(_l("This user already has a %(platform)s identity.", platform=PLATFORM_NAMES[platform]),
                       field="platform")
    identity = Identity(platform=platform, login=login, login_key=login.lower())
    user.identities.append(identity)
    return identity
