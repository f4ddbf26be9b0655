"""Statements for the agents' hot path, compiled once per dialect and run on the DBAPI cursor.

SQLAlchemy builds the SQL (so it stays portable between SQLite and PostgreSQL) and supplies each
column's own result processor; per call we only bind, execute and decode. This skips the
per-execution work of Connection.execute, which costs more than the query itself here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class _Prepared:
    sql: str
    bind_names: tuple[str, ...] | None  # positional order, or None for named paramstyles
    defaults: dict[str, Any]
    names: tuple[str, ...]
    processors: tuple[Callable | None, ...]


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
                         processors=processors)

    def rows(self, dbapi_connection, dialect, params: dict | None = None):
        """Yield each row as a dict of decoded values."""
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
        names = prepared.names
        converters = [(name, process) for name, process in zip(names, prepared.processors) if process is not None]
        for row in fetched:
            values = dict(zip(names, row))
            for name, process in converters:
                if values[name] is not None:
                    values[name] = process(values[name])
            yield values
