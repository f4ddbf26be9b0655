"""The two things pages and APIs may ask of the database directly: discard a failed transaction,
and check that the database answers. Everything else goes through a feature's service."""

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from webapp.db.orm import db


def discard_changes() -> None:
    """Roll back whatever a failed request left in the session, so an error page can still query."""
    db.session.rollback()


def reachable() -> bool:
    """One round trip to the database (GET /health)."""
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError:
        db.session.rollback()
        return False
