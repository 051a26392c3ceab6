"""An announcement to 5,000 attendees: through the organiser's POST and a running worker,
against raw firebase-admin ``send_each`` of the same messages to the same fake FCM.

    python bench/announce.py [--attendees 5000] [--rounds 3] [--poll 0.25]
                             [--database-url URL]

Seeds that many attendees, one phone each, and an organiser. The fake FCM
(notifications/fake_fcm.py) and the worker (``flask notifications worker``, what the
Procfile runs) each run in their own process, as in production. Each round:
- scheduled: ``POST /events/alliance-2020/announcements`` to "all" with ``send_at`` 5 s
  ahead; timed from ``send_at`` to the last message's arrival at the fake;
- raw: the same 5,000 messages through ``messaging.send_each`` in batches of 500, and
  nothing else; timed from the first call to the last arrival;
- now: the same POST without ``send_at``; timed from the moment the organiser's request
  starts to the first push's arrival at the fake (and to the last).
Prints both throughputs and their ratio (target >= 0.9), and POST-to-first-push
(target <= 1 s). The worker polls every ``--poll`` seconds when idle (its option).

Without --database-url it uses a fresh SQLite file; with one, that database's schema
is DROPPED and rebuilt first.
"""

import argparse
import os
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import firebase_admin
import sqlalchemy as sa
from common import (
    add_crowd,
    fresh_database,
    reset_fake,
    start_fake,
    start_worker,
    stats,
)
from dispatch import chunks
from firebase_admin import credentials, messaging
from flask_migrate import upgrade

from companion.schedule import importing
from companion import auth, create_app
from companion.extensions import db
from companion.people.models import Attendee, Device
from companion.schedule import operations as schedule_ops
from companion.timeutil import utcnow
from notifications.models import OutboxMessage
from notifications.senders import Push, close_app, fcm_message, point_at

ROOT = Path(__file__).resolve().parent.parent
URL = "/api/v1/events/alliance-2020/announcements"
LEAD = 5.0  # seconds between the POST and send_at: the POST is done by then


def seed(count: int) -> dict:
    """The event, ``count`` attendees with a phone each, an organiser; their headers."""
    importing.seed_conference(schedule_ops.conference_data(),
                                 shift_to=(utcnow() + timedelta(days=30)).date())
    db.session.commit()
    event = schedule_ops.get_event("alliance-2020")
    add_crowd(event, count)
    organiser = Attendee(event=event, email="organiser@example.org", name="Organiser",
                         roles=["organiser"])
    db.session.add(organiser)
    token, _ = auth.issue_token(organiser)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def announce(client, headers, send_at=None) -> int:
    body = {"title": "Lunch moved", "body": "Lunch is served in the Festsaal.",
            "audience": "all"}
    if send_at is not None:
        body["send_at"] = send_at.isoformat()
    response = client.post(URL, json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def wait_for(fake_url: str, count: int, timeout: float = 120, worker=None) -> dict:
    deadline = time.time() + timeout
    while (arrived := stats(fake_url))["received"] < count:
        if worker is not None and worker.poll() is not None:
            raise RuntimeError(f"the worker exited ({worker.returncode}):\n"
                               + Path(worker.log).read_text()[-3000:])
        if time.time() > deadline:
            raise RuntimeError(f"only {arrived['received']} of {count} arrived")
        time.sleep(0.2)  # the fake records arrival times: polling less often loses nothing
    return arrived


def raw_messages(announcement_id: int, now) -> list[messaging.Message]:
    """The messages the dispatcher sent for the announcement, built the same way."""
    rows = db.session.execute(
        sa.select(OutboxMessage, Device.id, Device.token, Device.platform)
        .join(Device, Device.attendee_id == OutboxMessage.attendee_id)
        .where(OutboxMessage.origin == f"announcement:{announcement_id}")
        .order_by(OutboxMessage.id)
    ).all()
    return [
        fcm_message(Push(m.id, device_id, token, platform, m.title, m.body,
                         {**m.data, "notification_id": str(m.id)}, m.collapse_key,
                         now + timedelta(hours=24), m.priority), now)
        for m, device_id, token, platform in rows
    ]


def run_raw(firebase, fake_url: str, messages: list) -> float:
    reset_fake(fake_url)
    started = time.time()
    for batch in chunks(messages, 500):
        response = messaging.send_each(batch, app=firebase)
        assert response.success_count == len(batch)
    return wait_for(fake_url, len(messages))["last_at"] - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attendees", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--poll", type=float, default=0.25,
                        help="the worker's --poll (seconds between looks when idle)")
    parser.add_argument("--database-url", default=None,
                        help="a database to use; its schema is dropped first")
    args = parser.parse_args()
    count = args.attendees

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        fake, fake_url, account = start_fake(workdir)
        firebase = firebase_admin.initialize_app(
            credentials.Certificate(account), {"httpTimeout": 10}, name="bench")
        point_at(firebase, fake_url)  # the SDK as the worker's FcmSender sets it up
        database = fresh_database(args.database_url, workdir)
        app = create_app({"SQLALCHEMY_DATABASE_URI": database})
        worker = None
        results = []
        try:
            with app.app_context():
                upgrade()
                headers = seed(count)
                print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; "
                      f"database: {db.engine.dialect.name}; firebase-admin "
                      f"{firebase_admin.__version__}; fake FCM at {fake_url} and the worker "
                      f"(--poll {args.poll}) in their own processes; {count} attendees")
                worker = start_worker(database, fake_url, account, workdir / "worker.log",
                                      poll=args.poll)
                client = app.test_client()
                reset_fake(fake_url)  # warm-up: tokens, connections, caches on both sides
                warm_up = announce(client, headers)
                wait_for(fake_url, count, worker=worker)
                run_raw(firebase, fake_url, raw_messages(warm_up, utcnow()))
                for round_ in range(1, args.rounds + 1):
                    reset_fake(fake_url)
                    due = utcnow() + timedelta(seconds=LEAD)
                    scheduled = announce(client, headers, send_at=due)
                    arrived = wait_for(fake_url, count, worker=worker)
                    dispatched = arrived["last_at"] - due.timestamp()
                    raw = run_raw(firebase, fake_url, raw_messages(scheduled, utcnow()))

                    reset_fake(fake_url)
                    started, cpu = time.time(), time.process_time()
                    announce(client, headers)
                    posted, cpu = time.time() - started, time.process_time() - cpu
                    arrived = wait_for(fake_url, count, worker=worker)
                    first, last = arrived["first_at"] - started, arrived["last_at"] - started
                    results.append((dispatched, raw, first))
                    print(f"round {round_}: scheduled {count / dispatched:6.0f} msg/s "
                          f"({dispatched:.2f} s from send_at); raw send_each "
                          f"{count / raw:6.0f} msg/s ({raw:.2f} s); now: POST took "
                          f"{posted * 1000:.0f} ms ({cpu * 1000:.0f} ms of CPU), first push {first * 1000:.0f} ms after "
                          f"it started, last {last:.2f} s")
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait()
            close_app(firebase)
            fake.terminate()
            fake.wait()
        dispatched = statistics.median(r[0] for r in results)
        raw = statistics.median(r[1] for r in results)
        first = max(r[2] for r in results)
        ratio = raw / dispatched
        print(f"median of {args.rounds}: announcement through the worker "
              f"{count / dispatched:.0f} msg/s, raw send_each {count / raw:.0f} msg/s, "
              f"ratio {ratio:.2f} (target >= 0.9: {'met' if ratio >= 0.9 else 'NOT met'})")
        print(f"organiser's POST to the first push: at most {first * 1000:.0f} ms over the "
              f"rounds (target <= 1 s: {'met' if first <= 1 else 'NOT met'})")
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs at the end "
              "(the figures are wall-clock times: a busy machine stretches them)")


if __name__ == "__main__":
    main()
