"""What pages and APIs may ask of the database directly: discard a failed transaction, tell a
busy or unreachable database from a bug, check that it answers. Everything else goes through a
feature's service."""

import sqlite3

import psycopg
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from webapp.db.orm import db
from webapp.db.prepared import ReadPoolTimeout

# The same, raised by a driver directly (the prepared reads run on DBAPI connections).
DRIVER_UNAVAILABLE = (sqlite3.OperationalError, psycopg.OperationalError, ReadPoolTimeout)


def discard_changes() -> None:
    """Roll back whatever a failed request left in the session, so an error page can still query."""
    db.session.rollback()


def unavailable(error: BaseException) -> bool:
    """The database could not serve the request just now (locked by another writer, restarting,
    unreachable, out of pooled connections): a 503 to retry, not a bug."""
    return isinstance(error, (OperationalError, PoolTimeout, *DRIVER_UNAVAILABLE)) or (
        isinstance(error, DBAPIError) and error.connection_invalidated)


def reachable() -> bool:
    """One round trip to the database (GET /health)."""
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError:
        db.session.rollback()
        return False
