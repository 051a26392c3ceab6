"""`flask seed`: the conference through the one door: made once (its first release),
never changed behind a release's back, and moved for rehearsals by a release."""

import sqlalchemy as sa

from companion.extensions import db
from companion.schedule.models import Event, Room, ScheduleVersion, Session

BASE = "/api/v1/events/alliance-2020"


def snapshot():
    rows = []
    for model in (Event, Room, Session, ScheduleVersion):
        for obj in db.session.scalars(sa.select(model).order_by(model.id)):
            rows.append({c.key: getattr(obj, c.key) for c in sa.inspect(model).column_attrs})
    return rows


def test_seed_twice_changes_nothing(runner, client):
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0, first.output
    assert "alliance-2020: created, version 1 (12 sessions)" in first.output
    versions = client.get(f"{BASE}/schedule/versions").json
    assert [v["version"] for v in versions] == [1]
    assert {c["changes"][0]["kind"] for c in versions[0]["changes"]} == {"added", "room_added"}
    before = snapshot()
    second = runner.invoke(args=["seed"])
    assert second.exit_code == 0, second.output
    assert "already there; nothing released changed" in second.output
    db.session.expire_all()
    assert snapshot() == before
    assert len(before) == 1 + 1 + 12 + 1


def test_seed_after_a_release_changes_nothing_silently(runner, client, make_attendee, bearer):
    """The bug: re-seeding after an organiser's release moved every session back, with no
    new version, so phones syncing by version kept stale times."""
    runner.invoke(args=["seed"])
    organiser = bearer(make_attendee(roles=["attendee", "organiser"]))
    panel = client.get(f"{BASE}/sessions?kind=panel").json[0]
    moved = client.patch(f"{BASE}/sessions/{panel['id']}", headers=organiser,
                         json={"starts_at": "2020-03-30T17:00:00+02:00",
                               "ends_at": "2020-03-30T18:30:00+02:00"})
    assert moved.status_code == 200, moved.json
    assert client.post(f"{BASE}/schedule/publish", headers=organiser,
                       json={"note": "Panel 1 later"}).status_code == 201
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    assert client.get(f"{BASE}/sessions/{panel['id']}").json["starts_at"] == \
        "2020-03-30T17:00:00+02:00"
    changes = client.get(f"{BASE}/schedule/changes?since=2").json
    assert changes["version"] == 2 and changes["sessions"] == []


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
    # a plain seed keeps what is released; back to the real dates is a move, released
    runner.invoke(args=["seed"])
    assert client.get(f"{BASE}/sessions").json[4]["starts_at"] == "2026-10-24T16:30:00+02:00"
    result = runner.invoke(args=["seed", "--shift-to", "2020-03-30"])
    assert "moved to 2020-03-30, version 2" in result.output, result.output
    assert client.get(f"{BASE}/sessions").json[4]["starts_at"] == "2020-03-30T16:30:00+02:00"
    changes = client.get(f"{BASE}/schedule/changes?since=1").json
    assert changes["version"] == 2 and len(changes["sessions"]) == 12


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
