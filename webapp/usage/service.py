"""Count a usage key's reviews against its daily quota, and record what each billable call cost."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from flask import current_app
from sqlalchemy import func, select, update
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


# --- A tenant's usage over time (spec 001's /stats/usage, the Usage page) ---------------------

GRANULARITIES = ("day", "week", "month")
MAX_BUCKETS = {"day": 366, "week": 260, "month": 120}


def bucket_start(day: date, granularity: str) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())  # Monday, as ISO 8601 weeks start
    if granularity == "month":
        return day.replace(day=1)
    return day


def bucket_count(start: date, end: date, granularity: str) -> int:
    """How many periods buckets() would list, worked out without listing them."""
    first = bucket_start(start, granularity)
    if granularity == "month":
        return (end.year - first.year) * 12 + end.month - first.month + 1
    return (end - first).days // (7 if granularity == "week" else 1) + 1


def buckets(start: date, end: date, granularity: str) -> list[date]:
    found, current = [], bucket_start(start, granularity)
    while current <= end:
        found.append(current)
        if granularity == "day":
            current += timedelta(days=1)
        elif granularity == "week":
            current += timedelta(days=7)
        else:
            current = (current.replace(day=28) + timedelta(days=4)).replace(day=1)
    return found


def tenant_usage(tenant_id, start: date, end: date, granularity: str) -> list[tuple[date, int, float, int]]:
    """(bucket start, tokens, cost, calls) for every bucket from `start` to `end` (UTC days, both
    included), empty buckets as zeros; summed by the database, one row per day."""
    since = datetime.combine(start, time(0), tzinfo=timezone.utc)
    until = datetime.combine(end + timedelta(days=1), time(0), tzinfo=timezone.utc)
    dialect = db.session.get_bind().dialect.name
    day = func.date(UsageEvent.created_at) if dialect == "sqlite" else \
        func.date(func.timezone("UTC", UsageEvent.created_at))
    rows = db.session.execute(
        select(day.label("day"), func.sum(UsageEvent.tokens_in + UsageEvent.tokens_out), func.sum(UsageEvent.cost),
               func.count())
        .where(UsageEvent.tenant_id == tenant_id, UsageEvent.created_at >= since, UsageEvent.created_at < until)
        .group_by(day))
    totals: dict[date, list] = {b: [0, 0.0, 0] for b in buckets(start, end, granularity)}
    for found_day, tokens, cost, calls in rows:
        if isinstance(found_day, str):
            found_day = date.fromisoformat(found_day)
        entry = totals[bucket_start(found_day, granularity)]
        entry[0] += int(tokens or 0)
        entry[1] += float(cost or 0)
        entry[2] += int(calls)
    return [(b, tokens, round(cost, 6), calls) for b, (tokens, cost, calls) in totals.items()]
