"""Fixtures of the push tests: devices, outbox messages, dispatching, PostgreSQL.

Import the ones a test module uses (with the fake FCM's, from ``fakefcm``).
"""

from datetime import datetime, timedelta, timezone

import pytest
from conftest import empty_tables, migrate_from_nothing
from sqlalchemy import insert, select

from companion.extensions import db
from companion.people.models import Attendee, Device
from companion.schedule import operations as schedule_ops
from notifications import outbox, senders
from notifications.dispatcher import Dispatcher
from notifications.models import OutboxMessage

UTC = timezone.utc
# Panel 1 starts at 16:30 in Vienna on 30 March 2020: 14:30 UTC (summer time since the 29th).
PANEL_1_STARTS = datetime(2020, 3, 30, 14, 30, tzinfo=UTC)
NOW = PANEL_1_STARTS - timedelta(minutes=10)


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
    """``queue(attendee, due_at=..., ...)``: an outbox message, committed like a change."""
    count = 0

    def put(attendee, due_at: datetime = NOW, expires_at: datetime | None = PANEL_1_STARTS,
            **fields) -> OutboxMessage:
        nonlocal count
        count += 1
        values = {"key": f"test:{attendee.id}:{count}", "kind": "test", "title": "Panel 1",
                  "body": "Starts at 16:30 · Neuer Saal", "data": {"session_id": "5"},
                  "collapse_key": "session-5", **fields}
        row = outbox.put(attendee_id=attendee.id, due_at=due_at, expires_at=expires_at,
                         **values)
        db.session.commit()
        return row

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


def reload(row: OutboxMessage) -> OutboxMessage:
    db.session.expire_all()
    return db.session.get(OutboxMessage, row.id)


def seed_recipients(event, count: int, due_at: datetime = NOW,
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


def statuses() -> dict[str, int]:
    rows = db.session.execute(
        select(OutboxMessage.status, db.func.count()).group_by(OutboxMessage.status)
    ).all()
    return dict(rows)


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
        schedule_ops.seed_conference(schedule_ops.conference_data())
        db.session.commit()
    return app
