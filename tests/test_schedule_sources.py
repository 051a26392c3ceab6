"""Schedules from outside parsed at the edge (companion.schedule.sources): frab XML, c3voc
JSON and our own JSON into one Programme, broken files refused by line or JSON path, and
a source read again over HTTP with its validators."""

import importlib.util
import json
import random
import socket
import threading
import time as clock
import uuid
from dataclasses import replace
from datetime import datetime, time, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import jsonschema
import pytest
from lxml import etree

from companion.schedule.models import SESSION_KINDS
from companion.schedule.programme import ProgrammeRoom, SourceError
from companion.schedule.fetch import fetch
from companion.schedule.sources import checks, parse
from companion.schedule.sources.checks import MAX_BYTES, MAX_SESSIONS

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
BERLIN = ZoneInfo("Europe/Berlin")
UTC = timezone.utc
PORTS = range(9200, 9220)  # this branch's own
OLD_FRAB_GUID = "Xk3jF9aQ2mZ0tR7pL1wVbg"

# One small camp, as pretalx writes its frab XML: two days that run to 04:00 the next
# morning (a session at 00:15 belongs to the day before), three rooms, eight events; one
# guid from an older frab that is not a UUID, a type nobody maps, a lightning talk.
FRAB = """<?xml version='1.0' encoding='utf-8' ?>
<!-- Made with love by pretalx v2025.1.0. -->
<schedule>
    <generator name="pretalx" version="2025.1.0" />
    <version>0.7</version>
    <conference>
        <title>Demo Camp 2026</title>
        <acronym>democamp2026</acronym>
        <start>2026-07-10</start>
        <end>2026-07-11</end>
        <days>2</days>
        <timeslot_duration>00:05</timeslot_duration>
        <base_url>https://pretalx.example.org/</base_url>
        <time_zone_name>Europe/Berlin</time_zone_name>
        <track name="Infrastructure" slug="infrastructure" color="#1f77b4" />
    </conference>
    <day index='1' date='2026-07-10' start='2026-07-10T10:00:00+02:00' end='2026-07-11T04:00:00+02:00'>
        <room name='Saal 1' guid='5bd8a1f4-3d8e-4c36-9a0e-4c1f4e1a0001'>
            <event guid='0c4ad6c8-6ac3-4c1c-9b43-7d3c0e5d0101' id='101' code='ABC101'>
                <room>Saal 1</room>
                <title>Opening</title>
                <subtitle></subtitle>
                <type>Opening</type>
                <date>2026-07-10T10:00:00+02:00</date>
                <start>10:00</start>
                <duration>00:30</duration>
                <abstract>Welcome to the camp.</abstract>
                <slug>democamp2026-101-opening</slug>
                <track></track>
                <persons>
                    <person id='1'>Alice Adler</person>
                </persons>
                <language>en</language>
                <links></links>
                <url>https://pretalx.example.org/democamp2026/talk/ABC101/</url>
            </event>
            <event guid='Xk3jF9aQ2mZ0tR7pL1wVbg' id='102'>
                <room>Saal 1</room>
                <title>Keeping time zones straight</title>
                <subtitle></subtitle>
                <type>Talk</type>
                <date>2026-07-10T11:00:00+02:00</date>
                <start>11:00</start>
                <duration>01:00</duration>
                <abstract>Offsets, zones and the day after.</abstract>
                <slug>democamp2026-102-keeping-time-zones-straight</slug>
                <track>Infrastructure</track>
                <persons>
                    <person id='2'>Bob Brandt</person><person id='3'>Carol Chen</person>
                </persons>
                <language>DE</language>
                <description>Longer text
	with a tab and two lines.</description>
            </event>
        </room>
        <room name='Saal Zuse' guid='5bd8a1f4-3d8e-4c36-9a0e-4c1f4e1a0002'>
            <event guid='0c4ad6c8-6ac3-4c1c-9b43-7d3c0e5d0103' id='103'>
                <room>Saal Zuse</room>
                <title>Soldering for beginners</title>
                <type>Workshop</type>
                <date>2026-07-10T14:00:00+02:00</date>
                <start>14:00</start>
                <duration>01:30</duration>
                <abstract></abstract>
                <track>Hardware</track>
                <persons><person id='4'>Dana Dorn</person></persons>
                <language>en</language>
            </event>
            <event guid='0c4ad6c8-6ac3-4c1c-9b43-7d3c0e5d0104' id='104'>
                <room>Saal Zuse</room>
                <title>Late-night lightning talks</title>
                <type>Lightning Talk</type>
                <date>2026-07-11T00:15:00+02:00</date>
                <start>00:15</start>
                <duration>00:45</duration>
                <abstract>Five minutes each.</abstract>
                <track>Community</track>
                <persons></persons>
            </event>
        </room>
        <room name='Hack Lab' guid='5bd8a1f4-3d8e-4c36-9a0e-4c1f4e1a0003'>
            <event guid='0c4ad6c8-6ac3-4c1c-9b43-7d3c0e5d0105' id='105'>
                <room>Hack Lab</room>
                <title>Coffee</title>
                <type>Pause</type>
                <date>2026-07-10T16:00:00+02:00</date>
                <start>16:00</start>
                <duration>00:30</duration>
                <abstract></abstract>
                <track></track>
            </event>
        </room>
    </day>
    <day index='2' date='2026-07-11' start='2026-07-11T10:00:00+02:00' end='2026-07-12T04:00:00+02:00'>
        <room name='Saal 1' guid='5bd8a1f4-3d8e-4c36-9a0e-4c1f4e1a0001'>
            <event guid='0c4ad6c8-6ac3-4c1c-9b43-7d3c0e5d0106' id='106'>
                <room>Saal 1</room>
                <title>Who owns the schedule?</title>
                <type>Podium</type>
                <date>2026-07-11T10:00:00+02:00</date>
                <start>10:00</start>
                <duration>01:00</duration>
                <abstract>A panel.</abstract>
                <track>Society</track>
                <persons>
                    <person id='5'>Erin Eck</person><person id='6'>Frank Faber</person><person id='7'>Grace Gruber</person>
                </persons>
                <language>en</language>
            </event>
            <event guid='0c4ad6c8-6ac3-4c1c-9b43-7d3c0e5d0107' id='107'>
                <room>Saal 1</room>
                <title>Closing</title>
                <type>closing</type>
                <date>2026-07-11T17:00:00+02:00</date>
                <start>17:00</start>
                <duration>00:30</duration>
                <abstract></abstract>
                <track></track>
            </event>
        </room>
        <room name='Hack Lab' guid='5bd8a1f4-3d8e-4c36-9a0e-4c1f4e1a0003'>
            <event guid='0c4ad6c8-6ac3-4c1c-9b43-7d3c0e5d0108' id='108'>
                <room>Hack Lab</room>
                <title>Demo party</title>
                <type>Concert</type>
                <date>2026-07-11T21:00:00+02:00</date>
                <start>21:00</start>
                <duration>3:00</duration>
                <abstract></abstract>
                <track></track>
            </event>
        </room>
    </day>
</schedule>
"""


def talk(guid, id, room, title, type, start, duration, abstract=None, description=None,
         track=None, persons=(), language=None) -> dict:
    """An event of c3voc's schedule.json with every field the schema requires."""
    starts = datetime.fromisoformat(start)
    hours, minutes = duration.split(":")
    return {
        "guid": guid, "id": id, "date": start, "start": starts.strftime("%H:%M"),
        "end": (starts + timedelta(hours=int(hours), minutes=int(minutes))).isoformat(),
        "duration": duration, "room": room, "slug": f"democamp2026-{id}",
        "url": f"https://pretalx.example.org/democamp2026/talk/{id}/", "title": title,
        "subtitle": "", "track": track, "type": type, "language": language,
        "abstract": abstract, "description": description,
        "persons": [{"code": f"P{n}", "name": name, "public_name": name}
                    for n, name in enumerate(persons)],
        "links": [],
    }


def g(n: int) -> str:
    return f"0c4ad6c8-6ac3-4c1c-9b43-7d3c0e5d0{n}"


# The same camp as pretalx writes its schedule.json.
C3VOC = {
    "$schema": "https://c3voc.de/schedule/schema.json",
    "generator": {"name": "pretalx", "version": "2025.1.0"},
    "schedule": {
        "version": "0.7",
        "base_url": "https://pretalx.example.org/",
        "conference": {
            "acronym": "democamp2026", "title": "Demo Camp 2026",
            "start": "2026-07-10", "end": "2026-07-11", "daysCount": 2,
            "timeslot_duration": "00:05", "time_zone_name": "Europe/Berlin",
            "rooms": [
                {"name": "Saal 1", "guid": "5bd8a1f4-3d8e-4c36-9a0e-4c1f4e1a0001"},
                {"name": "Saal Zuse", "guid": "5bd8a1f4-3d8e-4c36-9a0e-4c1f4e1a0002"},
                {"name": "Hack Lab", "guid": "5bd8a1f4-3d8e-4c36-9a0e-4c1f4e1a0003"},
            ],
            "tracks": [{"name": "Infrastructure", "slug": "infrastructure"}],
            "days": [
                {"index": 1, "date": "2026-07-10", "day_start": "2026-07-10T10:00:00+02:00",
                 "day_end": "2026-07-11T04:00:00+02:00", "rooms": {
                     "Saal 1": [
                         talk(g(101), 101, "Saal 1", "Opening", "Opening",
                              "2026-07-10T10:00:00+02:00", "00:30",
                              abstract="Welcome to the camp.", persons=["Alice Adler"],
                              language="en"),
                         talk(OLD_FRAB_GUID, 102, "Saal 1", "Keeping time zones straight",
                              "Talk", "2026-07-10T11:00:00+02:00", "01:00",
                              abstract="Offsets, zones and the day after.",
                              description="Longer text\n\twith a tab and two lines.",
                              track="Infrastructure", persons=["Bob Brandt", "Carol Chen"],
                              language="DE"),
                     ],
                     "Saal Zuse": [
                         talk(g(103), 103, "Saal Zuse", "Soldering for beginners",
                              "Workshop", "2026-07-10T14:00:00+02:00", "01:30",
                              abstract="", track="Hardware", persons=["Dana Dorn"],
                              language="en"),
                         talk(g(104), 104, "Saal Zuse", "Late-night lightning talks",
                              "Lightning Talk", "2026-07-11T00:15:00+02:00", "00:45",
                              abstract="Five minutes each.", track="Community"),
                     ],
                     "Hack Lab": [
                         talk(g(105), 105, "Hack Lab", "Coffee", "Pause",
                              "2026-07-10T16:00:00+02:00", "00:30"),
                     ],
                 }},
                {"index": 2, "date": "2026-07-11", "day_start": "2026-07-11T10:00:00+02:00",
                 "day_end": "2026-07-12T04:00:00+02:00", "rooms": {
                     "Saal 1": [
                         talk(g(106), 106, "Saal 1", "Who owns the schedule?", "Podium",
                              "2026-07-11T10:00:00+02:00", "01:00", abstract="A panel.",
                              track="Society",
                              persons=["Erin Eck", "Frank Faber", "Grace Gruber"],
                              language="en"),
                         talk(g(107), 107, "Saal 1", "Closing", "closing",
                              "2026-07-11T17:00:00+02:00", "00:30"),
                     ],
                     "Hack Lab": [
                         talk(g(108), 108, "Hack Lab", "Demo party", "Concert",
                              "2026-07-11T21:00:00+02:00", "3:00"),
                     ],
                 }},
            ],
        },
    },
}


def c3voc_text(document=None) -> str:
    return json.dumps(C3VOC if document is None else document, indent=1, ensure_ascii=False)


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 7, day, hour, minute, tzinfo=BERLIN)


def line(text: str, needle: str) -> str:
    """Where ``needle`` first is in ``text``, as the errors name it."""
    return f"line {text[:text.index(needle)].count(chr(10)) + 1}"


def plain(programme) -> list:
    """The sessions, whatever line or path each came from."""
    return [replace(session, where=None) for session in programme.sessions]


def refused(content, **options) -> SourceError:
    with pytest.raises(SourceError) as raised:
        parse(content, **options)
    return raised.value


# --- the same camp from frab XML and from c3voc JSON ---------------------------------

def test_frab_and_c3voc_give_the_same_programme():
    frab, c3voc = parse(FRAB), parse(c3voc_text())
    assert (frab.format, c3voc.format) == ("frab", "c3voc")
    assert plain(frab) == plain(c3voc)
    for programme in (frab, c3voc):
        assert programme.title == "Demo Camp 2026"
        assert programme.slug == "democamp2026"
        assert (programme.starts_on.isoformat(), programme.ends_on.isoformat()) == (
            "2026-07-10", "2026-07-11")
        assert programme.timezone == "Europe/Berlin"
        # The days run to 04:00: the lightning talks at 00:15 are the first day's.
        assert programme.day_change == time(4)
        assert programme.rooms == [ProgrammeRoom("Saal 1"), ProgrammeRoom("Saal Zuse"),
                                   ProgrammeRoom("Hack Lab")]

    sessions = {session.title: session for session in frab.sessions}
    assert [s.title for s in frab.sessions] == [
        "Opening", "Keeping time zones straight", "Soldering for beginners",
        "Late-night lightning talks", "Coffee", "Who owns the schedule?", "Closing",
        "Demo party"]
    assert {title: s.kind for title, s in sessions.items()} == {
        "Opening": "opening", "Keeping time zones straight": "talk",
        "Soldering for beginners": "workshop", "Late-night lightning talks": "talk",
        "Coffee": "break", "Who owns the schedule?": "panel", "Closing": "closing",
        "Demo party": "other"}

    talk = sessions["Keeping time zones straight"]
    assert talk.guid == OLD_FRAB_GUID          # kept: it is the identity across versions
    assert (talk.starts_at, talk.ends_at) == (berlin(10, 11), berlin(10, 12))
    assert talk.starts_at.utcoffset() == timedelta(hours=2)  # the file's own offset, kept
    assert talk.room == "Saal 1"
    assert talk.speakers == ["Bob Brandt", "Carol Chen"]
    assert talk.topics == ["Infrastructure"]
    assert talk.language == "de"
    assert talk.description == ("Offsets, zones and the day after.\n\n"
                                "Longer text\n\twith a tab and two lines.")
    assert talk.key is None

    late = sessions["Late-night lightning talks"]
    assert late.guid == g(104)
    assert (late.starts_at, late.ends_at) == (berlin(11, 0, 15), berlin(11, 1))
    assert late.speakers == [] and late.description == "Five minutes each."
    assert sessions["Soldering for beginners"].description is None
    assert sessions["Opening"].topics == []
    assert sessions["Demo party"].ends_at == berlin(12, 0)
    assert sessions["Who owns the schedule?"].speakers == ["Erin Eck", "Frank Faber",
                                                           "Grace Gruber"]
    assert frab.sessions[0].where == line(FRAB, "id='101'")
    assert c3voc.sessions[1].where == '$.schedule.conference.days[0].rooms["Saal 1"][1]'


def test_what_strays_from_the_schema_is_a_warning_each():
    """The XSD and the JSON schema refuse the old frab guid; the import takes it, and says
    so once, with the example; so with the type nobody maps."""
    xsd = etree.XMLSchema(etree.parse(str(DATA / "schedule.xml.xsd")))
    assert not xsd.validate(etree.fromstring(FRAB.encode()))
    assert all("guid" in error.message for error in xsd.error_log)
    schema = json.loads((DATA / "schedule.schema.json").read_text("utf-8"))
    validator = jsonschema.Draft6Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = list(validator.iter_errors(C3VOC))
    assert [error.instance for error in errors] == [OLD_FRAB_GUID]

    for programme, where in ((parse(FRAB), line(FRAB, OLD_FRAB_GUID)),
                             (parse(c3voc_text()), '$.schedule.conference.days[0]'
                                                   '.rooms["Saal 1"][1].guid')):
        guids = [w for w in programme.warnings if "not UUIDs" in w]
        assert guids == [f"session guids that are not UUIDs, kept as they are: 1; "
                         f"first '{OLD_FRAB_GUID}' at {where}"]
        others = [w for w in programme.warnings if "kind 'other'" in w]
        assert len(others) == 1 and "'Concert'" in others[0] and ": 1;" in others[0]
    # The XML's events without <persons>, <language>...: not what the schema requires.
    assert not [w for w in parse(c3voc_text()).warnings if "schema requires" in w]


def test_times_without_date_are_placed_by_the_day_and_its_bounds():
    """Older frab writes no <date>: the day's date and <start>, read in the file's zone,
    and 00:15 of a day that runs to 04:00 falls on the next date."""
    root = etree.fromstring(FRAB.encode())
    for element in root.iter("date"):
        element.getparent().remove(element)
    older = parse(etree.tostring(root))
    assert plain(older) == plain(parse(FRAB))
    assert "event/date (8)" in older.warnings[0]


def test_day_change_named_by_the_file():
    root = etree.fromstring(FRAB.encode())
    etree.SubElement(root.find("conference"), "day_change").text = "03:00:00"
    assert parse(etree.tostring(root)).day_change == time(3)
    document = json.loads(c3voc_text())
    document["schedule"]["conference"]["day_change"] = "05:30"
    assert parse(c3voc_text(document)).day_change == time(5, 30)
    document["schedule"]["conference"]["day_change"] = "25:00"
    error = refused(c3voc_text(document))
    assert error.where == "$.schedule.conference.day_change"


def test_time_zone_from_the_file_or_given():
    # Without offsets the times are the file's wall clock in the file's own zone.
    naive = FRAB.replace("+02:00</date>", "</date>")
    assert plain(parse(naive)) == plain(parse(FRAB))

    no_zone = naive.replace("<time_zone_name>Europe/Berlin</time_zone_name>", "")
    error = refused(no_zone)
    assert error.where == line(no_zone, "<date>") and "no UTC offset" in error.message
    given = parse(no_zone, timezone="Europe/Berlin")
    assert given.timezone is None       # the file's own: the import decides the event's
    assert plain(given) == plain(parse(FRAB))
    # Eight hours west, the same wall clock is another instant.
    assert plain(parse(no_zone, timezone="America/New_York"))[0].starts_at == \
        datetime(2026, 7, 10, 14, 0, tzinfo=UTC)

    # A file that names its zone reads its times in it, whatever the caller gives.
    other = parse(naive, timezone="Europe/London")
    assert other.timezone == "Europe/Berlin"
    assert plain(other) == plain(parse(FRAB))

    error = refused(FRAB.replace("Europe/Berlin", "Europe/Atlantis"))
    assert (error.where, error.message) == (line(FRAB, "<time_zone_name>"),
                                            "unknown time zone 'Europe/Atlantis'")
    assert refused(no_zone, timezone="Mars/Olympus").message == \
        "unknown time zone 'Mars/Olympus'"


@pytest.mark.parametrize("types, kind", [
    (("talk", "Talk", "LECTURE", "Lightning Talk"), "talk"),
    (("workshop", "Hands-on Workshop"), "workshop"),
    (("Keynote",), "keynote"),
    (("panel", "Podium", "discussion", "Panel discussion"), "panel"),
    (("break", "Pause", "coffee break"), "break"),
    (("Lunch",), "lunch"),
    (("opening", "Welcome"), "opening"),
    (("closing",), "closing"),
    (("networking", "Social", "reception"), "networking"),
    (("Registration",), "registration"),
    (("side event", "Side-Event", "side_event"), "side_event"),
    (("Concert", "game", "other"), "other"),
])
def test_types_map_to_kinds(types, kind):
    for type_name in types:
        assert checks.kind(type_name, "line 1", checks.Strays()) == kind


def test_every_type_maps_to_a_session_kind():
    assert set(checks.KIND_OF_TYPE.values()) == set(SESSION_KINDS)


def test_durations_of_frab_and_pretalx():
    strays = checks.Strays()
    assert checks.duration("00:45", "x", strays) == timedelta(minutes=45)
    assert checks.duration("48:00", "x", strays) == timedelta(hours=48)
    assert checks.duration("01:30:00", "x", strays) == timedelta(hours=1, minutes=30)
    assert strays.warnings() == []
    # pretalx writes a session of a day or more as days:hours:minutes, the days unpadded.
    assert checks.duration("1:02:30", "line 7", strays) == timedelta(days=1, hours=2,
                                                                     minutes=30)
    assert strays.warnings() == ["durations read as pretalx's days:hours:minutes: 1; "
                                 "first '1:02:30' at line 7"]
    for wrong in ("45", "1:60", "1:2:3:4", "-1:00", "an hour"):
        with pytest.raises(SourceError):
            checks.duration(wrong, "x", strays)


def test_mangled_files_are_refused_or_parsed():
    """Fields deleted, emptied or of another type: a SourceError or a programme, never
    anything else (the caller shows the error, no traceback)."""
    rng = random.Random(22)
    values = [None, 0, -1, 1.5, True, "", " ", "x", "25:99", "2026-13-01", "1:2:3",
              "2026-07-10T10:00:00", "9999-12-31T23:59:59+14:00", "Europe/Nowhere", [], {},
              ["x"], {"name": 1}, "\u0000"]
    ours = json.loads((ROOT / "companion/schedule/data/alliance-2020.json").read_text("utf-8"))
    for document in (C3VOC, ours):
        for _ in range(150):
            mangled = json.loads(json.dumps(document))
            for _ in range(rng.randint(1, 3)):
                node, parent, name = mangled, None, None
                while isinstance(node, (dict, list)) and node:   # down to a random field
                    parent = node
                    name = rng.choice(list(node) if isinstance(node, dict)
                                      else range(len(node)))
                    node = node[name]
                    if rng.random() < 0.25:
                        break
                if parent is None:
                    continue
                if isinstance(parent, dict) and rng.random() < 0.3:
                    del parent[name]
                else:
                    parent[name] = json.loads(json.dumps(rng.choice(values)))
            try:
                parse(json.dumps(mangled))
            except SourceError:
                pass
    texts = [value for value in values if isinstance(value, str) and "\u0000" not in value]
    for _ in range(150):
        root = etree.fromstring(FRAB.encode())
        element = rng.choice(list(root.iter()))
        if element.attrib and rng.random() < 0.5:
            name = rng.choice(list(element.attrib))
            if rng.random() < 0.5:
                del element.attrib[name]
            else:
                element.set(name, rng.choice(texts))
        elif element.getparent() is not None and rng.random() < 0.3:
            element.getparent().remove(element)
        else:
            element.text = rng.choice(texts)
        try:
            parse(etree.tostring(root))
        except SourceError:
            pass


# --- our own JSON --------------------------------------------------------------------

def test_our_own_conference_json():
    path = ROOT / "companion/schedule/data/alliance-2020.json"
    data = json.loads(path.read_text("utf-8"))
    programme = parse(path.read_bytes())
    assert programme.format == "companion"
    assert (programme.slug, programme.timezone) == ("alliance-2020", "Europe/Vienna")
    assert programme.title == data["event"]["name"]
    assert programme.url == data["event"]["url"]
    assert programme.details["subtitle"] == "Ending Impunity"
    assert programme.details["reminder_kinds"] == ["panel", "networking"]
    assert programme.warnings == []
    assert [(room.key, room.name) for room in programme.rooms] == [
        (room["key"], room["name"]) for room in data["rooms"]]
    assert programme.rooms[0].details["building"] == "Hofburg Congress Center"

    vienna = ZoneInfo("Europe/Vienna")
    assert len(programme.sessions) == len(data["sessions"]) == 12
    assert {s.starts_at.astimezone(vienna).date().isoformat() for s in programme.sessions} \
        == {"2020-03-30", "2020-03-31"}
    room_names = {room["key"]: room["name"] for room in data["rooms"]}
    for session, values in zip(programme.sessions, data["sessions"], strict=True):
        assert session.key == values["key"]
        assert session.guid == str(uuid.uuid5(uuid.NAMESPACE_URL,
                                              f"{values['key']}@alliance-2020.companion"))
        assert session.kind == values["kind"]
        assert session.title == values["title"]
        assert session.topics == values["topics"]
        assert session.room == room_names[values["room"]]
        local = session.starts_at.astimezone(vienna)
        assert (local.date().isoformat(), local.strftime("%H:%M")) == (values["date"],
                                                                      values["starts"])
        assert session.ends_at.astimezone(vienna).strftime("%H:%M") == values["ends"]
        assert session.speakers == []


def test_our_exports_parse_back_to_the_same_sessions(client, conference):
    """schedule.xml and schedule.json as we serve them give the guids, times, titles and
    rooms of the file they were seeded from."""
    own = parse((ROOT / "companion/schedule/data/alliance-2020.json").read_bytes())
    shape = [(s.guid, s.starts_at, s.ends_at, s.title, s.room) for s in own.sessions]
    for path in ("schedule.xml", "schedule.json"):
        response = client.get(f"/api/v1/events/alliance-2020/{path}")
        assert response.status_code == 200
        served = parse(response.data)
        assert [(s.guid, s.starts_at, s.ends_at, s.title, s.room)
                for s in served.sessions] == shape
        assert served.timezone == "Europe/Vienna"
        assert (served.starts_on, served.ends_on) == (own.starts_on, own.ends_on)


def test_our_own_json_refused_where_it_is_wrong():
    data = json.loads((ROOT / "companion/schedule/data/alliance-2020.json").read_text("utf-8"))
    data["sessions"][3]["room"] = "nowhere"
    error = refused(json.dumps(data))
    assert (error.where, error.message) == ("$.sessions[3].room", "no room with key 'nowhere'")
    data["sessions"][3]["room"] = data["rooms"][0]["key"]
    data["sessions"][5]["kind"] = "party"
    assert refused(json.dumps(data)).where == "$.sessions[5].kind"
    data["sessions"][5]["kind"] = "panel"
    data["sessions"][7]["ends"] = "07:00"
    assert refused(json.dumps(data)).message == "ends before it starts"
    del data["sessions"][7]["ends"]
    assert refused(json.dumps(data)).where == "$.sessions[7].ends"
    data["sessions"][7]["ends"] = "18:00"

    # A room is checked as an organiser's edit of it would be.
    data["rooms"][0]["facilities"][1]["kind"] = "sauna"
    error = refused(json.dumps(data))
    assert error.where == "$.rooms[0].facilities[1].kind"
    assert error.message.startswith("Must be one of: entrance")
    data["rooms"][0]["facilities"][1]["kind"] = "cafeteria"
    data["rooms"][0]["colour"] = "red"
    data["sessions"][2]["mood"] = "festive"
    assert parse(json.dumps(data)).warnings == [
        "fields we do not know, left out: 2; first 'colour' at $.rooms[0].colour"]


# --- refused files ---------------------------------------------------------------------

def test_broken_xml_names_its_line():
    broken = FRAB.replace("<title>Coffee</title>", "<title>Coffee</titel>")
    error = refused(broken)
    assert error.where == line(FRAB, "<title>Coffee")
    assert error.message.startswith("not well-formed XML: ")
    assert str(error).startswith(f"{error.where}: not well-formed XML")


def test_broken_json_names_its_line_and_a_wrong_field_its_path():
    text = c3voc_text()
    error = refused(text.replace('"daysCount": 2,', '"daysCount": 2,,'))
    assert error.where == f"{line(text, 'daysCount')} column 19"
    assert error.message == ("not well-formed JSON: "
                             "Expecting property name enclosed in double quotes")

    document = json.loads(text)
    day = document["schedule"]["conference"]["days"][1]
    day["rooms"]["Saal 1"][1]["duration"] = 30
    error = refused(c3voc_text(document))
    assert error.where == '$.schedule.conference.days[1].rooms["Saal 1"][1].duration'
    assert error.message == "must be text, not a number"
    day["rooms"]["Saal 1"][1]["duration"] = "half an hour"
    day["rooms"]["Saal 1"][1].pop("end")
    assert refused(c3voc_text(document)).where == \
        '$.schedule.conference.days[1].rooms["Saal 1"][1].duration'


def test_missing_required_field_named():
    error = refused(FRAB.replace("<title>Closing</title>", ""))
    assert (error.where, error.message) == (line(FRAB, "id='107'"),
                                            "required field 'title' missing")

    document = json.loads(c3voc_text())
    event = document["schedule"]["conference"]["days"][0]["rooms"]["Hack Lab"][0]
    del event["date"], event["start"]
    error = refused(c3voc_text(document))
    assert error.where == '$.schedule.conference.days[0].rooms["Hack Lab"][0].date'
    assert error.message == "required field 'date' missing"

    del document["schedule"]["conference"]["days"][1]["rooms"]
    assert refused(c3voc_text(document)).where == "$.schedule.conference.days[1].rooms"
    error = refused(FRAB.replace("<room name='Hack Lab' guid", "<room guid"))
    assert (error.where, error.message) == (line(FRAB, "<room name='Hack Lab'"),
                                            "<room> has no name")


def test_unknown_formats_refused():
    message = "not a frab schedule XML, c3voc schedule.json or conference JSON"
    for content in (b"", b"BEGIN:VCALENDAR", b"[1, 2]", b'{"event": {}}',
                    "<html><body>schedule</body></html>", b"\xff\xfe<\x00"):
        error = refused(content)
        assert (error.message, error.where) == (message, None)


def test_the_same_guid_twice_and_an_end_before_the_start():
    twice = FRAB.replace("0c4ad6c8-6ac3-4c1c-9b43-7d3c0e5d0107", g(101))
    error = refused(twice)
    assert error.where == line(FRAB, "id='107'")
    assert error.message == f"guid '{g(101)}' again (first at {line(FRAB, g(101))})"

    document = json.loads(c3voc_text())
    event = document["schedule"]["conference"]["days"][0]["rooms"]["Hack Lab"][0]
    event["end"] = "2026-07-10T15:00:00+02:00"
    error = refused(c3voc_text(document))
    assert error.where == '$.schedule.conference.days[0].rooms["Hack Lab"][0]'
    assert error.message.startswith("ends (2026-07-10T15:00:00+02:00) before it starts")


def test_missing_guid_made_from_the_id():
    programme = parse(FRAB.replace(" guid='0c4ad6c8-6ac3-4c1c-9b43-7d3c0e5d0105'", ""))
    coffee = next(s for s in programme.sessions if s.title == "Coffee")
    assert coffee.guid == str(uuid.uuid5(uuid.NAMESPACE_URL, "105@democamp2026"))
    coffee_line = line(FRAB, "id='105'")
    assert f"sessions without a guid, given one made from their id: 1; first {coffee_line}" \
        in programme.warnings
    assert f"fields the schema requires are missing: event/@guid (1); first at {coffee_line}" \
        in programme.warnings
    error = refused(FRAB.replace(" guid='0c4ad6c8-6ac3-4c1c-9b43-7d3c0e5d0105' id='105'", ""))
    assert error.where == coffee_line


def test_bounds_at_the_edge():
    assert refused(b" " * (MAX_BYTES + 1)).message == "the file is larger than 20 MB"

    long_title = "A" * 301
    error = refused(FRAB.replace("<title>Coffee</title>", f"<title>{long_title}</title>"))
    assert (error.where, error.message) == (line(FRAB, "<title>Coffee"),
                                            "longer than 300 characters (301)")
    document = json.loads(c3voc_text())
    rooms = document["schedule"]["conference"]["days"][0]["rooms"]
    rooms["R" * 201] = rooms.pop("Hack Lab")
    error = refused(c3voc_text(document))
    assert error.where == f'$.schedule.conference.days[0].rooms["{"R" * 201}"]'
    rooms["Hack Lab"] = rooms.pop("R" * 201)
    rooms["Hack Lab"][0]["description"] = "x" * 20_001
    assert refused(c3voc_text(document)).where == \
        '$.schedule.conference.days[0].rooms["Hack Lab"][0].description'

    far = FRAB.replace("2026-07-11T21:00:00+02:00", "9999-12-31T23:00:00-12:00")
    error = refused(far)
    assert (error.where, error.message) == (
        line(FRAB, "2026-07-11T21:00:00+02:00"),
        "'9999-12-31T23:00:00-12:00' is not in the years 1900 to 2200")

    many = json.loads(c3voc_text())
    one = many["schedule"]["conference"]["days"][0]["rooms"]["Hack Lab"][0]
    many["schedule"]["conference"]["days"][0]["rooms"]["Hack Lab"] = [
        {**one, "guid": str(uuid.UUID(int=n)), "id": n + 1} for n in range(MAX_SESSIONS + 1)]
    error = refused(json.dumps(many))
    assert error.message == "more than 20000 sessions"


def test_control_characters_stripped_with_a_warning():
    document = json.loads(c3voc_text())
    event = document["schedule"]["conference"]["days"][0]["rooms"]["Saal 1"][1]
    event["title"] = "Keeping time\u0007 zones\nstraight"
    event["abstract"] = "Offsets,\u0000 zones and the day after."
    programme = parse(c3voc_text(document))
    assert plain(programme) == plain(parse(FRAB))
    assert ("control characters removed from texts: 2; first $.schedule.conference.days[0]"
            '.rooms["Saal 1"][1].title') in programme.warnings


def test_entities_are_neither_expanded_nor_read():
    """A billion laughs is refused at once; an external entity is not read."""
    laughs = FRAB.replace("<?xml version='1.0' encoding='utf-8' ?>", """<?xml version="1.0"?>
<!DOCTYPE schedule [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
<!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;"><!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">]>""")
    started = clock.perf_counter()
    error = refused(laughs.replace("<title>Coffee</title>", "<title>Coffee &h;</title>"))
    assert clock.perf_counter() - started < 1
    assert error.where.startswith("line ") and "entity amplification" in error.message

    secret = FRAB.replace("<?xml version='1.0' encoding='utf-8' ?>", """<?xml version="1.0"?>
<!DOCTYPE schedule [<!ENTITY secret SYSTEM "file:///etc/hostname">]>""").replace(
        "<title>Coffee</title>", "<title>Coffee&secret;</title>")
    assert [s.title for s in parse(secret).sessions if s.title.startswith("Coffee")] == \
        ["Coffee"]


# --- a source read over HTTP -----------------------------------------------------------

class Source(BaseHTTPRequestHandler):
    """A schedule server: /schedule.xml with an ETag (304 when it still holds), /down
    answers 503, /huge sends more than an import reads."""

    requests_seen: list = []

    def do_GET(self):
        type(self).requests_seen.append(dict(self.headers))
        if self.path == "/down":
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/huge":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b" " * 2**20
            try:
                for _ in range(MAX_BYTES // len(chunk) + 2):
                    self.wfile.write(chunk)
            except OSError:
                pass    # the reader stopped
            self.close_connection = True
        elif self.headers.get("If-None-Match") == '"v1"':
            self.send_response(304)
            self.send_header("ETag", '"v1"')
            self.end_headers()
        else:
            body = FRAB.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("ETag", '"v1"')
            self.send_header("Last-Modified", "Fri, 04 Dec 2026 20:00:00 GMT")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def source_url():
    """A real HTTP server in a thread, on a free port of this branch's range."""
    for port in PORTS:
        try:
            server = ThreadingHTTPServer(("127.0.0.1", port), Source)
            break
        except OSError:
            continue
    else:
        pytest.fail("no free port in 9200-9219")
    Source.requests_seen = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_fetch_with_etag_then_not_modified(source_url):
    first = fetch(f"{source_url}/schedule.xml")
    assert not first.not_modified
    assert first.content == FRAB.encode()
    assert (first.etag, first.last_modified) == ('"v1"', "Fri, 04 Dec 2026 20:00:00 GMT")
    assert plain(parse(first.content)) == plain(parse(FRAB))

    again = fetch(f"{source_url}/schedule.xml", etag=first.etag,
                  last_modified=first.last_modified)
    assert again.not_modified and again.content is None
    assert again.etag == '"v1"'
    sent = Source.requests_seen[-1]
    assert sent["If-None-Match"] == '"v1"'
    assert sent["If-Modified-Since"] == "Fri, 04 Dec 2026 20:00:00 GMT"


def test_fetch_failures_are_source_errors(source_url):
    with pytest.raises(SourceError, match="HTTP 503"):
        fetch(f"{source_url}/down")
    with pytest.raises(SourceError, match="larger than 20 MB"):
        fetch(f"{source_url}/huge")
    with pytest.raises(SourceError, match="not an http or https URL"):
        fetch("file:///etc/passwd")
    with socket.socket() as unused:     # a port nobody listens on: refused
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(SourceError, match="could not read .*ConnectionError"):
        fetch(f"http://127.0.0.1:{port}/schedule.xml", timeout=2)


# --- the FOSDEM-sized bench schedule -----------------------------------------------------

def load_bench_fosdem():
    spec = importlib.util.spec_from_file_location("bench_fosdem", ROOT / "bench/fosdem.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_fosdem_schedule_is_valid_and_parses():
    fosdem = load_bench_fosdem()
    content = fosdem.generate_frab()
    xsd = etree.XMLSchema(etree.parse(str(DATA / "schedule.xml.xsd")))
    xsd.assertValid(etree.fromstring(content))
    programme = parse(content)
    assert len(programme.sessions) == 1000
    assert len(programme.rooms) == 40
    assert programme.timezone == "Europe/Brussels"
    assert (programme.starts_on.isoformat(), programme.ends_on.isoformat()) == (
        "2026-02-06", "2026-02-08")
    speakers = {name for session in programme.sessions for name in session.speakers}
    assert len(speakers) == 2000
    assert programme.warnings == []

    assert fosdem.generate_frab() == content      # the same seed, the same bytes
    changed = parse(fosdem.generate_frab(changed=50))
    assert [s.guid for s in changed.sessions] == [s.guid for s in programme.sessions]
    differ = [(a, b) for a, b in zip(programme.sessions, changed.sessions) if a != b]
    assert len(differ) == 50
    for before, after in differ:
        assert (after.starts_at - before.starts_at == timedelta(minutes=30)
                or after.title != before.title)
