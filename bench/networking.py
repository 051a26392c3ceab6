"""Networking and privacy on a crowd, through the real HTTP stack (Flask's test client).

    python bench/networking.py [--attendees 5000] [--rounds 200] [--database-url URL]

Seeds the conference and that many attendees, a third of them listed in the directory,
each with an organisation, a country and topics, and a few contacts each. Prints:
- directory: median time of a page (100) with no query and with searches of one and two
  words, and how many each finds;
- hidden vs unknown: median times of a contact request to a hidden attendee and to an
  id nobody has, alternated ``--rounds`` times, and their ratio (target: 1.0 within
  noise; the two run the same statements);
- erase: DELETE /me of an attendee with contacts, requests, a device and tokens;
- purge: ``privacy purge`` of the whole event, dry run then for real, rows and time.

Without --database-url it uses a fresh SQLite file; with one, that database's schema
is DROPPED and rebuilt first (use a database of your own).
"""

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from common import fresh_database
from flask_migrate import upgrade
from sqlalchemy import insert, select

from companion.schedule import importing
from companion import auth, create_app
from companion.extensions import db
from companion.networking.models import Contact, search_text
from companion.people import privacy
from companion.people.models import Attendee, Device
from companion.schedule import operations as schedule_ops

ORGANISATIONS = ["UNODC", "OSCE ODIHR", "La Strada International", "IOM", "Europol",
                 "Ministry of Justice", "ILO", "Council of Europe GRETA", "UNHCR"]
COUNTRIES = ["Austria", "Österreich", "Italy", "Ukraine", "Moldova", "Albania", "Sweden",
             "United States", "Kazakhstan", "Serbia"]
TOPICS = ["Labour exploitation", "Supply chains", "Technology", "Victim protection",
          "Prosecution", "Child trafficking", "Financial investigations"]
SEARCHES = ["", "unodc", "labour", "ukraine", "osterreich", "supply ukr", "zzz"]



class Row:
    """What search_text reads, for rows inserted in bulk."""

    def __init__(self, **values):
        self.__dict__.update(values)


def seed(count: int) -> tuple[int, list[int]]:
    importing.seed_conference(schedule_ops.conference_data())
    event = schedule_ops.get_event("alliance-2020")
    rng = random.Random(11)
    rows = []
    for n in range(count):
        values = {"event_id": event.id, "email": f"crowd{n}@example.org",
                  "name": f"Person {n:05d} {rng.choice(['Keller', 'Rossi', 'Novak', 'Berg'])}",
                  "organisation": rng.choice(ORGANISATIONS), "country": rng.choice(COUNTRIES),
                  "topics": rng.sample(TOPICS, 2), "directory_visible": n % 3 == 0,
                  "share_email": True}
        values["search_text"] = search_text(Row(**values))
        rows.append(values)
    ids = db.session.scalars(insert(Attendee).returning(Attendee.id), rows).all()
    # a few contacts each, both ways
    pairs = {(ids[n], ids[(n + step) % count]) for n in range(count) for step in (1, 7, 31)}
    pairs |= {(b, a) for a, b in pairs}
    db.session.execute(insert(Contact), [{"owner_id": a, "contact_id": b, "via": "card"}
                                         for a, b in pairs])
    db.session.execute(insert(Device), [{"attendee_id": i, "token": f"fid-{i}",
                                         "platform": "android"} for i in ids[:count // 2]])
    db.session.commit()
    return event.id, ids


def median_ms(call, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def headers(attendee_id: int) -> dict:
    token, _ = auth.issue_token(db.session.get(Attendee, attendee_id))
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--attendees", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--database-url")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as workdir:
        uri = fresh_database(options.database_url, Path(workdir))
        app = create_app({"SQLALCHEMY_DATABASE_URI": uri,
                          "CONTACT_REQUEST_LIMIT": "1000000 per hour"})
        with app.app_context():
            upgrade()
            started = time.perf_counter()
            event_id, ids = seed(options.attendees)
            dialect = db.engine.dialect.name
            print(f"{dialect}: {options.attendees} attendees "
                  f"({len(ids[::3])} listed) seeded in {time.perf_counter() - started:.1f} s")
            client = app.test_client()
            reader = headers(ids[1])  # not listed

            print("directory (page of 100):")
            for q in SEARCHES:
                url = f"/api/v1/events/alliance-2020/directory?q={q}"
                found = client.get(url, headers=reader)
                assert found.status_code == 200, found.json
                total = found.headers["X-Pagination"]
                ms = median_ms(lambda: client.get(url, headers=reader), 20)
                print(f"  q={q!r:14} {ms:7.2f} ms  {total}")

            hidden_id, unknown_id = ids[2], ids[-1] + 10**6
            asker = headers(ids[4])
            url = "/api/v1/me/contacts"
            times = {"hidden": [], "unknown": []}
            for _ in range(options.rounds):
                for name, target in (("hidden", hidden_id), ("unknown", unknown_id)):
                    start = time.perf_counter()
                    response = client.post(url, json={"attendee_id": target}, headers=asker)
                    times[name].append((time.perf_counter() - start) * 1000)
                    assert response.status_code == 404
            hidden, unknown = (statistics.median(times[n]) for n in ("hidden", "unknown"))
            print(f"request to a hidden attendee {hidden:.3f} ms, to an unknown id "
                  f"{unknown:.3f} ms (medians of {options.rounds}): ratio {hidden / unknown:.3f}")

            victim = ids[9]
            email = "crowd9@example.org"
            erase_headers = headers(victim)
            start = time.perf_counter()
            response = client.delete(f"/api/v1/me?confirm={email}", headers=erase_headers)
            assert response.status_code == 204, response.json
            print(f"erase (DELETE /me, 6 contacts, device, token): "
                  f"{(time.perf_counter() - start) * 1000:.1f} ms")

            event = schedule_ops.get_event("alliance-2020")
            start = time.perf_counter()
            counted = privacy.purge(event, 30, dry_run=True)
            dry = time.perf_counter() - start
            start = time.perf_counter()
            removed = privacy.purge(event, 30, dry_run=False)
            db.session.commit()
            real = time.perf_counter() - start
            assert counted == removed, (counted, removed)
            left = db.session.scalar(select(sa.func.count(Attendee.id)))
            print(f"purge: dry run {dry:.2f} s, purge {real:.2f} s, "
                  f"{sum(removed.values())} rows ({dict(sorted(removed.items()))}); "
                  f"attendees left {left}")
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
