"""Public reads kept whole, per released version: the answer is built once per version.

The public agenda changes only when a release applies (companion/schedule/releasing.py):
drafts never touch the live tables. So a public answer (its body, status and headers,
ETag included) can be kept under a key holding the version, and served again until the
key changes: a release changes the version, so the next request misses and builds anew.
Nothing needs clearing; old keys are simply never asked again (the store is bounded).

The store is per app (``app.extensions``) and per process: each gunicorn worker builds an
answer once per version. The key itself is read from the database on every request (one
small query, through ``read_row``), so a release made through another worker is seen at
once.
"""

import threading
from collections import namedtuple
from collections.abc import Callable, Hashable
from functools import wraps
from typing import Any

import sqlalchemy as sa
from flask import Response, current_app, request
from sqlalchemy.exc import DBAPIError

from .adapters.sqlalchemy import announce_cursor_execute, result_columns
from .extensions import db

# Distinct keys kept per app before the store starts again (a handful of query
# variants per event and version is all a conference uses).
MAX_ENTRIES = 1024
# Headers of a kept answer served again; the after-request hooks add the rest anew.
KEPT_HEADERS = ("Content-Type", "ETag", "X-Pagination", "Link")


class Store:
    def __init__(self):
        self.entries: dict[Hashable, tuple[bytes, int, list[tuple[str, str]]]] = {}
        self.lock = threading.Lock()

    def get(self, key):
        return self.entries.get(key)

    def put(self, key, entry) -> None:
        with self.lock:
            if len(self.entries) >= MAX_ENTRIES:
                self.entries.clear()
            self.entries[key] = entry


class Prepared:
    """A read statement compiled once for the dialect and run on the DBAPI connection
    itself: SQLAlchemy's execution (cache key, context, result) cost twice the database's
    own time for these one-row queries (66 against 30 µs on SQLite). Binds and results
    are still converted by the statement's own types, and the engine's
    ``before_cursor_execute`` listeners (logging, tracing, the tests' statement count)
    still see the statement."""

    def __init__(self, statement, dialect):
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self.positions = compiled.positiontup  # None for named parameters
        # The caller's parameters (by key: compiled name, conversion), and the literals.
        self.given: dict[str, tuple[str, Callable | None]] = {}
        self.literals: dict[str, Any] = {}
        for bind, name in compiled.bind_names.items():
            convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if bind.required:
                self.given[bind.key] = (name, convert)
            else:
                value = bind.effective_value
                self.literals[name] = value if convert is None else convert(value)
        columns = result_columns(compiled)
        self.converters = [type_.dialect_impl(dialect).result_processor(dialect, None)
                           for _, type_ in columns]
        self.row = namedtuple("Row", [name for name, _ in columns], rename=True)

    def parameters(self, params: dict):
        values = dict(self.literals)
        for key, (name, convert) in self.given.items():
            value = params[key]
            values[name] = value if convert is None else convert(value)
        return values if self.positions is None else tuple(values[n] for n in self.positions)

    def rows(self, connection: sa.Connection, params: dict) -> list:
        values = self.parameters(params)
        engine = connection.engine
        announce_cursor_execute(connection, self.sql, values)
        raw = connection.connection.dbapi_connection
        cursor = raw.cursor()
        try:
            cursor.execute(self.sql, values)
            found = cursor.fetchall()
        except engine.dialect.loaded_dbapi.Error as error:
            raise sa.exc.DBAPIError.instance(
                self.sql, values, error, engine.dialect.loaded_dbapi.Error,
                connection_invalidated=engine.dialect.is_disconnect(error, raw, cursor),
                dialect=engine.dialect) from error
        finally:
            cursor.close()
        converters = self.converters
        return [self.row(*[value if convert is None else convert(value)
                           for convert, value in zip(converters, values_)])
                for values_ in found]


class Reads(threading.local):
    """The app's engine for ``read_rows`` (same database, autocommit, no ping on
    checkout), and each thread's one connection to it, kept between requests."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self.connection: sa.Connection | None = None
        self.prepared: dict = {}

    def rows(self, statement, params: dict) -> list:
        """The rows, on this thread's connection; a connection that failed is dropped."""
        prepared = self.prepared.get(statement)
        if prepared is None:
            prepared = self.prepared[statement] = Prepared(statement, self.engine.dialect)
        if self.connection is None:
            self.connection = self.engine.connect()
        try:
            return prepared.rows(self.connection, params)
        except DBAPIError as error:
            if error.connection_invalidated:
                self.connection.invalidate()
            self.connection.close()
            self.connection = None
            raise

    def close(self) -> None:
        """Close this thread's connection and the engine's pool (tests, between apps)."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None
        self.engine.dispose()


def reads() -> Reads:
    found = current_app.extensions.get("reads")
    if found is None:
        options = current_app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})
        engine = sa.create_engine(db.engine.url, **{
            **options, "isolation_level": "AUTOCOMMIT", "pool_pre_ping": False})
        found = current_app.extensions.setdefault("reads", Reads(engine))
    return found


def read_rows(statement, params: dict | None = None) -> list:
    """The rows of a small read-only query, outside the request's ORM session.

    The version counters that every kept answer and every 304 are keyed on take ~12 µs
    of the database's time; through the ORM session (its checkout with a ping, the
    transaction, the commit) the same query cost 200 µs (SQLite, bench/reads.py), and a
    checkout from a pool for each query still half of that. So they run in autocommit,
    on one connection per thread that is kept: a connection the database dropped fails
    once, is replaced, and the query runs again.
    """
    try:
        return reads().rows(statement, params or {})
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
    return reads().rows(statement, params or {})


def read_row(statement, params: dict | None = None):
    """The first row of ``read_rows``, or None."""
    rows = read_rows(statement, params)
    return rows[0] if rows else None


def store() -> Store:
    return current_app.extensions.setdefault("read_cache", Store())


def kept_per_version(key_of: Callable[..., Hashable | None]):
    """Keep a GET view's 200 answers under ``key_of(**view_kwargs)`` (None: don't keep).

    The key must change whenever the answer may: take the released version in it. The
    request's query string is added to the key here. Put it outermost, above the
    blueprint's ``etag``: a kept answer is served, or answered 304, without the view.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            key = key_of(**kwargs)
            if key is None or request.method != "GET":
                return view(*args, **kwargs)
            key = (request.endpoint, key, request.query_string)
            kept = store().get(key)
            if kept is None:
                response = current_app.make_response(view(*args, **kwargs))
                if response.status_code != 200 or response.direct_passthrough:
                    return response
                headers = [(name, value) for name, value in response.headers.items()
                           if name in KEPT_HEADERS]
                store().put(key, (response.get_data(), 200, headers))
                return response
            body, status, headers = kept
            etag = dict(headers).get("ETag")
            if etag is not None and request.if_none_match.contains_weak(etag.strip('"')):
                response = Response(status=304)
                response.headers["ETag"] = etag
                return response
            return Response(body, status=status, headers=headers)

        return wrapper

    return decorator
