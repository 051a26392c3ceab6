"""The exports schedule apps and calendars read: parsed back and checked against the schemas."""

import json
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import jsonschema
import pytest
import sqlalchemy as sa
from lxml import etree

from companion.schedule import importing
from companion.extensions import db
from companion.people.models import Attendee
from companion.schedule import operations as schedule_ops
from companion.schedule.exports import vtimezone
from companion.schedule.models import Event, Room, Session, SessionPerson

DATA = Path(__file__).parent / "data"
BASE = "/api/v1/events/alliance-2020"
VIENNA = ZoneInfo("Europe/Vienna")
UTC = timezone.utc
KEYS = [s["key"] for s in schedule_ops.conference_data()["sessions"]]


@pytest.fixture(scope="module")
def frab_schema():
    return etree.XMLSchema(etree.parse(str(DATA / "schedule.xml.xsd")))


@pytest.fixture(scope="module")
def c3voc_validator():
    schema = json.loads((DATA / "schedule.schema.json").read_text("utf-8"))
    jsonschema.Draft6Validator.check_schema(schema)
    checker = jsonschema.FormatChecker()
    # Without these checkers the formats the schema asks for would pass unseen.
    assert {"uri", "uuid", "date", "date-time"} <= set(checker.checkers)
    return jsonschema.Draft6Validator(schema, format_checker=checker)


def calendar(client) -> icalendar.Calendar:
    response = client.get(f"{BASE}/schedule.ics")
    assert response.status_code == 200
    return icalendar.Calendar.from_ical(response.data)


def frab(client, frab_schema):
    response = client.get(f"{BASE}/schedule.xml")
    assert response.status_code == 200
    root = etree.fromstring(response.data)
    frab_schema.assertValid(root)
    return root


def c3voc(client, c3voc_validator) -> dict:
    response = client.get(f"{BASE}/schedule.json")
    assert response.status_code == 200
    document = response.json
    c3voc_validator.validate(document)
    return document


def talks(document: dict) -> list[dict]:
    return [talk for day in document["schedule"]["conference"]["days"]
            for room in day["rooms"].values() for talk in room]


def uids(client) -> list[str]:
    return [str(e["UID"]) for e in calendar(client).events]


def by_summary(cal: icalendar.Calendar, prefix: str):
    [event] = [e for e in cal.events if str(e["SUMMARY"]).startswith(prefix)]
    return event


# --- iCalendar ---------------------------------------------------------------------

def test_ics_panel_1_is_local_summer_time_with_tzid(client, conference):
    response = client.get(f"{BASE}/schedule.ics")
    assert response.mimetype == "text/calendar"
    assert response.headers["Content-Disposition"] == (
        'inline; filename="alliance-2020-schedule.ics"')
    text = response.get_data(as_text=True)
    assert "DTSTART;TZID=Europe/Vienna:20200330T163000" in text

    cal = icalendar.Calendar.from_ical(response.data)
    assert len(cal.events) == 12
    panel = by_summary(cal, "Panel 1")
    assert panel["DTSTART"].params["TZID"] == "Europe/Vienna"
    assert panel.start == datetime(2020, 3, 30, 16, 30, tzinfo=VIENNA)
    assert panel.start.astimezone(UTC) == datetime(2020, 3, 30, 14, 30, tzinfo=UTC)
    assert panel.end.astimezone(UTC) == datetime(2020, 3, 30, 16, 0, tzinfo=UTC)
    stamp = panel["DTSTAMP"].dt
    assert stamp.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - stamp) < timedelta(minutes=5)
    assert str(panel["UID"]) == "panel-1@alliance-2020.companion"
    assert str(panel["LOCATION"]) == (
        "Neuer Saal, Hofburg Congress Center, Heldenplatz, 1014 Vienna")
    assert str(panel["STATUS"]) == "CONFIRMED"
    description = str(panel["DESCRIPTION"])
    assert description.startswith("In order to effectively counter impunity")
    assert "Topics to be covered:\n- the state of affairs\n" in description
    assert description.endswith("- requalification under other offences")


def test_ics_calendar_properties(client, conference):
    cal = calendar(client)
    assert str(cal["X-WR-CALNAME"]) == conference.name
    assert str(cal["X-WR-TIMEZONE"]) == "Europe/Vienna"
    assert str(cal["METHOD"]) == "PUBLISH"
    assert str(cal["PRODID"]) == "-//Alliance companion//Schedule export//EN"
    assert str(cal["VERSION"]) == "2.0"
    assert cal.get_missing_tzids() == set()


def test_ics_vtimezone_carries_the_2020_summer_time_rule(client, conference):
    cal = calendar(client)
    [vtimezone] = cal.timezones
    assert vtimezone.tz_name == "Europe/Vienna"
    [summer] = [c for c in vtimezone.walk("DAYLIGHT")
                if c["DTSTART"].dt.date() == datetime(2020, 3, 29).date()]
    assert summer["TZOFFSETFROM"].td == timedelta(hours=1)
    assert summer["TZOFFSETTO"].td == timedelta(hours=2)
    # The zone built from the VTIMEZONE alone, not looked up by name, knows the change.
    zone = vtimezone.to_tz(lookup_tzid=False)
    assert datetime(2020, 3, 28, 16, 30, tzinfo=zone).utcoffset() == timedelta(hours=1)
    assert datetime(2020, 3, 30, 16, 30, tzinfo=zone).utcoffset() == timedelta(hours=2)


def test_ics_uids_are_stable_across_requests_and_reseeding(app, client, conference):
    first = uids(client)
    assert first == [f"{key}@alliance-2020.companion" for key in KEYS]
    assert uids(client) == first

    ids = {s.key: s.id for s in conference.sessions}
    for model in (SessionPerson, Session, Room, Event):
        db.session.execute(sa.delete(model))
    db.session.commit()
    data = schedule_ops.conference_data()
    data["sessions"].reverse()  # so that every session gets another id
    importing.seed_conference(data)
    db.session.commit()
    new_ids = {s.key: s.id for s in db.session.scalars(sa.select(Session))}
    assert all(new_ids[key] != ids[key] for key in KEYS)
    assert uids(client) == first


def test_ics_shift_to_keeps_uids_and_moves_times(runner, client):
    runner.invoke(args=["seed"])
    before = uids(client)
    result = runner.invoke(args=["seed", "--shift-to", "2026-10-24"])
    assert result.exit_code == 0, result.output
    cal = calendar(client)
    assert [str(e["UID"]) for e in cal.events] == before
    panel_1, panel_2 = by_summary(cal, "Panel 1"), by_summary(cal, "Panel 2")
    assert panel_1.start == datetime(2026, 10, 24, 16, 30, tzinfo=VIENNA)
    assert panel_1.start.astimezone(UTC) == datetime(2026, 10, 24, 14, 30, tzinfo=UTC)
    # Sunday 25 October 2026 is back in winter time.
    assert panel_2.start.astimezone(UTC) == datetime(2026, 10, 25, 8, 0, tzinfo=UTC)
    zone = cal.timezones[0].to_tz(lookup_tzid=False)
    assert datetime(2026, 10, 25, 9, 0, tzinfo=zone).utcoffset() == timedelta(hours=1)


def test_ics_marks_cancelled_sessions(client, conference):
    conference.sessions[6].status = "cancelled"  # panel 2
    db.session.commit()
    cal = calendar(client)
    assert len(cal.events) == 12
    assert str(by_summary(cal, "Panel 2")["STATUS"]) == "CANCELLED"
    assert [str(e["STATUS"]) for e in cal.events].count("CANCELLED") == 1


# --- frab XML and c3voc JSON -------------------------------------------------------

def test_frab_xml_is_valid_and_complete(client, conference, frab_schema):
    response = client.get(f"{BASE}/schedule.xml")
    assert response.mimetype == "application/xml"
    assert response.headers["Content-Disposition"] == (
        'inline; filename="alliance-2020-schedule.xml"')
    root = frab(client, frab_schema)
    assert root.findtext("conference/acronym") == "alliance_2020"
    assert root.findtext("conference/title") == conference.name
    assert root.findtext("conference/days") == "2"
    assert root.findtext("conference/timeslot_duration") == "00:15"
    assert root.findtext("conference/time_zone_name") == "Europe/Vienna"
    days = root.findall("day")
    assert [(d.get("index"), d.get("date"), d.get("start"), d.get("end")) for d in days] == [
        ("1", "2020-03-30", "2020-03-30T11:00:00+02:00", "2020-03-30T19:00:00+02:00"),
        ("2", "2020-03-31", "2020-03-31T09:00:00+02:00", "2020-03-31T17:00:00+02:00"),
    ]
    assert [[r.get("name") for r in d.findall("room")] for d in days] == [["Neuer Saal"]] * 2
    events = root.findall("day/room/event")
    assert len(events) == 12
    panel = events[4]
    assert panel.findtext("title").startswith("Panel 1")
    assert panel.findtext("date") == "2020-03-30T16:30:00+02:00"
    assert panel.findtext("start") == "16:30"
    assert panel.findtext("duration") == "01:30"
    assert panel.findtext("type") == "panel"
    assert panel.findtext("room") == "Neuer Saal"
    assert panel.findtext("slug") == "alliance_2020-panel-1"
    assert panel.findtext("abstract").startswith("In order to effectively counter")
    assert "- requalification under other offences" in panel.findtext("description")
    assert panel.get("guid") == str(uuid.uuid5(uuid.NAMESPACE_URL,
                                               "panel-1@alliance-2020.companion"))
    assert events[0].findtext("duration") == "03:30"  # registration, 11:00-14:30


def test_c3voc_json_is_valid_and_agrees_with_the_xml(client, conference, frab_schema,
                                                      c3voc_validator):
    response = client.get(f"{BASE}/schedule.json")
    assert response.mimetype == "application/json"
    document = c3voc(client, c3voc_validator)
    conf = document["schedule"]["conference"]
    assert conf["acronym"] == "alliance_2020"
    assert (conf["start"], conf["end"], conf["daysCount"]) == ("2020-03-30", "2020-03-31", 2)
    assert conf["timeslot_duration"] == "00:15"
    assert conf["time_zone_name"] == "Europe/Vienna"
    assert [room["name"] for room in conf["rooms"]] == ["Neuer Saal"]
    assert [list(day["rooms"]) for day in conf["days"]] == [["Neuer Saal"]] * 2
    panel = talks(document)[4]
    assert panel["date"] == "2020-03-30T16:30:00+02:00"
    assert panel["end"] == "2020-03-30T18:00:00+02:00"
    assert (panel["start"], panel["duration"]) == ("16:30", "01:30")
    assert panel["url"] == f"http://localhost{BASE}/sessions/{panel['id']}"

    root = frab(client, frab_schema)
    assert [t["guid"] for t in talks(document)] == [
        e.get("guid") for e in root.findall("day/room/event")]
    assert document["schedule"]["version"] == root.findtext("version")


def test_the_slug_would_not_do_as_c3voc_acronym(c3voc_validator):
    """Why the acronym is not the slug: c3voc's pattern refuses "alliance-2020"."""
    acronym = c3voc_validator.schema["definitions"]["Conference"]["properties"]["acronym"]
    check = jsonschema.Draft6Validator(acronym)
    assert not check.is_valid("alliance-2020")
    assert check.is_valid("alliance_2020")


def test_guids_are_stable_across_reseeding(client, conference, frab_schema, c3voc_validator):
    guids = [t["guid"] for t in talks(c3voc(client, c3voc_validator))]
    assert len(set(guids)) == 12
    for model in (SessionPerson, Session, Room, Event):
        db.session.execute(sa.delete(model))
    db.session.commit()
    importing.seed_conference(schedule_ops.conference_data())
    db.session.commit()
    assert [t["guid"] for t in talks(c3voc(client, c3voc_validator))] == guids
    assert [e.get("guid") for e in frab(client, frab_schema).findall("day/room/event")] == guids


def test_cancelled_sessions_are_left_out_of_frab_and_c3voc(client, conference, frab_schema,
                                                            c3voc_validator):
    panel_2 = conference.sessions[6]
    panel_2.status = "cancelled"
    db.session.commit()
    document = c3voc(client, c3voc_validator)
    assert len(talks(document)) == 11
    assert "Panel 2" not in json.dumps(document)
    root = frab(client, frab_schema)
    assert len(root.findall("day/room/event")) == 11
    assert not [t for t in root.iter("title") if t.text.startswith("Panel 2")]


def test_people_show_only_id_and_name_everywhere(client, conference, frab_schema,
                                                  c3voc_validator):
    speaker = Attendee(event_id=conference.id, email="amina.speaker@example.org",
                       name="Amina Speaker", organisation="Prosecution Service",
                       roles=["speaker"])
    moderator = Attendee(event_id=conference.id, email="mod@example.org",
                         name="Marek Moderator", roles=["moderator"])
    panel = conference.sessions[4]
    panel.people = [SessionPerson(attendee=speaker, role="speaker"),
                    SessionPerson(attendee=moderator, role="moderator", position=1)]
    db.session.commit()

    document = c3voc(client, c3voc_validator)
    assert talks(document)[4]["persons"] == [
        {"id": speaker.id, "name": "Amina Speaker"},
        {"id": moderator.id, "name": "Marek Moderator"},
    ]
    persons = frab(client, frab_schema).findall("day/room/event")[4].findall("persons/person")
    assert [(p.get("id"), p.text) for p in persons] == [
        (str(speaker.id), "Amina Speaker"), (str(moderator.id), "Marek Moderator")]
    description = str(by_summary(calendar(client), "Panel 1")["DESCRIPTION"])
    assert "Speakers: Amina Speaker\n\nModerators: Marek Moderator" in description
    for suffix in ("ics", "xml", "json"):
        body = client.get(f"{BASE}/schedule.{suffix}").get_data(as_text=True)
        assert "example.org" not in body
        assert "Prosecution Service" not in body


def test_a_session_without_room_is_at_the_venue(client, conference, frab_schema,
                                                c3voc_validator):
    conference.sessions[9].room = None  # lunch
    db.session.commit()
    venue = "Hofburg (Neuer Saal), Vienna"
    day_2 = c3voc(client, c3voc_validator)["schedule"]["conference"]["days"][1]
    assert list(day_2["rooms"]) == ["Neuer Saal", venue]
    assert [t["title"] for t in day_2["rooms"][venue]] == ["Lunch Break"]
    rooms = frab(client, frab_schema).findall("day[@index='2']/room")
    assert [r.get("name") for r in rooms] == ["Neuer Saal", venue]
    assert str(by_summary(calendar(client), "Lunch")["LOCATION"]) == venue


# --- HTTP ----------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", ["ics", "xml", "json"])
def test_exports_answer_if_none_match_with_304(client, conference, suffix):
    path = f"{BASE}/schedule.{suffix}"
    etag = client.get(path).headers["ETag"]
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    conference.sessions[4].title = "Panel 1 – renamed"
    db.session.commit()
    changed = client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert "renamed" in changed.get_data(as_text=True)


def test_each_export_has_its_own_etag(client, conference):
    etags = {client.get(f"{BASE}/schedule.{s}").headers["ETag"] for s in ("ics", "xml", "json")}
    assert len(etags) == 3


@pytest.mark.parametrize("suffix", ["ics", "xml", "json"])
def test_unknown_event_is_a_json_404(client, conference, suffix):
    response = client.get(f"/api/v1/events/nope/schedule.{suffix}")
    assert response.status_code == 404
    assert response.json == {"code": 404, "status": "Not Found",
                             "message": "Event 'nope' not found", "errors": {}}


def test_openapi_documents_the_content_types(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for suffix, content_type in (("ics", "text/calendar"), ("xml", "application/xml"),
                                 ("json", "application/json")):
        responses = paths[f"/api/v1/events/{{slug}}/schedule.{suffix}"]["get"]["responses"]
        assert list(responses["200"]["content"]) == [content_type]
        assert "304" in responses


@pytest.mark.parametrize("first,last", [(2020, 2021), (2020, 2023)])
def test_vtimezone_onsets_are_the_real_transitions(first, last):
    """RFC 5545: DTSTART (and each RDATE) in the wall clock before the change, so that
    onset - TZOFFSETFROM is the UTC instant the zone really changes offset."""
    vienna = ZoneInfo("Europe/Vienna")
    onsets = 0
    zone = vtimezone("Europe/Vienna", date(first, 1, 1), date(last, 1, 1))
    for part in zone.subcomponents:
        before, after = part["TZOFFSETFROM"].td, part["TZOFFSETTO"].td
        if before == after:
            continue
        rdates = part.get("RDATE")
        extra = [v.dt for v in rdates.dts] if rdates is not None else []
        for wall in [part["DTSTART"].dt] + extra:
            instant = (wall - before).replace(tzinfo=timezone.utc)
            assert (instant - timedelta(seconds=1)).astimezone(vienna).utcoffset() == before
            assert instant.astimezone(vienna).utcoffset() == after
            onsets += 1
    assert onsets == 2 * (last - first)
    assert zone.walk("DAYLIGHT")[0]["DTSTART"].dt == datetime(2020, 3, 29, 2, 0)
