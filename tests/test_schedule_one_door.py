"""One door, one at a time: releases of an event are serialised (a row lock on the event
on PostgreSQL, the write lock on SQLite). Concurrent publishes give one release and 409s;
concurrent "running late" clicks give one release whose answer they all get; never a 5xx.

Real concurrent requests: each thread its own client and database connection, started
together at a barrier, on whichever database the suite runs (CI: SQLite, then PostgreSQL).
"""

import threading

import pytest
from sqlalchemy import func, select

from companion.extensions import db
from companion.people.models import Bookmark
from companion.schedule.models import ScheduleVersion, Session
from notifications.models import OutboxMessage

API = "/api/v1/events/alliance-2020"


def race(app, calls) -> list:
    """Run each call(client) in a thread of its own, all let go at once."""
    barrier = threading.Barrier(len(calls))
    answers: list = [None] * len(calls)

    def run(index, call):
        client = app.test_client()
        barrier.wait()
        answers[index] = call(client)

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


@pytest.fixture
def organiser(make_attendee, bearer):
    return bearer(make_attendee(roles=["attendee", "organiser"], name="Olga Organiser"))


@pytest.fixture
def follower(make_attendee, add_device, by_key):
    who = make_attendee(name="Fiona Follower")
    add_device(who)
    for key in ("panel-1", "panel-2"):
        db.session.add(Bookmark(attendee_id=who.id, session_id=by_key[key].id))
    db.session.commit()
    return who


def versions() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(ScheduleVersion))


def changes_told(attendee) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.kind == "schedule_change", OutboxMessage.attendee_id == attendee.id))


def test_four_publishes_at_once_give_one_release(app, client, organiser, follower, by_key):
    panel = by_key["panel-1"].id
    assert client.patch(f"{API}/sessions/{panel}", headers=organiser,
                        json={"title": "Panel One"}).status_code == 200
    before = versions()
    answers = race(app, [lambda c: c.post(f"{API}/schedule/publish", headers=organiser,
                                          json={"note": "Release"})] * 4)
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [201, 409, 409, 409], [a.json for a in answers]
    assert all(a.json["message"].startswith("Nothing to release") for a in answers
               if a.status_code == 409)
    assert versions() == before + 1
    assert changes_told(follower) == 1  # told once, not four times


def test_three_delays_at_once_give_one_release(app, client, organiser, follower, by_key):
    panel, starts = by_key["panel-2"].id, by_key["panel-2"].starts_at
    before = versions()
    answers = race(app, [lambda c: c.post(f"{API}/sessions/{panel}/delay",
                                          headers=organiser, json={"minutes": 5})] * 3)
    assert [a.status_code for a in answers] == [201] * 3, [a.json for a in answers]
    assert len({a.json["version"] for a in answers}) == 1  # the same release's answer
    assert versions() == before + 1
    moved = db.session.get(Session, panel)
    assert (moved.starts_at - starts).total_seconds() == 5 * 60
    assert changes_told(follower) == 1


def test_a_second_delay_later_is_a_release_of_its_own(client, organiser, by_key):
    """Only the same request racing the newest release gets its answer: another delay
    (other minutes) is a release of its own."""
    panel = by_key["panel-2"].id
    first = client.post(f"{API}/sessions/{panel}/delay", headers=organiser, json={"minutes": 5})
    second = client.post(f"{API}/sessions/{panel}/delay", headers=organiser,
                         json={"minutes": 10})
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json["version"] == first.json["version"] + 1
