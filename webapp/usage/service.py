"""Count a usage key's reviews against its daily quota, and record what each billable call cost."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from webapp.db.base import utcnow
from webapp.db.orm import db
from webapp.tokens.models import ApiToken
from webapp.usage.models import UsageDay, UsageEvent


def key_terms(token_id: int) -> tuple[int | None, str | None]:
    """A usage key's daily quota and its requester's language."""
    row = db.session.execute(select(ApiToken.daily_quota, ApiToken.locale).where(ApiToken.id == token_id)).one()
    return row.daily_quota, row.locale


def take_review(token_id: int, quota: int | None) -> int | None:
    """Count one review for today (UTC) unless the key has used its quota: the new count, or None.

    One statement, an upsert whose update only happens under the quota: PostgreSQL locks the day's
    row for it and SQLite has one writer, so two workers never both take the last review.
    """
    today = utcnow().date()
    insert = (postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert)(UsageDay)
    statement = insert.values(token_id=token_id, day=today, reviews=1).on_conflict_do_update(
        index_elements=[UsageDay.token_id, UsageDay.day], set_={"reviews": UsageDay.reviews + 1},
        where=(UsageDay.reviews < quota) if quota is not None else None,
    ).returning(UsageDay.reviews)
    count = db.session.execute(statement).scalar()
    db.session.commit()
    return count


def give_back(token_id: int) -> None:
    """A review that could not be made does not count."""
    db.session.execute(update(UsageDay).where(UsageDay.token_id == token_id, UsageDay.day == utcnow().date(),
                                              UsageDay.reviews > 0).values(reviews=UsageDay.reviews - 1))
    db.session.commit()


def seconds_until_tomorrow() -> int:
    now = utcnow()
    tomorrow = datetime.combine(now.date() + timedelta(days=1), time(0), tzinfo=timezone.utc)
    return max(1, int((tomorrow - now).total_seconds()) + 1)


def record(kind: str, *, model: str | None = None, language: str | None = None, **values) -> None:
    """One usage row, committed."""
    add(kind, model=model, language=language, **values)
    db.session.commit()


def add(kind: str, *, model: str | None = None, language: str | None = None, **values) -> UsageEvent:
    """One usage row in the caller's transaction; names that come from elsewhere (a provider's model)
    are cut to their columns."""
    event = UsageEvent(kind=kind, model=model[:100] if model else None,
                       language=language[:20] if language else None, **values)
    db.session.add(event)
    return event


def cost_of(provider: str, model: str, tokens_in: int, tokens_out: int) -> float:
    """US dollars for a call: MODEL_PRICES (per million tokens, in and out) for the model or the
    longest price name it starts with ("gpt-4o-2024-08-06" -> "gpt-4o"); local providers cost nothing."""
    if provider != "openai":
        return 0.0
    prices = current_app.config["MODEL_PRICES"]
    name = max((known for known in prices if model == known or model.startswith(f"{known}-")), key=len, default=None)
    if name is None:
        return 0.0
    per_in, per_out = prices[name]
    return round((tokens_in * per_in + tokens_out * per_out) / 1_000_000, 6)
