"""Write and read the audit trail.

`record` adds an event to the caller's session: it is written by the caller's commit, together
with the change it describes (or rolled back with it). `record_detached` writes an event on its
own, never touching the session: for refusals that change nothing, and for machine calls.
"""

from __future__ import annotations

import json
import time as time_module
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import case, func, insert, or_, select

from webapp.audit.models import AuditEvent
from webapp.db.base import utcnow
from webapp.db.orm import db
from webapp.db.writer import replayable, writer

_INSERT = replayable(insert(AuditEvent))


def actor_label_for(user) -> str:
    if user is None:
        return ""
    return user.email or user.username or next((i.user_key for i in user.identities), str(user.id))


def record(action: str, *, ip: str, actor=None, actor_label: str | None = None, target: str = "",
           outcome: str = "success", details: dict | None = None, status_code: int | None = None,
           latency_ms: int | None = None) -> AuditEvent:
    """Add an event to the session; the caller commits it with its change."""
    event = AuditEvent(
        action=action,
        actor_user_id=getattr(actor, "id", None),
        actor_label=(actor_label if actor_label is not None else actor_label_for(actor))[:320],
        target=target[:320],
        outcome=outcome,
        ip_address=(ip or "")[:64],
        details=details or {},
        status_code=status_code,
        latency_ms=latency_ms,
    )
    db.session.add(event)
    return event


def record_detached(action: str, *, ip: str, actor=None, actor_label: str | None = None, target: str = "",
                    outcome: str = "success", details: dict | None = None, status_code: int | None = None,
                    latency_ms: int | None = None, actor_token_id: int | None = None,
                    actor_user_id=None) -> None:
    """Write an event on its own connection, leaving the caller's session (and its pending
    changes) alone: refusals such as a failed sign-in, and every machine call (batched)."""
    writer().append(_INSERT, {
        "created_at": utcnow(), "actor_user_id": getattr(actor, "id", actor_user_id), "actor_token_id": actor_token_id,
        "actor_label": (actor_label if actor_label is not None else actor_label_for(actor))[:320],
        # What a caller sent (a path, a login) may hold NUL, which PostgreSQL cannot store.
        "action": action, "target": target[:320].replace("\x00", "\ufffd"), "outcome": outcome,
        "ip_address": (ip or "")[:64],
        "status_code": status_code, "latency_ms": latency_ms, "details": details or {},
    })


REFUSED_WINDOW = 60  # seconds: refused anonymous calls from one address are one row per minute


def _merge_refusal(waiting: dict, new: dict) -> None:
    details = waiting["details"]
    details["refused"] += 1
    details["by_status"][str(new["status_code"])] = details["by_status"].get(str(new["status_code"]), 0) + 1
    waiting["status_code"] = new["status_code"]


def record_refused(action: str, *, ip: str, status_code: int) -> None:
    """A machine call refused before anyone was authenticated (a bad or missing credential, or too
    many of those): counted per address and minute into one row, so guessing cannot flood the log."""
    now = time_module.time()
    window_start = now - now % REFUSED_WINDOW
    row = {"created_at": datetime.fromtimestamp(window_start, timezone.utc), "actor_user_id": None,
           "actor_token_id": None, "actor_label": "anonymous", "action": "api.refused", "target": "",
           "outcome": "failure", "ip_address": (ip or "")[:64], "status_code": status_code, "latency_ms": None,
           "details": {"refused": 1, "by_status": {str(status_code): 1}, "first_action": action,
                       "window_seconds": REFUSED_WINDOW}}
    writer().tally(_INSERT, (ip, window_start), row, _merge_refusal, window_start + REFUSED_WINDOW)


@dataclass(frozen=True)
class AuditFilter:
    action: str = ""
    actor: str = ""
    outcome: str = ""
    token_id: int | None = None
    since: date | None = None
    until: date | None = None


def _filtered(filters: AuditFilter):
    query = select(AuditEvent).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    if filters.token_id is not None:
        query = query.where(AuditEvent.actor_token_id == filters.token_id)
    if filters.action:
        query = query.where(AuditEvent.action.startswith(filters.action, autoescape=True))
    if filters.actor:
        needle = f"%{filters.actor.lower()}%"
        query = query.where(or_(AuditEvent.actor_label.ilike(needle), AuditEvent.target.ilike(needle)))
    if filters.outcome:
        query = query.where(AuditEvent.outcome == filters.outcome)
    if filters.since:
        query = query.where(AuditEvent.created_at >= datetime.combine(filters.since, time.min, timezone.utc))
    if filters.until:
        end = datetime.combine(filters.until, time.min, timezone.utc) + timedelta(days=1)
        query = query.where(AuditEvent.created_at < end)
    return query


def list_events(filters: AuditFilter, page: int, per_page: int):
    """Newest first, filtered; returns a Flask-SQLAlchemy Pagination."""
    return db.paginate(_filtered(filters), page=page, per_page=per_page, error_out=False)


CSV_COLUMNS = ("created_at", "action", "actor_label", "actor_token_id", "target", "outcome", "status_code",
               "latency_ms", "ip_address", "details")
CSV_LIMIT = 100_000


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell):
    """A text cell a spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a leading
    quote: the log holds login names and paths that anyone can choose (OWASP's CSV injection advice)."""
    return f"'{cell}" if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) else cell


def export_rows(filters: AuditFilter):
    """Yield CSV rows (header first) for the filtered events, newest first, streamed in batches,
    every text cell spreadsheet-safe."""
    yield CSV_COLUMNS
    result = db.session.execute(_filtered(filters).limit(CSV_LIMIT).execution_options(yield_per=1000))
    for event in result.scalars():
        yield tuple(spreadsheet_safe(cell) for cell in (
            event.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"), event.action, event.actor_label,
            event.actor_token_id or "", event.target, event.outcome, event.status_code or "",
            "" if event.latency_ms is None else event.latency_ms, event.ip_address,
            json.dumps(event.details, ensure_ascii=False, sort_keys=True)))


def token_choices() -> list[tuple[int, str]]:
    """The tokens that appear in the log, as (id, label): what the token filter offers."""
    rows = db.session.execute(select(AuditEvent.actor_token_id, func.max(AuditEvent.actor_label))
                              .where(AuditEvent.actor_token_id.isnot(None)).group_by(AuditEvent.actor_token_id))
    return sorted(((token_id, label) for token_id, label in rows), key=lambda choice: (choice[1], choice[0]))


def known_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))


def recent_agent_calls(targets: list[str], limit: int = 5) -> list[AuditEvent]:
    """The last machine-API calls that asked for any of these users (`platform:login`)."""
    if not targets:
        return []
    return list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.target.in_(targets), AuditEvent.action.startswith("api."))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(limit)))


def events_about(user_id, targets: list[str], limit: int = 10) -> list[AuditEvent]:
    """What a person did, and what was done to or asked of them (their logins as targets)."""
    condition = AuditEvent.actor_user_id == user_id
    if targets:
        condition = or_(condition, AuditEvent.target.in_(targets))
    return list(db.session.scalars(select(AuditEvent).where(condition)
                                   .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(limit)))


def day_starts(days: int) -> list[datetime]:
    """Midnight UTC of each of the last `days` days, oldest first, and of tomorrow (the end)."""
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    return [today - timedelta(days=days - 1 - n) for n in range(days + 1)]


def api_calls_by_day(days: int = 7) -> list[tuple[date, int, int]]:
    """(day, agent API calls, of which failed) for the last `days` UTC days, oldest first: one
    statement of conditional counts over the created_at index, the same on every database."""
    starts = day_starts(days)
    is_api = AuditEvent.action.startswith("api.")
    failed = AuditEvent.outcome == "failure"
    columns = []
    for start, end in zip(starts, starts[1:]):
        in_day = (AuditEvent.created_at >= start) & (AuditEvent.created_at < end)
        columns.append(func.coalesce(func.sum(case((in_day, 1), else_=0)), 0))
        columns.append(func.coalesce(func.sum(case((in_day & failed, 1), else_=0)), 0))
    row = db.session.execute(select(*columns).where(is_api, AuditEvent.created_at >= starts[0])).one()
    return [(start.date(), int(row[2 * n]), int(row[2 * n + 1])) for n, start in enumerate(starts[:-1])]
