"""Releasing a schedule change to a crowd: the publish request, the fan-out, a delay.

    python bench/releases.py [--attendees 5000] [--rounds 5] [--pairs 5] [--database-url URL]
                             [--sender process|threads]

Seeds the conference shifted into the future (as ``seed --shift-to``) with that many
attendees, one device each, all following the keynotes (not a session everyone has),
with their reminders planned. Then:
1. publish: each round an organiser moves the keynotes by 5 minutes in the draft
   (PATCH) and releases it (POST .../schedule/publish), both through the Flask test
   client (the whole request: auth, validation, changelog, who is affected, their
   reminders and one push each through the outbox, the commit). Prints the publish
   request's time (target <= 300 ms), how much of it was this process's CPU (the rest
   is waiting on the database), and checks one push per follower per release and
   every follower's reminder at the new start, once the dispatcher's first step has
   re-planned the keynotes' reminders (`releases.replan_waiting`) and made the
   release's fan-outs a row per follower (`notify.expand`), timed apart: the worker's
   time, not the organiser's.
2. fan-out: the last release's pushes go out through the dispatcher (a `Worker`, as
   ``flask notifications worker`` runs it, sending from a process of its own unless
   ``--sender threads``) and then the same messages through raw
   firebase-admin ``messaging.send_each``, against the fake FCM in its own process
   (``python -m notifications.fake_fcm``), as bench/dispatch.py does, alternated
   ``--pairs`` times (5). Each dispatcher run starts from the messages reset pending,
   vacuumed on PostgreSQL (common.vacuum_outbox). Prints both rates and their ratio for
   each pair, the median ratio (target >= 0.9), and the same with the worker's first
   step of the release (step 1's re-plan and rows) added to the dispatcher's time.
3. delay: Panel 3 runs 150 minutes late with ``shift_following`` (lunch absorbs what
   it can, Panel 4 and the closing move): one release, and one push per affected
   attendee (everyone: panels are on everyone's agenda).

Without --database-url it uses a fresh SQLite file; with one, that database's schema
is DROPPED and rebuilt first.
"""

import argparse
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import firebase_admin
import sqlalchemy as sa
from common import add_sender_option, fresh_database, machine_speed, make_sender, start_fake
from dispatch import run_dispatcher, run_raw
from firebase_admin import credentials
from flask_migrate import upgrade

from companion.schedule import importing
from companion import auth, create_app
from companion.extensions import db
from companion.people.models import Attendee, Bookmark, Device
from companion.schedule import operations as schedule_ops
from companion.schedule.models import ScheduleVersion, Session
from notifications import notify, releases, reminders
from notifications.models import InboxNotification, OutboxMessage
from notifications.senders import close_app

API = "/api/v1/events/alliance-2020"


def seed(count: int) -> tuple[dict, int]:
    """The shifted conference, ``count`` followers of the keynotes with a device each,
    their reminders planned; an organiser's headers and the keynotes' id."""
    shift_to = date.today() + timedelta(days=60)
    importing.seed_conference(schedule_ops.conference_data(), shift_to=shift_to)
    db.session.commit()
    event = schedule_ops.get_event("alliance-2020")
    keynotes = db.session.scalar(sa.select(Session.id).where(Session.key == "keynotes"))
    ids = db.session.scalars(
        sa.insert(Attendee).returning(Attendee.id),
        [{"event_id": event.id, "email": f"bench{n}@example.org", "name": f"Bench {n}",
          "language": ("en", "fr", "de", "it", "ru", "es")[n % 6]}
         for n in range(count)],
    ).all()
    db.session.execute(sa.insert(Device), [
        {"attendee_id": attendee_id, "token": f"fid-bench-{attendee_id}", "platform": "android"}
        for attendee_id in ids
    ])
    db.session.execute(sa.insert(Bookmark), [
        {"attendee_id": attendee_id, "session_id": keynotes, "following": True}
        for attendee_id in ids
    ])
    organiser = Attendee(event_id=event.id, email="organiser@example.org", name="Organiser",
                         roles=["attendee", "organiser"])
    db.session.add(organiser)
    db.session.commit()
    started = time.perf_counter()
    planned = reminders.sync_event(event)
    db.session.commit()
    print(f"seeded {count} attendees starting {shift_to}, all following the keynotes; "
          f"{planned} in {time.perf_counter() - started:.1f} s")
    token, _ = auth.issue_token(organiser)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}, keynotes


def pushes_of(version: int) -> tuple[int, int]:
    """Messages of a release, and how many distinct attendees they go to."""
    like = f"schedule:%:v{version}:%"
    return db.session.execute(
        sa.select(sa.func.count(), sa.func.count(sa.distinct(OutboxMessage.attendee_id)))
        .where(OutboxMessage.kind == "schedule_change", OutboxMessage.key.like(like))
    ).one()


def reminders_of(session_id: int, starts_at: str) -> tuple[int, int]:
    """The session's pending reminders, and how many of them name ``starts_at``."""
    at = datetime.fromisoformat(starts_at).astimezone(timezone.utc).isoformat()
    return db.session.execute(
        sa.select(sa.func.count(), sa.func.count().filter(OutboxMessage.key.like(f"%:{at}")))
        .where(OutboxMessage.kind == "reminder", OutboxMessage.session_id == session_id,
               OutboxMessage.status == "pending")
    ).one()


def bench_publish(app, headers: dict, keynotes: int, count: int, rounds: int) -> float:
    client = app.test_client()
    times, expansions, cpu_times = [], [], []
    for round_ in range(1, rounds + 1):
        session = client.get(f"{API}/sessions/{keynotes}").json
        starts = session["starts_at"]
        edit = client.patch(f"{API}/sessions/{keynotes}", headers=headers, json={
            "starts_at": shift(starts, 5), "ends_at": shift(session["ends_at"], 5)})
        assert edit.status_code == 200, edit.json
        started, cpu = time.perf_counter(), time.process_time()
        response = client.post(f"{API}/schedule/publish", json={"note": f"round {round_}"},
                               headers=headers)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert response.status_code == 201, response.json
        version = response.json["version"]
        with app.app_context():
            expanding = time.perf_counter()
            # what the worker does first: the keynotes' reminders follow, a push row
            # per follower
            replanned = releases.replan_waiting()
            notify.expand()
            db.session.commit()
            expanded = time.perf_counter() - expanding
            messages, people = pushes_of(version)
            moved, at_new_start = reminders_of(keynotes, shift(starts, 5))
        assert messages == people == count, (messages, people)
        assert replanned == 1 and moved == at_new_start == count, (
            replanned, moved, at_new_start)
        times.append(elapsed)
        expansions.append(expanded)
        cpu_times.append(cpu)
        print(f"round {round_}: publish (keynotes moved, {count} followers) "
              f"{elapsed * 1000:.0f} ms ({cpu * 1000:.0f} ms of it our CPU, the rest "
              f"waiting on the database); version {version}, {messages} pushes queued, "
              f"one per follower; {at_new_start} reminders at the new start (the "
              f"worker's re-plan and rows: {expanded * 1000:.0f} ms)")
    median = statistics.median(times)
    print(f"publish: median {median * 1000:.0f} ms, max {max(times) * 1000:.0f} ms over "
          f"{rounds} rounds (target <= 300 ms: {'met' if median <= 0.3 else 'NOT met'}; "
          f"our CPU in it: median {statistics.median(cpu_times) * 1000:.0f} ms); "
          f"the worker's re-plan and rows of a release: median "
          f"{statistics.median(expansions) * 1000:.0f} ms")
    return statistics.median(expansions)


def shift(iso: str, minutes: int) -> str:
    return (datetime.fromisoformat(iso) + timedelta(minutes=minutes)).isoformat()


def bench_fan_out(sender, firebase, fake_url: str, app, count: int, version: int,
                  pairs: int, expansion: float) -> None:
    """The dispatcher and raw send_each, alternated ``pairs`` times: the median ratio,
    and the same with the worker's writing of the rows (``expansion``) counted."""
    print(f"the dispatcher sends through {type(sender).__name__}")
    run_raw(firebase, fake_url, count)  # warm-up: token, connections
    ratios, worker_ratios = [], []
    for pair in range(1, pairs + 1):
        dispatched, _ = run_dispatcher(app, sender, fake_url, count)
        raw = run_raw(firebase, fake_url, count)
        ratios.append(raw / dispatched)
        worker_ratios.append(raw / (dispatched + expansion))
        print(f"fan-out {pair} of version {version}'s {count} pushes: dispatcher "
              f"{count / dispatched:.0f} msg/s ({dispatched:.2f} s from due), raw "
              f"send_each {count / raw:.0f} msg/s ({raw:.2f} s); ratio {ratios[-1]:.2f}")
    ratio = statistics.median(ratios)
    print(f"fan-out: median ratio {ratio:.2f} over {pairs} pairs ({', '.join(f'{r:.2f}' for r in ratios)}; "
          f"target >= 0.9: {'met' if ratio >= 0.9 else 'NOT met'}); with the worker's "
          f"{expansion * 1000:.0f} ms writing the rows counted: "
          f"{statistics.median(worker_ratios):.2f}")


def keep_only_last_release() -> int:
    """Only the last release's pushes stay in the outbox, for the fan-out run."""
    last = db.session.scalar(sa.select(sa.func.max(ScheduleVersion.number)))
    db.session.execute(sa.delete(InboxNotification))
    db.session.execute(sa.delete(OutboxMessage).where(
        sa.or_(OutboxMessage.kind != "schedule_change",
               ~OutboxMessage.key.like(f"schedule:%:v{last}:%"))))
    db.session.commit()
    return last


def bench_delay(app, headers: dict, count: int) -> None:
    client = app.test_client()
    with app.app_context():
        panel_3 = db.session.scalar(sa.select(Session.id).where(Session.key == "panel-3"))
        versions = db.session.scalar(sa.select(sa.func.count()).select_from(ScheduleVersion))
    started = time.perf_counter()
    response = client.post(f"{API}/sessions/{panel_3}/delay", headers=headers,
                           json={"minutes": 150, "shift_following": True})
    elapsed = time.perf_counter() - started
    assert response.status_code == 201, response.json
    with app.app_context():
        released = db.session.scalar(sa.select(sa.func.count()).select_from(ScheduleVersion))
        releases.replan_waiting()
        notify.expand()
        db.session.commit()
        messages, people = pushes_of(response.json["version"])
    moved = [entry["title"].split(" –")[0] for entry in response.json["changes"]]
    everyone = count + 1  # and the organiser: panels are on everyone's agenda
    print(f"delay: Panel 3 150 min late, shift_following: {released - versions} release "
          f"(version {response.json['version']}) changing {', '.join(moved)}; "
          f"{messages} pushes to {people} attendees of {everyone} "
          f"({'one each' if messages == people == everyone else 'NOT one each'}); "
          f"{elapsed * 1000:.0f} ms")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attendees", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pairs", type=int, default=5,
                        help="dispatcher and raw send_each runs, alternated")
    parser.add_argument("--database-url", default=None,
                        help="a database to use; its schema is dropped first")
    add_sender_option(parser)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        fake, fake_url, account = start_fake(workdir)
        firebase = firebase_admin.initialize_app(
            credentials.Certificate(account), {"httpTimeout": 10}, name="bench-releases"
        )
        app = create_app({"SQLALCHEMY_DATABASE_URI": fresh_database(args.database_url, workdir)})
        try:
            with app.app_context():
                upgrade()
                print(f"database: {db.engine.dialect.name}; firebase-admin "
                      f"{firebase_admin.__version__}; fake FCM at {fake_url} (own process)")
                print(machine_speed())
                headers, keynotes = seed(args.attendees)
            expansion = bench_publish(app, headers, keynotes, args.attendees, args.rounds)
            with app.app_context():
                last = keep_only_last_release()
                sender = make_sender(args.sender, firebase, fake_url, account)
                try:
                    bench_fan_out(sender, firebase, fake_url, app, args.attendees, last,
                                  args.pairs, expansion)
                finally:
                    sender.close()
            bench_delay(app, headers, args.attendees)
            print(machine_speed(), "(at the end)")
        finally:
            close_app(firebase)
            fake.terminate()
            fake.wait()


if __name__ == "__main__":
    main()
