"""Generic database helpers, the same on SQLite and PostgreSQL."""

import json
from collections.abc import Collection, Iterator

from sqlalchemy import Integer, Row, Select, String, bindparam, cast, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from .extensions import db

# Ids per query: far below the bound-parameter limits of SQLite and PostgreSQL.
ID_CHUNK = 5000


def id_in(column, ids: Collection[int]):
    """An integer ``column`` is one of ``ids``, however many, with ONE bound parameter:
    an array on PostgreSQL (``IN (SELECT unnest(:ids))``), a JSON array read by
    ``json_each`` on SQLite. An ``IN`` list binds, renders and (psycopg) parses each
    id: thousands cost more than the query itself. A subquery rather than
    ``= ANY(:ids)``: negated, the planners hash it rather than scan the array per row."""
    return column.in_(select(each_id(ids)))


def each_id(ids: Collection[int]):
    """Each of ``ids``, bound as ONE parameter (see `id_in`), as a column expression:
    ``select(f(each_id(ids)))`` is ``f`` of each id."""
    return each_of(bindparam(None, ids_text(ids), type_=String))


def ids_text(ids: Collection[int]) -> str:
    """``ids`` as the one parameter `each_of` reads: an array's text on PostgreSQL (cast
    by the server: psycopg dumps a list of ints in Python, 2 ms per 5,000 of them), a
    JSON array on SQLite."""
    if db.session.get_bind().dialect.name == "postgresql":
        return "{" + ",".join(str(int(i)) for i in ids) + "}"
    return json.dumps([int(i) for i in ids])


def each_of(parameter):
    """Each id of a parameter bound to `ids_text`, as a column expression (for a
    statement built once and executed with ``ids_text(ids)``)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.unnest(cast(parameter, postgresql.ARRAY(Integer)))
    return func.json_each(parameter).table_valued("value").c.value


class Unindexed(ColumnElement):
    """A column's value, spelt so that the planner looks up no index for a term on it:
    ``+column`` on SQLite (a no-op), ``(column || '')`` (text) or ``(column + 0)`` on
    PostgreSQL. For a query with a better way in, which a planner without statistics
    would trade for an equality on a non-unique index: SQLite has none unless ANALYZE
    ran (and then guesses ten rows for one value), PostgreSQL none yet after a bulk
    load."""

    inherit_cache = True
    _traverse_internals = (("column", InternalTraversal.dp_clauseelement),)

    def __init__(self, column):
        self.column = column
        self.type = column.type


@compiles(Unindexed)
def _unindexed(element, compiler, **kw):
    nothing = "|| ''" if isinstance(element.type, String) else "+ 0"
    return f"({compiler.process(element.column, **kw)} {nothing})"


@compiles(Unindexed, "sqlite")
def _unindexed_sqlite(element, compiler, **kw):
    return f"+{compiler.process(element.column, **kw)}"


def rows_in(statement: Select, column, ids: list[int]) -> Iterator[Row]:
    """The rows of ``statement`` whose ``column`` is one of ``ids``, a chunk at a time."""
    for start in range(0, len(ids), ID_CHUNK):
        yield from db.session.execute(statement.where(column.in_(ids[start:start + ID_CHUNK])))


def dialect_insert(model):
    """INSERT with ``on_conflict_do_*`` for the database in use."""
    dialect = {"postgresql": postgresql, "sqlite": sqlite}[db.session.get_bind().dialect.name]
    return dialect.insert(model)


def upsert(model, values: dict, keys: list[str], update: list[str]) -> None:
    """Insert a row or update it in one statement, on SQLite and PostgreSQL alike.

    Two requests making the same choice at once both succeed, neither sees a conflict.
    """
    statement = dialect_insert(model).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=keys, set_={name: statement.excluded[name] for name in update}
    )
    db.session.execute(statement)


def commit_request(response):
    """One transaction per request: what a request did is committed here, once, when it
    succeeded; a failed one (an error answer or an exception) leaves nothing behind.
    A request that never used the session (a kept answer, a 304) has nothing to end."""
    if not db.session.registry.has() or not db.session().in_transaction():
        return response
    if response.status_code < 400:
        db.session.commit()
    else:
        db.session.rollback()
    return response
