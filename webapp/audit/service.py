"""Write and read the audit trail; callers commit the event with the change it describes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import or_, select

from webapp.audit.models import AuditEvent
from webapp.extensions import db


def actor_label_for(user) -> str:
    if user is None:
        return ""
    return user.email or user.username or next((i.user_key for i in user.identities), str(user.id))


def record(action: str, *, ip: str, actor=None, actor_label: str | None = None, target: str = "",
           outcome: str = "success", details: dict | None = None, status_code: int | None = None,
           latency_ms: int | None = None) -> AuditEvent:
    """Add an event to the session; it is written by the caller's commit (or rolled back with it)."""
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


def record_now(action: str, **kwargs) -> None:
    """Record and commit at once: for events with no other change to ride along (a failed login)."""
    record(action, **kwargs)
    db.session.commit()


@dataclass(frozen=True)
class AuditFilter:
    action: str = ""
    actor: str = ""
    outcome: str = ""
    since: date | None = None
    until: date | None = None


def list_events(filters: AuditFilter, page: int, per_page: int):
    """Newest first, filtered; returns a Flask-SQLAlchemy Pagination."""
    query = select(AuditEvent).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
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
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def known_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))
