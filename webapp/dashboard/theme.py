"""The theme a page is drawn in."""

from __future__ import annotations

from flask import session
from flask_login import current_user

from webapp.accounts.service import THEMES, theme_of


def current_theme() -> str | None:
    """"light", "dark", or None to follow the device (prefers-color-scheme)."""
    if current_user.is_authenticated:
        return theme_of(current_user)
    theme = session.get("theme")
    return theme if theme in THEMES else None
