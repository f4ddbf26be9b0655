"""Statements for the agents' hot path, compiled once per dialect and run on the DBAPI cursor.

SQLAlchemy builds the SQL (so it stays portable between SQLite and PostgreSQL) and supplies each
column's own result processor; per call we only bind, execute and decode. This skips the
per-execution work of Connection.execute, which costs more than the query itself here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from flask import g

from webapp.db.orm import db


@dataclass(frozen=True)
class _Prepared:
    sql: str
    bind_names: tuple[str, ...] | None  # positional order, or None for named paramstyles
    defaults: dict[str, Any]
    names: tuple[str, ...]
    converters: tuple[tuple[str, Callable], ...]  # the columns whose values need decoding, and how


class PreparedQuery:
    def __init__(self, statement):
        self.statement = statement
        self._by_dialect: dict[str, _Prepared] = {}

    def _prepare(self, dialect) -> _Prepared:
        compiled = self.statement.compile(dialect=dialect)
        columns = list(self.statement.selected_columns)
        processors = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns)
        return _Prepared(sql=compiled.string,
                         bind_names=tuple(compiled.positiontup) if dialect.positional else None,
                         defaults={name: bind.value for name, bind in compiled.binds.items() if bind.value is not None},
                         names=tuple(c.key for c in columns),
                         converters=tuple((c.key, p) for c, p in zip(columns, processors) if p is not None))

    def rows(self, params: dict | None = None):
        """Run on this app context's raw connection; yield each row as a dict of decoded values."""
        raw = connection()
        dbapi_connection, dialect = raw.connection, raw.dialect
        prepared = self._by_dialect.get(dialect.name)
        if prepared is None:
            prepared = self._by_dialect[dialect.name] = self._prepare(dialect)
        values = {**prepared.defaults, **(params or {})}
        arguments = tuple(values[name] for name in prepared.bind_names) if prepared.bind_names else values
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(prepared.sql, arguments)
            fetched = cursor.fetchall()
        finally:
            cursor.close()
        names, converters = prepared.names, prepared.converters
        for row in fetched:
            values = dict(zip(names, row))
            for name, process in converters:
                if values[name] is not None:
                    values[name] = process(values[name])
            yield values


@dataclass(frozen=True)
class RawConnection:
    """A pooled DBAPI connection and its dialect."""

    connection: object
    dialect: object


def connection() -> RawConnection:
    """The DBAPI connection of this app context: checked out of the pool once, returned at teardown
    (like db.session, which the prepared statements bypass)."""
    raw = g.get("_raw_db_connection")
    if raw is None:
        engine = db.engine
        raw = g._raw_db_connection = RawConnection(engine.raw_connection(), engine.dialect)
    return raw


def release_connection(_exc=None) -> None:
    raw = g.pop("_raw_db_connection", None)
    if raw is not None:
        raw.connection.close()  # back to the pool, which rolls it back


def init_app(app) -> None:
    app.teardown_appcontext(release_connection)
