"""Reminder planning for a crowd: how long the outbox takes to follow the agenda.

    python bench/planning.py [--attendees 5000] [--database-url URL]

Seeds the conference and that many attendees, then times, each in its own transaction:
- ``sync_session`` of Panel 1 (every attendee has it by default): the first plan;
- the same again with nothing changed (every key is refreshed, nothing new);
- Panel 1 moved by 15 minutes: each reminder replaced (new key) and the old cancelled;
- ``sync_event``: every attendee's whole agenda (``flask notifications plan``).
Prints seconds and reminders per second for each, and the statements sent.

Without --database-url it uses a fresh SQLite file; with one, that database's schema
is DROPPED and rebuilt first.
"""

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from common import fresh_database
from flask_migrate import upgrade

from companion.schedule import importing
from companion import create_app
from companion.extensions import db
from companion.people.models import Attendee
from companion.schedule import operations as schedule_ops
from companion.schedule.models import Session
from notifications import reminders


def timed(label: str, work, statements: list) -> None:
    db.session.expunge_all()  # as a request or command starts: nothing loaded yet
    statements.clear()
    started = time.perf_counter()
    planned = work()
    db.session.commit()
    seconds = time.perf_counter() - started
    print(f"{label:<32} {seconds:6.2f} s  {planned.wanted / seconds:8.0f} reminders/s  "
          f"({planned.wanted} planned, {planned.cancelled} cancelled, "
          f"{len(statements)} statements)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attendees", type=int, default=5000)
    parser.add_argument("--database-url", default=None,
                        help="a database to use; its schema is dropped first")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": fresh_database(args.database_url,
                                                                    Path(tmp))})
        with app.app_context():
            upgrade()
            importing.seed_conference(schedule_ops.conference_data())
            event = schedule_ops.get_event("alliance-2020")
            db.session.execute(sa.insert(Attendee), [
                {"event_id": event.id, "email": f"bench{n}@example.org", "name": f"Bench {n}"}
                for n in range(args.attendees)
            ])
            db.session.commit()
            print(f"database: {db.engine.dialect.name}; {args.attendees} attendees")
            statements: list[str] = []
            sa.event.listen(db.engine, "before_cursor_execute",
                            lambda *a: statements.append(a[2]))

            def panel() -> Session:
                return db.session.scalar(sa.select(Session).where(Session.key == "panel-1"))

            def move_panel():
                session = panel()
                session.starts_at += timedelta(minutes=15)
                session.ends_at += timedelta(minutes=15)
                return reminders.sync_session(session)

            timed("sync_session, first plan", lambda: reminders.sync_session(panel()),
                  statements)
            timed("sync_session, nothing changed", lambda: reminders.sync_session(panel()),
                  statements)
            timed("sync_session, Panel 1 moved", move_panel, statements)
            timed("sync_event, whole agendas",
                  lambda: reminders.sync_event(schedule_ops.get_event("alliance-2020")),
                  statements)
            db.engine.dispose()


if __name__ == "__main__":
    main()
