"""An event day may run past midnight (a frab day ending at 04:00 the next morning): a
session at 00:15 belongs to the day before, in the agenda, the exports and a delay."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from companion import auth
from companion.extensions import db
from companion.people.models import Attendee
from companion.schedule import importing
from companion.schedule.programme import Programme, ProgrammeRoom, ProgrammeSession

SLUG = "nightcon-2026"
API = f"/api/v1/events/{SLUG}"
ZONE = ZoneInfo("Europe/Berlin")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 8, day, hour, minute, tzinfo=ZONE)


@pytest.fixture
def nightcon(app):
    sessions = [
        ("late", "Late talk", at(21, 22), at(21, 23, 30)),
        ("night", "Night talk", at(22, 0, 15), at(22, 1, 0)),
        ("morning", "Morning talk", at(22, 10), at(22, 11)),
    ]
    programme = Programme(
        format="frab", title="NightCon", starts_on=date(2026, 8, 21),
        ends_on=date(2026, 8, 22), timezone="Europe/Berlin", day_change=time(4, 0),
        rooms=[ProgrammeRoom("Saal 1")],
        sessions=[ProgrammeSession(guid=f"guid-{key}", title=title, kind="talk",
                                   starts_at=starts, ends_at=ends, room="Saal 1")
                  for key, title, starts, ends in sessions])
    outcome = importing.import_programme(programme, SLUG)
    organiser = Attendee(event_id=outcome.event.id, email="o@example.org", name="Org",
                         roles=["attendee", "organiser"])
    db.session.add(organiser)
    db.session.commit()
    token, _ = auth.issue_token(organiser)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def titles(answer) -> list[str]:
    return [s["title"] for s in answer.json]


def test_a_session_after_midnight_belongs_to_the_day_before(client, nightcon):
    assert titles(client.get(f"{API}/sessions?day=2026-08-21")) == ["Late talk", "Night talk"]
    assert titles(client.get(f"{API}/sessions?day=2026-08-22")) == ["Morning talk"]


def test_the_exports_put_it_in_the_day_before(client, nightcon):
    days = client.get(f"{API}/schedule.json").json["schedule"]["conference"]["days"]
    by_day = {day["date"]: [t["title"] for talks in day["rooms"].values() for t in talks]
              for day in days}
    assert by_day == {"2026-08-21": ["Late talk", "Night talk"],
                      "2026-08-22": ["Morning talk"]}
    xml = client.get(f"{API}/schedule.xml").data.decode()
    first_day = xml[xml.index('<day index="1"'):xml.index('<day index="2"')]
    assert "Night talk" in first_day


def test_a_delay_moves_what_follows_after_midnight_as_the_same_day(client, nightcon):
    late = client.get(f"{API}/sessions?day=2026-08-21").json[0]
    response = client.post(f"{API}/sessions/{late['id']}/delay", headers=nightcon,
                           json={"minutes": 30, "shift_following": True})
    assert response.status_code == 201, response.json
    sessions = {s["title"]: s for s in client.get(f"{API}/sessions").json}
    assert sessions["Late talk"]["starts_at"] == "2026-08-21T22:30:00+02:00"
    # the night talk starts 00:15, after the late talk's new end at 00:00: untouched
    assert sessions["Night talk"]["starts_at"] == "2026-08-22T00:15:00+02:00"
    again = client.post(f"{API}/sessions/{late['id']}/delay", headers=nightcon,
                        json={"minutes": 45, "shift_following": True})
    assert again.status_code == 201, again.json  # till 00:45: still the same event day
    sessions = {s["title"]: s for s in client.get(f"{API}/sessions").json}
    assert sessions["Night talk"]["starts_at"] == "2026-08-22T00:45:00+02:00"
    assert sessions["Morning talk"]["starts_at"] == "2026-08-22T10:00:00+02:00"
