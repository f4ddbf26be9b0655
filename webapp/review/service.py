"""Reviews for signed-in people (the review page): the same engine the API runs, counted as usage."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from webapp.accounts.models import User
from webapp.errors import ValidationFailed
from webapp.review import engine, languages
from webapp.usage import service as usage

MAX_SOURCE_CHARS = 1024 * 1024


def review_for_person(user: User, source: str, language_name: str, *, locale: str) -> engine.Review:
    language = languages.find(language_name)
    if language is None:
        raise ValidationFailed(_l("Choose the language of the code."), field="language")
    source = source.replace("\r\n", "\n")
    if not source.strip():
        raise ValidationFailed(_l("Paste some code, or drop a file here."), field="source")
    if len(source) > MAX_SOURCE_CHARS or "\x00" in source:
        raise ValidationFailed(_l("Reviews take text files up to 1 MB."), field="source")
    result = engine.review(source, language, locale=locale)
    usage.record("review", user_id=user.id, language=language.key, lines=result.lines, findings=len(result.points),
                 model=result.model, tokens_in=result.tokens_in, tokens_out=result.tokens_out,
                 latency_ms=result.latency_ms)
    return result
