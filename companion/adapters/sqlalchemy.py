"""SQLAlchemy internals used by the read path's raw statements (companion/readcache.py)."""

from collections.abc import Mapping, Sequence

import sqlalchemy as sa


def result_columns(compiled: sa.sql.compiler.SQLCompiler) -> list[tuple[str, sa.types.TypeEngine]]:
    """The name and type of each column a compiled SELECT returns, in order, as the
    compiler labelled them: ``Select.selected_columns`` has the same types, but names an
    unlabelled ``count()`` "count" where the rows say "count_1" (and "anon_1")."""
    return [(name, type_) for name, _key, _objects, type_ in compiled._result_columns]


def announce_cursor_execute(connection: sa.Connection, sql: str,
                            values: Mapping | Sequence) -> None:
    """Tell the engine's ``before_cursor_execute`` listeners (logging, the tests'
    statement count) of a statement run on the DBAPI cursor directly. There is no
    execution context then; ``exec_driver_sql`` would make one, the cost avoided."""
    engine = connection.engine
    if engine.dispatch.before_cursor_execute:
        engine.dispatch.before_cursor_execute(connection, None, sql, values, None, False)
