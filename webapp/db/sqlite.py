"""SQLite as a real embedded database: WAL journal, enforced foreign keys, a busy timeout, and a
file only its owner can read (it holds password hashes and encrypted keys)."""

import os
import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine


@event.listens_for(Engine, "do_connect")
def _private_file(dialect, connection_record, cargs, cparams):
    """Create the database file 0600 before SQLite does (SQLite gives its -wal and -shm files the
    database file's mode), and tighten one an older version created 0644."""
    if dialect.name != "sqlite":
        return
    path = cargs[0] if cargs else cparams.get("database", "")
    if not path or path == ":memory:" or str(path).startswith("file:"):
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        for name in (path, f"{path}-wal", f"{path}-shm"):
            try:
                if os.stat(name).st_mode & 0o077:
                    os.chmod(name, 0o600)
            except OSError:  # not there, or not ours to change: SQLite reports what matters
                pass
    except OSError:
        pass  # a missing directory: let SQLite raise its own error


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable in WAL mode, without an fsync per commit
        cursor.execute("PRAGMA foreign_keys=ON")  # the lock wait is sqlite3's timeout (SQLITE_BUSY_TIMEOUT)
        cursor.close()
