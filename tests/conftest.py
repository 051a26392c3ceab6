"""Fixtures: an app on a real database built by the migrations, a client, a CLI runner.

The suite runs on SQLite by default; set TEST_DATABASE_URL to run it all on PostgreSQL
(`.ci/run` does both). Tests that need PostgreSQL whatever the suite runs on use the
``postgres_url`` fixture: skipped locally when none answers, a failure in CI.
"""

import os

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from companion import auth, create_app
from companion.config import database_url
from companion.extensions import db
from companion.people.models import Attendee
from companion.schedule import operations as schedule_ops

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def postgres_available(url: str) -> bool:
    engine = sa.create_engine(url)
    try:
        with engine.connect():
            return True
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_url():
    url = database_url(POSTGRES_URL)
    if not postgres_available(url):
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and does not answer at {url}")
        pytest.skip(f"no PostgreSQL at {url}")
    return url


@pytest.fixture(scope="session")
def database_uri(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        url = database_url(url)
        if not postgres_available(url) and os.environ.get("CI"):
            pytest.fail(f"TEST_DATABASE_URL does not answer: {url}")
        return url
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "companion.db")


def reset_schema(uri: str):
    """Drop everything so that the migrations build the schema from nothing."""
    engine = sa.create_engine(uri)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
        else:
            existing = sa.MetaData()
            existing.reflect(connection)
            existing.drop_all(connection)
    engine.dispose()


def migrate_from_nothing(uri: str) -> str:
    """The schema exactly as the migrations build it on an empty database."""
    reset_schema(uri)
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": uri})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return uri


@pytest.fixture(scope="session")
def migrated(database_uri):
    return migrate_from_nothing(database_uri)


def empty_tables():
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(t.name for t in tables)
        db.session.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture
def make_app(migrated):
    """Build an app on the migrated test database, with extra config."""

    made = []

    def make(**config):
        app = create_app({
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": migrated,
            "RATELIMIT_STORAGE_URI": "memory://",
            **config,
        })
        made.append(app)
        return app

    yield make
    for app in made:  # close pooled connections rather than leave them to the GC
        with app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture
def app(make_app):
    app = make_app()
    with app.app_context():
        empty_tables()
        yield app
        db.session.remove()
        empty_tables()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def conference(app):
    """The seeded 20th Alliance conference."""
    schedule_ops.seed_conference(schedule_ops.conference_data())
    db.session.commit()
    return schedule_ops.get_event("alliance-2020")


@pytest.fixture
def make_attendee(app, conference):
    """A maker of attendees of the seeded conference: ``make_attendee(roles=[...])``.

    ``code`` sets an access code (stored hashed, as the import does).
    """
    count = 0

    def make(code: str | None = None, **fields):
        nonlocal count
        count += 1
        values = {"event": conference, "email": f"attendee{count}@example.org",
                  "name": f"Attendee {count}", "roles": ["attendee"], **fields}
        attendee = Attendee(**values)
        if code is not None:
            attendee.access_code_hash = auth.hash_access_code(code)
        db.session.add(attendee)
        db.session.commit()
        return attendee

    return make


@pytest.fixture
def bearer(app):
    """Authorization headers of a fresh token: ``client.get(url, headers=bearer(who))``."""
    def headers(attendee) -> dict:
        token, _ = auth.issue_token(attendee)
        db.session.commit()
        return {"Authorization": f"Bearer {token}"}

    return headers


@pytest.fixture
def statements(app):
    """The SQL statements sent to the database, in order; ``statements.clear()`` to start."""
    sent: list[str] = []

    def record(connection, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    yield sent
    sa.event.remove(db.engine, "before_cursor_execute", record)
