"""The schema the app uses is the one the migrations build."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from companion.extensions import db


def test_migrations_match_the_models(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_tables_exist_after_upgrade(app):
    names = set(sa.inspect(db.engine).get_table_names())
    assert {"events", "rooms", "sessions", "attendees", "alembic_version"} <= names
