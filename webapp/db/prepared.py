"""Statements for the agents' hot path, compiled once per dialect and run on the DBAPI cursor.

SQLAlchemy builds the SQL (so it stays portable between SQLite and PostgreSQL) and supplies each
column's own result processor; per call we only bind, execute and decode. This skips the
per-execution work of Connection.execute, which costs more than the query itself here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable

from flask import current_app, g
from sqlalchemy import event, select, true

from webapp.db.orm import db
from webapp.db.read_cache import ReadCache, watch_tables_of


@dataclass(frozen=True)
class _Prepared:
    sql: str
    bind_names: tuple[str, ...] | None  # positional order, or None for named paramstyles
    defaults: dict[str, Any]
    names: tuple[str, ...]
    converters: tuple[tuple[str, Callable], ...]  # the columns whose values need decoding, and how


class PreparedQuery:
    """`cacheable`: its rows may be kept between requests when fetched by together() (a commit to
    one of its tables then tells every process: webapp/db/read_cache.py)."""

    def __init__(self, statement, *, cacheable: bool = False):
        self.statement, self.cacheable = statement, cacheable
        self._by_dialect: dict[str, _Prepared] = {}
        if cacheable:
            watch_tables_of(statement)

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
        """Run on this app context's read connection; yield each row as a dict of decoded values
        (or the rows `together()` already fetched for these parameters)."""
        remembered = g.get("_prefetched")
        if remembered:
            found = remembered.pop((self, _params_key(params)), None)
            if found is not None:
                yield from found
                return
        reader = connection()
        dialect = reader.dialect
        prepared = self._by_dialect.get(dialect.name)
        if prepared is None:
            prepared = self._by_dialect[dialect.name] = self._prepare(dialect)
        values = {**prepared.defaults, **(params or {})}
        arguments = tuple(values[name] for name in prepared.bind_names) if prepared.bind_names else values
        fetched = reader.fetch(prepared.sql, arguments)
        names, converters = prepared.names, prepared.converters
        for row in fetched:
            values = dict(zip(names, row))
            for name, process in converters:
                if values[name] is not None:
                    values[name] = process(values[name])
            yield values


class KeptRow(dict):
    """A row the worker keeps (webapp/db/read_cache.py), built afresh for each request; its
    `memo` is shared by every request served from the same kept row (see derived())."""

    __slots__ = ("memo",)


def derived(row: dict, name: str, compute: Callable[[dict], Any]) -> Any:
    """compute(row), worked out once for as long as the worker keeps the row (a KeptRow), else
    each time. `compute` must depend on the row alone, and what it returns must never be changed:
    the next requests get the same object."""
    memo = getattr(row, "memo", None)
    if memo is None:
        return compute(row)
    try:
        return memo[name]
    except KeyError:
        value = memo[name] = compute(row)
        return value


def _params_key(params: dict | None) -> tuple:
    return tuple(sorted((params or {}).items()))


_PAIRS: dict[tuple, PreparedQuery] = {}


def _pair(first: PreparedQuery, second: PreparedQuery) -> PreparedQuery:
    pair = _PAIRS.get((first, second))
    if pair is None:
        a, b = first.statement.subquery("a"), second.statement.subquery("b")
        # Short labels keep the SQL under psycopg's 4 KB cache for parsed statements.
        statement = (select(*[c.label(f"a{n}") for n, c in enumerate(a.c)],
                            *[c.label(f"b{n}") for n, c in enumerate(b.c)])
                     .select_from(a.outerjoin(b, true())))
        pair = _PAIRS[(first, second)] = PreparedQuery(statement, cacheable=first.cacheable and second.cacheable)
        pair.split = ([c.key for c in a.c], [c.key for c in b.c])
    return pair


def together(first: tuple[PreparedQuery, dict], second: tuple[PreparedQuery, dict],
             cache: ReadCache | None = None) -> tuple | None:
    """Run two lookups of at most one row each as one statement, one round trip; each lookup's own
    `.rows()` call with the same parameters is then answered from memory (once).

    The second lookup rides on the first: when the first finds nothing, the second is not known
    and runs on its own if it is asked for. Their bind parameters must have different names.

    With a `cache` (both lookups cacheable), rows found are kept, tagged with the generation the
    cache last saw, and served again while they may still be current: then the answer is
    (key, tag), for the caller to check the tag against the generation it reads next (and to
    call again without the cache if it changed). Otherwise None.
    """
    (query_a, params_a), (query_b, params_b) = first, second
    if set(params_a) & set(params_b):
        raise ValueError("together(): the two lookups share a parameter name")
    pair = _pair(query_a, query_b)
    params = {**params_a, **params_b}
    served = None
    memos = None  # per kept row, (first's, second's): what derived() worked out from them
    if cache is not None and pair.cacheable:
        key = (pair, _params_key(params))
        kept = cache.get(key)
        if kept is not None:
            (rows, memos), tag = kept
            served = (key, tag)
        else:
            tag = cache.seen  # seen before this read began (see webapp/db/read_cache.py)
            rows = [tuple(row.values()) for row in pair.rows(params)]
            if rows:  # nothing is kept for a token that does not exist (guessing fills no memory)
                memos = [({}, {}) for _ in rows]
                cache.put(key, (rows, memos), tag)
    else:
        rows = [tuple(row.values()) for row in pair.rows(params)]
    names_a, names_b = pair.split
    remembered = g.get("_prefetched")
    if remembered is None:
        remembered = g._prefetched = {}
    memos = memos or [(None, None)] * len(rows)
    remembered[(query_a, _params_key(params_a))] = [_row(names_a, row, memo) for row, (memo, _) in zip(rows, memos)]
    if rows:
        b_rows = [_row(names_b, row[len(names_a):], memo) for row, (_, memo) in zip(rows, memos)]
        remembered[(query_b, _params_key(params_b))] = [r for r in b_rows if any(v is not None for v in r.values())]
    return served


def _row(names, values, memo: dict | None) -> dict:
    if memo is None:
        return dict(zip(names, values))
    row = KeptRow(zip(names, values))
    row.memo = memo
    return row


class ReadPool:
    """Autocommit DBAPI connections for the prepared reads, kept apart from SQLAlchemy's pool: a
    request's reads need no transaction, so nothing is rolled back when it ends and nothing is
    pinged before each use (two round trips fewer to PostgreSQL per agent call). A connection that
    fails is dropped and the read tried once more on a new one (a restarted server)."""

    def __init__(self, engine, *, size: int, wait: float):
        self.engine, self.dialect = engine, engine.dialect
        self.size, self.wait = size, wait
        self._idle: list = []  # every connection made is kept; list.pop and append are atomic
        self._slots = threading.BoundedSemaphore(size)  # gevent's, in C, under gevent workers
        event.listen(engine, "engine_disposed", lambda _engine: self.dispose())

    def acquire(self) -> "ReadConnection":
        if not self._slots.acquire(timeout=self.wait):
            raise ReadPoolTimeout(f"no database connection free within {self.wait} s")
        try:
            try:
                dbapi = self._idle.pop()
            except IndexError:
                dbapi = self._new()
            return ReadConnection(self, dbapi)
        except BaseException:
            self._give_back(None)
            raise

    def _new(self):
        fairy = self.engine.raw_connection()  # made through the engine: its connect events (pragmas) run
        dbapi = fairy.dbapi_connection
        fairy.detach()
        if hasattr(dbapi, "autocommit"):
            dbapi.autocommit = True  # psycopg: each read its own implicit transaction
        return dbapi

    def release(self, dbapi) -> None:
        self._give_back(dbapi)

    def _give_back(self, dbapi) -> None:
        if dbapi is not None:
            self._idle.append(dbapi)
        self._slots.release()

    def dispose(self) -> None:
        idle, self._idle = self._idle, []
        for dbapi in idle:
            _close(dbapi)


class ReadPoolTimeout(TimeoutError):
    """Every read connection stayed busy for the whole wait."""


def _close(dbapi) -> None:
    try:
        dbapi.close()
    except Exception:  # already broken: nothing to give back
        pass


class ReadConnection:
    """One request's read connection, with its dialect."""

    def __init__(self, pool: ReadPool, dbapi):
        self.pool, self.dbapi, self.dialect = pool, dbapi, pool.dialect

    def fetch(self, sql: str, arguments) -> list:
        for attempt in (1, 2):
            try:
                cursor = self.dbapi.cursor()
                try:
                    cursor.execute(sql, arguments)
                    return cursor.fetchall()
                finally:
                    cursor.close()
            except self.dialect.loaded_dbapi.OperationalError:
                if attempt == 2:
                    raise
                _close(self.dbapi)
                self.dbapi = self.pool._new()
        raise AssertionError("unreachable")

    def release(self) -> None:
        self.pool.release(self.dbapi)


def _pool() -> ReadPool:
    pool = current_app.extensions.get("agentdesk.read_pool")
    if pool is None or pool.engine is not db.engine:
        config = current_app.config
        pool = current_app.extensions["agentdesk.read_pool"] = ReadPool(
            db.engine, size=config["READ_POOL_SIZE"], wait=config["READ_POOL_WAIT"])
    return pool


def connection() -> ReadConnection:
    """This app context's read connection: taken from the read pool once, given back at teardown."""
    reader = g.get("_read_connection")
    if reader is None:
        reader = g._read_connection = _pool().acquire()
    return reader


def release_connection(_exc=None) -> None:
    reader = g.pop("_read_connection", None)
    if reader is not None:
        reader.release()


def init_app(app) -> None:
    app.teardown_appcontext(release_connection)
