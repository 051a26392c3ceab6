"""Fixtures: an app on a real database built by the migrations, a client, a CLI runner.

The suite runs on SQLite by default; set TEST_DATABASE_URL to run it all on PostgreSQL
(`.ci/run` does both). Tests that need PostgreSQL whatever the suite runs on use the
``postgres_url`` fixture: skipped locally when none answers, a failure in CI.
"""

import io
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import firebase_admin
import pytest
import sqlalchemy as sa
from firebase_admin import credentials
from flask_migrate import upgrade
from playwright.sync_api import sync_playwright
from sqlalchemy import insert, select, update

from companion.schedule import importing
from companion import auth, create_app, readcache
from companion.config import database_url
from companion.extensions import db
from companion.people.models import Attendee, Device
from companion.schedule import operations as schedule_ops
from companion.people import importer
from companion.schedule.models import Event, Room, Session, SessionPerson
from notifications import senders
from notifications.dispatcher import Dispatcher
from notifications.fake_fcm import FakeFCM
from notifications.models import OutboxMessage
from notifications.notify import notify
from notifications.senders import close_app

UTC = timezone.utc
# Panel 1 starts at 16:30 in Vienna on 30 March 2020: 14:30 UTC (summer time since the 29th).
PANEL_1_STARTS = datetime(2020, 3, 30, 14, 30, tzinfo=UTC)

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
            # the in-process dispatcher tests send from their own threads; the workers
            # (Workers, below) and tests/test_push_fcm.py send from a process of its own
            "PUSH_PROCESS": False,
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
            readcache.reads().close()


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
    importing.seed_conference(schedule_ops.conference_data())
    db.session.commit()
    return schedule_ops.get_event("alliance-2020")


SECOND_EVENT_PEOPLE = """email,name,organisation,country,roles
oona@example.org,Oona Organiser,FrabCon e.V.,DE,organiser
milo@example.org,Milo Moderator,,DE,moderator
sina@example.org,Sina Speaker,,AT,speaker
bea@example.org,Bea Besucherin,,DE,attendee
"""


@pytest.fixture
def second_event(conference):
    """FrabCon 2026 in Berlin beside the Alliance conference: one room, a talk (Sina
    speaks, Milo moderates) and a workshop, and its people as ``attendees import`` makes
    them. ``.event``, ``.room``, ``.talk``, ``.workshop``, ``.people`` and ``.codes`` (access
    codes) by email."""
    event = Event(slug="frabcon-2026", name="FrabCon 2026", starts_on=date(2026, 8, 21),
                  ends_on=date(2026, 8, 22), timezone="Europe/Berlin", venue="bcc Berlin",
                  languages=["en", "de"], hashtags=["#frabcon"])
    room = Room(event=event, key="saal-1", name="Saal 1")
    db.session.add_all([event, room])
    rows, problems = importer.read_rows(io.StringIO(SECOND_EVENT_PEOPLE))
    assert not problems, problems
    outcome = importer.import_rows(event, rows)
    people = {a.email: a for a in db.session.scalars(
        select(Attendee).where(Attendee.event_id == event.id))}
    berlin = ZoneInfo("Europe/Berlin")
    talk = Session(event=event, key="opening-talk", kind="keynote", title="Opening talk",
                   room=room, starts_at=datetime(2026, 8, 21, 10, 0, tzinfo=berlin),
                   ends_at=datetime(2026, 8, 21, 11, 0, tzinfo=berlin))
    talk.people = [
        SessionPerson(attendee=people["sina@example.org"], role="speaker"),
        SessionPerson(attendee=people["milo@example.org"], role="moderator", position=1),
    ]
    workshop = Session(event=event, key="workshop", kind="panel", title="Schedule workshop",
                       room=room, starts_at=datetime(2026, 8, 21, 11, 30, tzinfo=berlin),
                       ends_at=datetime(2026, 8, 21, 13, 0, tzinfo=berlin))
    db.session.add_all([talk, workshop])
    db.session.commit()
    return SimpleNamespace(event=event, room=room, talk=talk, workshop=workshop,
                           people=people, codes=dict(outcome.codes))


@pytest.fixture
def conference_ahead(conference):
    """The conference moved to Monday 29 and Tuesday 30 March 2027: ahead of the real
    clock, on summer time since the day before, as in 2020."""
    importing.seed_conference(schedule_ops.conference_data(), shift_to=date(2027, 3, 29))
    db.session.commit()
    return conference


@pytest.fixture
def by_key(conference):
    """The seeded sessions by their key: ``by_key["panel-1"]``."""
    return {s.key: s for s in db.session.scalars(sa.select(Session))}


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

    engines = [db.engine, readcache.reads().engine]  # the ORM's, and the read path's
    for engine in engines:
        sa.event.listen(engine, "before_cursor_execute", record)
    yield sent
    for engine in engines:
        sa.event.remove(engine, "before_cursor_execute", record)


# --- push: devices, outbox messages, dispatching, PostgreSQL -------------------


@pytest.fixture
def add_device(app):
    """``add_device(attendee, token=..., platform=...)``: a registered phone."""
    count = 0

    def add(attendee, token: str | None = None, platform: str = "android") -> Device:
        nonlocal count
        count += 1
        device = Device(attendee_id=attendee.id, token=token or f"fid-{attendee.id}-{count}",
                        platform=platform)
        db.session.add(device)
        db.session.commit()
        return device

    return add


@pytest.fixture
def queue(app):
    """``queue(attendee, due_at=..., ...)``: a message through ``notify``, committed like
    a change. An announcement of the given ``title`` and ``body``, sent as ``high``
    priority with the collapse key of session 5 unless told otherwise."""
    count = 0

    def put(attendee, due_at: datetime = PANEL_1_STARTS - timedelta(minutes=10),
            expires_at: datetime | None = PANEL_1_STARTS, key: str | None = None,
            title: str = "Panel 1", body: str = "Starts at 16:30 · Neuer Saal",
            data: dict | None = None, collapse_key: str | None = "session-5",
            priority: str = "high") -> OutboxMessage:
        nonlocal count
        count += 1
        key = key or f"test:{attendee.id}:{count}"
        notify("announcement", [attendee], {"title": title, "body": body},
               key=lambda _: key, due_at=due_at, expires_at=expires_at,
               data=data if data is not None else {"session_id": "5"}, priority=priority)
        db.session.execute(update(OutboxMessage).where(OutboxMessage.key == key)
                           .values(collapse_key=collapse_key))
        db.session.commit()
        return db.session.scalar(select(OutboxMessage).where(OutboxMessage.key == key))

    return put


@pytest.fixture
def dispatch(app):
    """``dispatch(now)``: one run through the sender the app's configuration names."""

    def run(now: datetime | None = None, **options):
        dispatcher = Dispatcher(senders.from_config(app.config), **options)
        try:
            return dispatcher.run_once(now=now)
        finally:
            dispatcher.sender.close()

    return run


@pytest.fixture
def reload():
    """``reload(row)``: the outbox row as the database has it now."""
    def fresh(row: OutboxMessage) -> OutboxMessage:
        db.session.expire_all()
        return db.session.get(OutboxMessage, row.id)

    return fresh


@pytest.fixture
def seed_recipients():
    """``seed_recipients(event, count, due_at, expires_at)``: see ``bulk_recipients``."""
    return bulk_recipients


def bulk_recipients(event, count: int,
                    due_at: datetime = PANEL_1_STARTS - timedelta(minutes=10),
                    expires_at: datetime = PANEL_1_STARTS) -> list[str]:
    """``count`` attendees, one device each, one message due for each; their FIDs."""
    ids = db.session.scalars(
        insert(Attendee).returning(Attendee.id),
        [{"event_id": event.id, "email": f"bulk{n}@example.org", "name": f"Bulk {n}"}
         for n in range(count)],
    ).all()
    fids = [f"fid-bulk-{attendee_id}" for attendee_id in ids]
    db.session.execute(insert(Device), [
        {"attendee_id": attendee_id, "token": fid, "platform": "android"}
        for attendee_id, fid in zip(ids, fids)
    ])
    db.session.execute(insert(OutboxMessage), [
        {"key": f"bulk:{attendee_id}", "kind": "test", "attendee_id": attendee_id,
         "title": "Panel 1", "body": "Starts at 16:30", "data": {"session_id": "5"},
         "collapse_key": "session-5", "status": "pending", "attempts": 0,
         "due_at": due_at, "next_attempt_at": due_at, "expires_at": expires_at,
         "delivered_to": []}
        for attendee_id in ids
    ])
    db.session.commit()
    return fids


@pytest.fixture
def statuses():
    """``statuses()``: how many outbox messages are in each status."""
    def count() -> dict[str, int]:
        rows = db.session.execute(
            select(OutboxMessage.status, db.func.count()).group_by(OutboxMessage.status)
        ).all()
        return dict(rows)

    return count


@pytest.fixture(scope="session")
def pg_migrated(postgres_url, database_uri):
    """``postgres_url`` with the schema; the suite's own database when that is it."""
    if postgres_url != database_uri:
        migrate_from_nothing(postgres_url)
    return postgres_url


@pytest.fixture
def make_pg_app(make_app, pg_migrated):
    """Apps on PostgreSQL whatever the suite runs on, starting from empty tables."""
    first = []

    def make():
        app = make_app(SQLALCHEMY_DATABASE_URI=pg_migrated)
        if not first:
            with app.app_context():
                empty_tables()
            first.append(app)
        return app

    yield make
    if first:
        with first[0].app_context():
            empty_tables()


@pytest.fixture
def pg_conference(make_pg_app):
    app = make_pg_app()
    with app.app_context():
        importing.seed_conference(schedule_ops.conference_data())
        db.session.commit()
    return app


# --- the fake FCM (notifications.fake_fcm) and firebase-admin apps signed in to it ---

@pytest.fixture(scope="session")
def fake_fcm_server():
    fake = FakeFCM().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_fcm(fake_fcm_server):
    """The fake FCM, forgetting what earlier tests sent and asked of it."""
    fake_fcm_server.reset()
    return fake_fcm_server


@pytest.fixture
def firebase_app(fake_fcm, tmp_path):
    """A named firebase-admin app whose credentials get their token from the fake."""
    path = fake_fcm.write_service_account(tmp_path / "service-account.json")
    app = firebase_admin.initialize_app(
        credentials.Certificate(path), {"httpTimeout": 5}, name=f"test-{uuid.uuid4().hex}"
    )
    yield app
    close_app(app)


class Workers:
    """Real ``flask --app wsgi notifications worker`` processes sending through
    firebase-admin to the fake FCM; whatever a test leaves running is stopped after it."""

    ROOT = Path(__file__).resolve().parents[1]

    def __init__(self, fake_fcm, account: str):
        self.fake_fcm = fake_fcm
        self.account = account
        self.started: list[subprocess.Popen] = []

    def start(self, database: str, log: Path, poll: float | None = 0.2,
              **env) -> subprocess.Popen:
        """One on ``database`` (development: no production keys asked), its output
        appended to ``log``; ``poll`` None leaves --poll out; ``env`` adds variables
        (``LOG_LEVEL="DEBUG"``)."""
        env = {**os.environ, "DATABASE_URL": database, "COMPANION_ENV": "development",
               "PUSH_BACKEND": "fcm", "FCM_ENDPOINT": self.fake_fcm.url,
               "FIREBASE_CREDENTIALS": self.account, "PYTHONUNBUFFERED": "1", **env}
        with open(log, "a") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "wsgi", "notifications", "worker",
                 *(["--poll", str(poll)] if poll is not None else [])],
                cwd=self.ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            )
        self.started.append(process)
        return process

    @staticmethod
    def stop(process: subprocess.Popen) -> int:
        """SIGTERM, as a deployment stops it (killed if still there 30 s later)."""
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    @staticmethod
    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    @staticmethod
    def children(process: subprocess.Popen) -> set[int]:
        """The process ids whose parent is ``process`` (its sender's process)."""
        found = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                # pid (comm) state ppid ...: comm may hold spaces, so read after its ')'
                ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
            if ppid == process.pid:
                found.add(int(stat.parent.name))
        return found

    @staticmethod
    def wait_for(condition, timeout: float, step: float = 0.05) -> bool:
        """Whether ``condition()`` came true within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(step)
        return False


@pytest.fixture
def workers(fake_fcm, tmp_path):
    started = Workers(fake_fcm, fake_fcm.write_service_account(tmp_path / "worker-account.json"))
    yield started
    for process in started.started:
        started.stop(process)


@pytest.fixture
def fcm(app, fake_fcm, firebase_app, tmp_path):
    """The companion app set to push through firebase-admin to the fake FCM."""
    app.config.update(
        PUSH_BACKEND="fcm", FIREBASE_APP_NAME=firebase_app.name,
        FIREBASE_CREDENTIALS=str(tmp_path / "service-account.json"),
        FCM_ENDPOINT=fake_fcm.url,
    )
    return fake_fcm


# --- a real browser: Debian's Chromium, driven by Playwright ----------------------------

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def chromium(request):
    """Headless Chromium, launched as this machine allows (no background networking);
    the test module's ``HOST`` resolves to 127.0.0.1. A failure in CI when missing."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is required in CI and is missing at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    args = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--host-resolver-rules=MAP {request.module.HOST} 127.0.0.1",
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        yield browser
        browser.close()
