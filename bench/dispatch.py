"""The dispatcher against raw firebase-admin ``send_each``: same messages, same fake FCM.

    python bench/dispatch.py [--attendees 5000] [--rounds 3] [--database-url URL]

Seeds that many attendees with one device each and plans their Panel 1 reminders
(``reminders.sync_session``). Then, each round:
- dispatcher: the reminders are made due 2 s ahead and a `Worker` (what
  ``flask notifications worker`` runs) sends them all; timed from due to the last
  message's arrival at the fake;
- raw: the same messages go through ``messaging.send_each`` in batches of 500, and
  nothing else; timed from the first call to the last message's arrival.
The fake FCM (notifications/fake_fcm.py) runs in its own process, as FCM would, and both sides
use the same firebase-admin app. Prints both throughputs, the ratio (target >= 0.9)
and how long after due the first message arrived (target <= 1 s).

Without --database-url it uses a fresh SQLite file; with one, that database's schema
is DROPPED and rebuilt first.
"""

import argparse
import statistics
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import firebase_admin
import sqlalchemy as sa
from common import (add_crowd, add_sender_option, fresh_database, make_sender, reset_fake,
                    start_fake, stats, vacuum_outbox)
from firebase_admin import credentials, messaging
from flask_migrate import upgrade

from companion.schedule import importing
from companion import create_app
from companion.extensions import db
from companion.people.models import Device
from companion.schedule import operations as schedule_ops
from companion.schedule.models import Session
from companion.timeutil import utcnow
from notifications import reminders
from notifications.dispatcher import Dispatcher, Worker
from notifications.models import InboxNotification, OutboxMessage
from notifications.senders import Push, Sender, close_app, fcm_message

LEAD = 2.0  # seconds between making the reminders due-to-be and their due time






def seed(count: int) -> Session:
    importing.seed_conference(schedule_ops.conference_data())
    db.session.commit()
    event = schedule_ops.get_event("alliance-2020")
    add_crowd(event, count)
    db.session.commit()
    return db.session.scalar(sa.select(Session).where(Session.key == "panel-1"))


def make_due(due) -> None:
    """Every reminder pending again, due at ``due``, expiring 10 minutes later; on
    PostgreSQL the dead row versions of the reset vacuumed away (common.vacuum_outbox)."""
    db.session.execute(sa.delete(InboxNotification))
    db.session.execute(sa.update(OutboxMessage).values(
        status="pending", attempts=0, due_at=due, next_attempt_at=due,
        expires_at=due + timedelta(minutes=10), locked_until=None, delivered_to=[],
        sent_at=None, last_error=None,
    ))
    db.session.commit()
    vacuum_outbox(db.engine)


def raw_messages(now) -> list[messaging.Message]:
    """The messages the dispatcher sends, built the same way, for the raw run."""
    rows = db.session.execute(
        sa.select(OutboxMessage, Device.id, Device.token, Device.platform)
        .join(Device, Device.attendee_id == OutboxMessage.attendee_id)
        .order_by(OutboxMessage.id)
    ).all()
    return [
        fcm_message(Push(m.id, device_id, token, platform, m.title, m.body,
                         {**m.data, "notification_id": str(m.id)}, m.collapse_key,
                         now + timedelta(minutes=10)), now)
        for m, device_id, token, platform in rows
    ]


def run_dispatcher(app, sender: Sender, fake_url: str, count: int) -> tuple[float, float]:
    """Seconds from due to the last arrival at the fake, and to the first one."""
    reset_fake(fake_url)
    due = utcnow() + timedelta(seconds=LEAD)
    make_due(due)
    worker = Worker(Dispatcher(sender), poll=1.0)

    def work():
        with app.app_context():
            worker.run()

    thread = threading.Thread(target=work)
    thread.start()
    while (arrived := stats(fake_url))["received"] < count:
        time.sleep(0.2)  # rarely: the worker's threads need the GIL more than we do
    worker.stop()
    thread.join()
    sent = db.session.scalar(
        sa.select(sa.func.count()).where(OutboxMessage.status == "sent")
    )
    assert sent == count, f"{sent} of {count} sent"
    return arrived["last_at"] - due.timestamp(), arrived["first_at"] - due.timestamp()


def run_raw(firebase: firebase_admin.App, fake_url: str, count: int) -> float:
    """Seconds from the first send_each call to the last arrival at the fake."""
    reset_fake(fake_url)
    batches = [batch for batch in chunks(raw_messages(utcnow()), 500)]
    started = time.time()
    for batch in batches:
        response = messaging.send_each(batch, app=firebase)
        assert response.success_count == len(batch)
    arrived = stats(fake_url)
    assert arrived["received"] == count
    return arrived["last_at"] - started


def chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attendees", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None,
                        help="a database to use; its schema is dropped first")
    add_sender_option(parser)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        fake, fake_url, account = start_fake(workdir)
        firebase = firebase_admin.initialize_app(
            credentials.Certificate(account), {"httpTimeout": 10}, name="bench"
        )
        app = create_app({"SQLALCHEMY_DATABASE_URI": fresh_database(args.database_url, workdir)})
        try:
            with app.app_context():
                upgrade()
                print(f"database: {db.engine.dialect.name}; firebase-admin "
                      f"{firebase_admin.__version__}; fake FCM at {fake_url} (own process)")
                panel = seed(args.attendees)
                started = time.perf_counter()
                planned = reminders.sync_session(panel)
                db.session.commit()
                print(f"planned {planned.wanted} Panel 1 reminders with sync_session in "
                      f"{time.perf_counter() - started:.1f} s")
                sender = make_sender(args.sender, firebase, fake_url, account)
                print(f"the dispatcher sends through {type(sender).__name__}")
                run_raw(firebase, fake_url, args.attendees)  # warm-up: token, connections
                results = []
                for round_ in range(1, args.rounds + 1):
                    dispatched, first = run_dispatcher(app, sender, fake_url, args.attendees)
                    raw = run_raw(firebase, fake_url, args.attendees)
                    results.append((dispatched, first, raw))
                    print(f"round {round_}: dispatcher {args.attendees / dispatched:7.0f} msg/s"
                          f" ({dispatched:.2f} s from due, first after {first * 1000:.0f} ms);"
                          f" raw send_each {args.attendees / raw:7.0f} msg/s ({raw:.2f} s)")
                sender.close()
        finally:
            close_app(firebase)
            fake.terminate()
            fake.wait()
        dispatched = statistics.median(r[0] for r in results)
        first = max(r[1] for r in results)
        raw = statistics.median(r[2] for r in results)
        ratio = raw / dispatched
        print(f"median of {args.rounds}: dispatcher {args.attendees / dispatched:.0f} msg/s, "
              f"raw send_each {args.attendees / raw:.0f} msg/s, ratio {ratio:.2f} "
              f"(target >= 0.9: {'met' if ratio >= 0.9 else 'NOT met'})")
        print(f"first message after due: at most {first * 1000:.0f} ms over the rounds "
              f"(target <= 1 s: {'met' if first <= 1 else 'NOT met'})")


if __name__ == "__main__":
    main()
