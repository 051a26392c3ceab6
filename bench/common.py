"""What the bench scripts share (each runs as ``python bench/NAME.py``; bench/ is then
on the import path, so ``import common`` needs no edits)."""

from pathlib import Path

import sqlalchemy as sa

from companion.config import database_url


def fresh_database(url: str | None, workdir: Path) -> str:
    """A fresh SQLite file in ``workdir``, or ``url`` with its schema DROPPED and empty."""
    if url is None:
        return f"sqlite:///{workdir / 'bench.db'}"
    url = database_url(url)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    return url
