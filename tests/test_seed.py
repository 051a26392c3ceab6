"""`flask seed`: the conference, idempotent, and movable for rehearsals."""

import sqlalchemy as sa

from companion.extensions import db
from companion.schedule.models import Event, Room, Session

BASE = "/api/v1/events/alliance-2020"


def snapshot():
    rows = []
    for model in (Event, Room, Session):
        for obj in db.session.scalars(sa.select(model).order_by(model.id)):
            rows.append({c.key: getattr(obj, c.key) for c in sa.inspect(model).column_attrs})
    return rows


def test_seed_twice_changes_nothing(runner):
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0, first.output
    assert "14 created" in first.output
    before = snapshot()
    second = runner.invoke(args=["seed"])
    assert "0 created, 0 updated" in second.output
    db.session.expire_all()
    assert snapshot() == before
    assert len(before) == 1 + 1 + 12


def test_shift_to_keeps_local_times_across_a_dst_change(runner, client):
    # 2026-10-24 is the Saturday before winter time: day 1 is +02:00, day 2 (Sunday
    # 25 October, after 03:00) is +01:00.
    result = runner.invoke(args=["seed", "--shift-to", "2026-10-24"])
    assert result.exit_code == 0, result.output
    sessions = client.get(f"{BASE}/sessions").json
    assert sessions[0]["starts_at"] == "2026-10-24T11:00:00+02:00"
    assert sessions[4]["starts_at"] == "2026-10-24T16:30:00+02:00"
    assert sessions[6]["starts_at"] == "2026-10-25T09:00:00+01:00"
    assert sessions[-1]["ends_at"] == "2026-10-25T17:00:00+01:00"
    event = client.get(BASE).json
    assert (event["starts_on"], event["ends_on"]) == ("2026-10-24", "2026-10-25")
    # and back to the real dates
    runner.invoke(args=["seed"])
    assert client.get(f"{BASE}/sessions").json[4]["starts_at"] == "2020-03-30T16:30:00+02:00"


def test_shift_to_rejects_a_bad_date(runner):
    result = runner.invoke(args=["seed", "--shift-to", "30.03.2020"])
    assert result.exit_code == 2
    assert "Invalid value for '--shift-to'" in result.output


def test_seed_keeps_what_an_organiser_filled_in(runner, client):
    runner.invoke(args=["seed"])
    room = db.session.scalar(sa.select(Room))
    room.capacity = 500
    db.session.commit()
    runner.invoke(args=["seed"])
    assert client.get(f"{BASE}/rooms").json[0]["capacity"] == 500
