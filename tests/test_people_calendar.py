"""The personal calendar feed: a secret, revocable URL serving the agenda with alarms."""

from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import vobject
from icalendar import Calendar
from sqlalchemy import select

from companion.extensions import db
from companion.schedule.models import Session, SessionPerson

SHAPE = {"code", "status", "message", "errors"}
VIENNA = ZoneInfo("Europe/Vienna")


def feed_path(client, headers) -> str:
    return urlsplit(client.get("/api/v1/me/calendar", headers=headers).json["url"]).path


def fetch(client, path) -> Calendar:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/calendar"
    return Calendar.from_ical(response.data)


def events_by_title(calendar: Calendar) -> dict:
    return {str(e["summary"])[:7]: e for e in calendar.walk("VEVENT")}


def test_the_feed_url_is_absolute_and_has_a_webcal_twin(client, make_attendee, bearer):
    body = client.get("/api/v1/me/calendar", headers=bearer(make_attendee())).json
    assert body["url"].startswith("http://localhost/api/v1/calendars/")
    assert body["url"].endswith(".ics")
    assert body["webcal_url"] == "webcal://" + body["url"].removeprefix("http://")


def test_the_public_url_is_used_when_configured(app, client, make_attendee, bearer):
    app.config["PUBLIC_URL"] = "https://alliance.example.org/"
    body = client.get("/api/v1/me/calendar", headers=bearer(make_attendee())).json
    assert body["url"].startswith("https://alliance.example.org/api/v1/calendars/")
    assert body["webcal_url"].startswith("webcal://alliance.example.org/api/v1/calendars/")


def test_the_feed_is_the_agenda_with_an_alarm_at_the_lead(client, make_attendee, bearer):
    calendar = fetch(client, feed_path(client, bearer(make_attendee())))
    events = events_by_title(calendar)
    assert list(events) == ["Panel 1", "Network", "Panel 2", "Panel 3", "Panel 4"]
    panel_1 = events["Panel 1"]
    assert panel_1["dtstart"].dt == datetime(2020, 3, 30, 16, 30, tzinfo=VIENNA)
    assert panel_1["dtend"].dt == datetime(2020, 3, 30, 18, 0, tzinfo=VIENNA)
    assert panel_1.to_ical().decode().count("DTSTART;TZID=Europe/Vienna:20200330T163000") == 1
    assert str(panel_1["location"]) == "Neuer Saal, Hofburg Congress Center, Heldenplatz, 1014 Vienna"
    [alarm] = panel_1.walk("VALARM")
    assert alarm["trigger"].dt == timedelta(minutes=-10)
    assert str(alarm["action"]) == "DISPLAY"
    assert str(calendar["x-wr-timezone"]) == "Europe/Vienna"


def test_the_feed_parses_with_another_library(client, make_attendee, bearer):
    path = feed_path(client, bearer(make_attendee()))
    parsed = vobject.readOne(client.get(path).get_data(as_text=True))
    starts = sorted(e.dtstart.value for e in parsed.vevent_list)
    assert starts[0] == datetime(2020, 3, 30, 16, 30, tzinfo=VIENNA)


def test_roles_lead_and_cancellations_show_in_the_alarms(client, make_attendee, bearer):
    speaker = make_attendee(roles=["attendee", "speaker"])
    panel_3 = db.session.scalar(select(Session).where(Session.key == "panel-3"))
    panel_4 = db.session.scalar(select(Session).where(Session.key == "panel-4"))
    db.session.add(SessionPerson(session_id=panel_3.id, attendee_id=speaker.id, role="speaker"))
    panel_4.status = "cancelled"
    db.session.commit()
    events = events_by_title(fetch(client, feed_path(client, bearer(speaker))))
    assert events["Panel 3"].walk("VALARM")[0]["trigger"].dt == timedelta(minutes=-30)
    assert str(events["Panel 4"]["status"]) == "CANCELLED"
    assert events["Panel 4"].walk("VALARM") == []


def test_no_alarms_when_reminders_are_off(client, make_attendee, bearer):
    headers = bearer(make_attendee())
    client.patch("/api/v1/me", headers=headers, json={"notify": {"reminders": False}})
    calendar = fetch(client, feed_path(client, headers))
    assert len(calendar.walk("VEVENT")) == 5
    assert calendar.walk("VALARM") == []


def test_rotating_or_revoking_kills_the_old_url(client, make_attendee, bearer):
    headers = bearer(make_attendee())
    first = feed_path(client, headers)
    assert feed_path(client, headers) == first  # stable until rotated
    rotated = client.post("/api/v1/me/calendar", headers=headers)
    assert rotated.status_code == 200
    second = urlsplit(rotated.json["url"]).path
    assert second != first
    assert client.get(first).status_code == 404
    fetch(client, second)
    assert client.delete("/api/v1/me/calendar", headers=headers).status_code == 204
    assert client.get(second).status_code == 404
    fetch(client, feed_path(client, headers))


def test_one_attendee_cannot_reach_or_revoke_anothers_feed(client, make_attendee, bearer):
    ada, bob = make_attendee(), make_attendee()
    as_ada, as_bob = bearer(ada), bearer(bob)
    adas, bobs = feed_path(client, as_ada), feed_path(client, as_bob)
    # Bob's secret behind Ada's id is no key to Ada's agenda.
    bobs_secret = bobs.removesuffix(".ics").split("-", 1)[1]
    assert client.get(f"/api/v1/calendars/{ada.id}-{bobs_secret}.ics").status_code == 404
    client.delete("/api/v1/me/calendar", headers=as_bob)
    assert client.get(bobs).status_code == 404
    fetch(client, adas)


def test_the_secret_key_signs_the_url(app, client, make_attendee, bearer):
    headers = bearer(make_attendee())
    before = feed_path(client, headers)
    app.config["SECRET_KEY"] = "another-secret"
    assert client.get(before).status_code == 404
    assert feed_path(client, headers) != before


@pytest.mark.parametrize("token", [
    "abc", "1", "1-", "-abc", "99999999999-abc", "9" * 5000 + "-abc", "²-abc", "0-abc",
    "1-" + "A" * 43, "x" * 10_000,
])
def test_bad_feed_tokens_are_404_in_the_error_shape(client, make_attendee, token):
    make_attendee()
    response = client.get(f"/api/v1/calendars/{token}.ics")
    assert response.status_code == 404
    assert set(response.json) == SHAPE
