"""Which language a page is rendered in (the user's preference, then the browser's), and
relative times in it."""

from datetime import datetime, timezone

from flask import current_app, has_request_context, request, session
from flask_babel import format_timedelta
from flask_login import current_user


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI and background jobs
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if session.get("lang") in languages:
        return session["lang"]
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def ago(value: datetime | None) -> str:
    """"3 minutes ago" / "3 分前", for a title or a secondary line."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return format_timedelta(value - datetime.now(timezone.utc), add_direction=True)
