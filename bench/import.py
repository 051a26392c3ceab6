"""Importing a FOSDEM-sized programme through the one door.

    python bench/import.py [--rounds 3] [--followers 5000] [--database-url URL]

Generates a frab schedule XML the size of FOSDEM's (bench/fosdem.py: 1,000 sessions,
40 rooms, 3 days, 2,000 persons) and, as ``flask events import FILE --event SLUG
[--publish]`` does (parse, compare, draft, release, commit), times:

1. first import: a new event from the file (its first release), each round a new slug
   (goal <= 5 s);
2. publish: the same programme with 50 sessions changed (25 moved by 30 minutes, 25
   retitled) released to the event's 5,000 followers, one device each, every one of them
   following one changed session and nine others, their reminders planned (goal <= 1 s);
   checks one push per follower;
3. unchanged: the same file again with --publish (goal <= 1 s, no release).

Rounds of 2 and 3 alternate with a re-import of the original (a release back, untimed),
so that every round publishes the same 50 changes. Every round is counted, the first
(cold) one too; medians with the spread. Without --database-url a fresh SQLite file; with
one, that database's schema is DROPPED and rebuilt first.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from common import fresh_database, machine_speed
from flask_migrate import upgrade
from fosdem import generate_frab

from companion import create_app
from companion.extensions import db
from companion.people.models import Attendee, Bookmark, Device
from companion.schedule.importing import import_programme
from companion.schedule.models import ScheduleVersion, Session
from companion.schedule.sources import parse
from notifications import reminders
from notifications.models import OutboxMessage

CHANGED = 50


def imported(content: bytes, slug: str, publish: bool = True):
    """What `events import` does, timed: parse, import, commit."""
    started = time.perf_counter()
    outcome = import_programme(parse(content), slug, publish=publish)
    db.session.commit()
    return time.perf_counter() - started, outcome


def add_followers(slug: str, count: int, changed_guids: list[str]) -> None:
    event_id = db.session.scalar(sa.text("SELECT id FROM events WHERE slug = :s"), {"s": slug})
    sessions = db.session.execute(sa.select(Session.id, Session.guid).where(
        Session.event_id == event_id).order_by(Session.id)).all()
    by_guid = {guid: sid for sid, guid in sessions}
    changed = [by_guid[guid] for guid in changed_guids]
    others = [sid for sid, _ in sessions if sid not in set(changed)]
    ids = db.session.scalars(sa.insert(Attendee).returning(Attendee.id), [
        {"event_id": event_id, "email": f"bench{n}@example.org", "name": f"Bench {n}",
         "language": ("en", "fr", "de", "it", "ru", "es")[n % 6]} for n in range(count)]).all()
    db.session.execute(sa.insert(Device), [
        {"attendee_id": a, "token": f"fid-bench-{a}", "platform": "android"} for a in ids])
    db.session.execute(sa.insert(Bookmark), [
        {"attendee_id": a, "session_id": sid, "following": True}
        for n, a in enumerate(ids)
        for sid in [changed[n % len(changed)]] + [others[(n * 9 + k) % len(others)]
                                                   for k in range(9)]])
    db.session.commit()
    started = time.perf_counter()
    planned = reminders.sync_event(db.session.get(Session, changed[0]).event)
    db.session.commit()
    print(f"{count} followers of {slug}, each following one of the {len(changed)} sessions "
          f"that change and nine others; {planned} in {time.perf_counter() - started:.1f} s")


def pushes_of(version: int) -> tuple[int, int]:
    return db.session.execute(
        sa.select(sa.func.count(), sa.func.count(sa.distinct(OutboxMessage.attendee_id)))
        .where(OutboxMessage.kind == "schedule_change",
               OutboxMessage.key.like(f"schedule:%:v{version}:%"))).one()


def changed_guids(base: bytes, changed: bytes) -> list[str]:
    before = {s.guid: (s.starts_at, s.title) for s in parse(base).sessions}
    return [s.guid for s in parse(changed).sessions
            if before[s.guid] != (s.starts_at, s.title)]


def summary(name: str, times: list[float], goal: float) -> str:
    median = statistics.median(times)
    return (f"{name}: median {median:.2f} s (min {min(times):.2f}, max {max(times):.2f}, "
            f"{len(times)} rounds, the first included; goal <= {goal:g} s: "
            f"{'met' if median <= goal else 'NOT met'})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--followers", type=int, default=5000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    print(machine_speed())
    base, changed = generate_frab(), generate_frab(changed=CHANGED)
    print(f"frab XML: {len(base) / 2**20:.1f} MB, "
          f"{len(parse(base).sessions)} sessions")
    with tempfile.TemporaryDirectory() as workdir:
        app = create_app({"SQLALCHEMY_DATABASE_URI": fresh_database(args.database_url,
                                                                   Path(workdir)),
                          "RATELIMIT_STORAGE_URI": "memory://"})
        with app.app_context():
            upgrade()
            firsts, publishes, unchanged = [], [], []
            for round_ in range(1, args.rounds + 1):
                elapsed, outcome = imported(base, f"fosdem-{round_}")
                firsts.append(elapsed)
                print(f"round {round_}: first import {elapsed:.2f} s (version "
                      f"{outcome.version.number}, {len(outcome.changes)} changes)")
            slug = "fosdem-1"
            guids = changed_guids(base, changed)
            add_followers(slug, args.followers, guids)
            for round_ in range(1, args.rounds + 1):
                elapsed, outcome = imported(changed, slug)
                messages, people = pushes_of(outcome.version.number)
                assert len(outcome.changes) == CHANGED, len(outcome.changes)
                assert messages == people == args.followers, (messages, people)
                publishes.append(elapsed)
                again, same = imported(changed, slug)
                assert same.version is None and not same.changes
                unchanged.append(again)
                print(f"round {round_}: publish of {CHANGED} changes {elapsed:.2f} s "
                      f"(version {outcome.version.number}, {messages} pushes to {people} "
                      f"followers); the same file again {again:.2f} s (no release)")
                imported(base, slug)  # back, for the next round's changes
            versions = db.session.scalar(sa.select(sa.func.count()).select_from(
                ScheduleVersion))
            print(summary("first import", firsts, 5))
            print(summary("publish of 50 changes to 5,000 followers", publishes, 1))
            print(summary("unchanged re-import", unchanged, 1))
            print(f"({versions} releases in all)")


if __name__ == "__main__":
    main()
