"""The agenda as documents other software reads: iCalendar, frab XML and c3voc JSON.

Plain functions of an event and its sessions (in time order); the views only serve them.
The frab/c3voc guid is the session's own (an imported schedule's, kept across versions
and sources); the calendar's UID comes from ``Session.uid``. Times are local to the
event, with offset; a day begins at the event's day change (companion.schedule.days).

Cancelled sessions stay in the calendar with STATUS:CANCELLED, so a subscribed calendar
drops or strikes the entry it already has. The frab and c3voc formats have no status
(their JSON schema admits no extra field), so there cancelled sessions are left out.
"""

import hashlib
import json
import math
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from icalendar import Alarm, Calendar, Timezone, vDuration
from icalendar import Event as CalendarEvent
from lxml import etree
from sqlalchemy import func, select

from ..extensions import db
from ..timeutil import localise, utcnow
from .days import day_bounds, event_day
from .models import Event, ScheduleVersion, Session
from .schemas import EventSchema, RoomSchema, SessionSchema

GENERATOR = "alliance-companion"
PRODID = "-//Alliance companion//Schedule export//EN"
C3VOC_SCHEMA = "https://c3voc.de/schedule/schema.json"
REFRESH = timedelta(hours=1)  # how often subscribed calendars should look again
# frab's <event> elements that must be there even when empty; others are left out.
FRAB_REQUIRED = ("room", "title", "type", "date", "start", "duration", "abstract", "track")


def schedule_version(event: Event, sessions: list[Session]) -> str:
    """The released version's number with a digest of everything the exports show:
    ``"3 (4f1c2a9b0e7d)"``. It changes with a release (and with a re-seed, which writes
    the live tables too), never with a draft edit.

    It is the exports' version string and the basis of their ETag (not the bytes:
    the calendar's DTSTAMP is the moment it is served).
    """
    shown = {
        "event": EventSchema().dump(event),
        "rooms": RoomSchema(many=True).dump(event.rooms),
        "sessions": SessionSchema(many=True).dump(sessions),
    }
    digest = hashlib.sha1(json.dumps(shown, sort_keys=True).encode()).hexdigest()[:12]
    number = db.session.scalar(
        select(func.coalesce(func.max(ScheduleVersion.number), 0))
        .where(ScheduleVersion.event_id == event.id)
    )
    return f"{number} ({digest})"


def session_guid(session: Session) -> str:
    """The frab/c3voc guid of a session: its own, kept across versions and sources."""
    return session.guid


def slugify(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")


def acronym(event: Event) -> str:
    """The event's slug as both schemas accept it: c3voc's JSON allows a hyphen only
    before a four-digit year *and* a suffix, so "alliance-2020" becomes "alliance_2020"."""
    return slugify(event.slug).replace("-", "_")


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _topics(session: Session) -> str | None:
    if not session.topics:
        return None
    return "Topics to be covered:\n" + "\n".join(f"- {topic}" for topic in session.topics)


def _people(session: Session) -> list[dict]:
    """Speakers then moderators, each once: only what the public agenda shows (a name
    an imported schedule gives has no id)."""
    people = {person.id: {"id": person.id, "name": person.name}
              for person in session.speakers + session.moderators}
    return list(people.values()) + [{"name": name} for name in session.speaker_names or []
                                    if name not in {p["name"] for p in people.values()}]


# --- iCalendar -------------------------------------------------------------------

def _location(session: Session) -> str | None:
    room = session.room
    if room is None:
        return session.event.venue
    return ", ".join(part for part in (room.name, room.building, room.address) if part)


def _calendar_text(session: Session) -> str | None:
    parts = [session.description, _topics(session)]
    for label, people in (("Speakers", session.speakers_shown),
                          ("Moderators", session.moderators)):
        if people:
            parts.append(f"{label}: " + ", ".join(
                person["name"] if isinstance(person, dict) else person.name
                for person in people))
    return "\n\n".join(part for part in parts if part) or None


def to_ical(event: Event, sessions: list[Session], stamp: datetime | None = None,
            name: str | None = None, uid: str | None = None,
            alarms: dict[int, timedelta] | None = None) -> bytes:
    """The agenda as an RFC 5545 calendar: local times with TZID and their VTIMEZONE.

    A personal agenda passes its own ``name`` and ``uid``, and ``alarms``: the lead
    before each session (by id) at which its calendar app should remind.
    """
    stamp = stamp or utcnow().replace(microsecond=0)
    alarms = alarms or {}
    calendar = Calendar.new(
        prodid=PRODID, method="PUBLISH", name=name or event.name, url=event.url,
        uid=uid or f"schedule@{event.slug}.companion", refresh_interval=REFRESH,
    )
    calendar.add("X-WR-TIMEZONE", event.timezone)
    calendar.add("X-PUBLISHED-TTL", vDuration(REFRESH))
    for session in sessions:
        entry = CalendarEvent.new(
            uid=session.uid,
            stamp=stamp,
            summary=session.title,
            description=_calendar_text(session),
            start=localise(session.starts_at, event.timezone),
            end=localise(session.ends_at, event.timezone),
            location=_location(session),
            categories=[session.kind],
            status="CANCELLED" if session.status == "cancelled" else "CONFIRMED",
        )
        if session.id in alarms:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", session.title)
            alarm.add("trigger", -alarms[session.id])
            entry.add_component(alarm)
        calendar.add_component(entry)
    # The zone's rules for the whole years the event touches, and no more.
    days = [event.starts_on, event.ends_on] + [
        localise(s.starts_at, event.timezone).date() for s in sessions
    ]
    calendar.add_component(vtimezone(
        event.timezone, date(min(days).year, 1, 1), date(max(days).year + 1, 1, 1)
    ))
    return calendar.to_ical()


def vtimezone(tzid: str, first: date, last: date) -> Timezone:
    """The zone's VTIMEZONE from ``first`` to ``last``, each onset where RFC 5545 puts it.

    RFC 5545 (3.6.5) counts an onset in the wall clock before the change (TZOFFSETFROM):
    Vienna's 2020 summer time begins at 02:00. icalendar 7.3 writes the first wall-clock
    time after a spring-forward (03:00), an hour late for readers that trust the
    VTIMEZONE rather than the TZID; moved back by the gap here.
    """
    zone = Timezone.from_tzid(tzid, first_date=first, last_date=last)
    for part in zone.subcomponents:
        gap = part.TZOFFSETTO - part.TZOFFSETFROM
        if gap <= timedelta(0):
            continue
        part.DTSTART = part.DTSTART - gap
        rdates = part.get("RDATE")
        if rdates is not None:
            lists = rdates if isinstance(rdates, list) else [rdates]
            del part["RDATE"]
            part.add("RDATE", [value.dt - gap for rdate in lists for value in rdate.dts])
    return zone


# --- c3voc JSON (and the frab XML rendered from it) ------------------------------

@dataclass(frozen=True)
class _Room:
    name: str
    guid: str


def _room(event: Event, session_room) -> _Room:
    """A room of the schedule; sessions without one are at the venue."""
    if session_room is None:
        name, ident = event.venue or event.name, "venue"
    else:
        name, ident = session_room.name, session_room.key or str(session_room.id)
    guid = uuid.uuid5(uuid.NAMESPACE_URL, f"room-{ident}@{event.slug}.companion")
    return _Room(name, str(guid))


def _day_span(event: Event, day: date, sessions: list[Session]) -> tuple[datetime, datetime]:
    """From the first start to the last end of the day; a day without sessions is whole."""
    if sessions:
        start, end = min(s.starts_at for s in sessions), max(s.ends_at for s in sessions)
    else:
        start, end = day_bounds(event, day)
    return localise(start, event.timezone), localise(end, event.timezone)


def _talk(session: Session, base_url: str) -> dict:
    tz = session.event.timezone
    starts, ends = localise(session.starts_at, tz), localise(session.ends_at, tz)
    minutes = int((session.ends_at - session.starts_at).total_seconds() // 60)
    return {
        "guid": session_guid(session),
        "id": session.id,
        "date": starts.isoformat(),
        "start": starts.strftime("%H:%M"),
        "end": ends.isoformat(),
        "duration": _hhmm(minutes),
        "room": _room(session.event, session.room).name,
        "slug": f"{acronym(session.event)}-{slugify(session.key or f'session-{session.id}')}",
        "url": f"{base_url}/api/v1/events/{session.event.slug}/sessions/{session.id}",
        "title": session.title,
        "subtitle": None,
        "track": None,
        "type": session.kind,
        "language": session.language,
        "abstract": session.description,
        "description": _topics(session),
        "persons": _people(session),
        "links": [],
    }


def schedule_document(event: Event, sessions: list[Session], base_url: str) -> dict:
    """The c3voc ``schedule.json`` structure. Days change at local midnight."""
    tz = event.timezone
    shown = [s for s in sessions if s.status != "cancelled"]
    by_day: dict[date, list[Session]] = {}
    for session in shown:
        by_day.setdefault(event_day(event, session.starts_at), []).append(session)
    span = (event.ends_on - event.starts_on).days + 1
    days = sorted(set(by_day) | {event.starts_on + timedelta(days=n) for n in range(span)})

    wall = [localise(t, tz) for s in shown for t in (s.starts_at, s.ends_at)]
    rooms = [_room(event, room) for room in event.rooms]
    rooms += [_room(event, s.room) for s in shown]

    day_docs = []
    for index, day in enumerate(days, start=1):
        talks = by_day.get(day, [])
        start, end = _day_span(event, day, talks)
        per_room: dict[str, list] = {}
        for session in talks:
            talk = _talk(session, base_url)
            per_room.setdefault(talk["room"], []).append(talk)
        day_docs.append({
            "index": index, "date": day.isoformat(),
            "day_start": start.isoformat(), "day_end": end.isoformat(),
            "rooms": per_room,
        })

    conference = {
        "acronym": acronym(event),
        "title": event.name,
        "start": event.starts_on.isoformat(),
        "end": event.ends_on.isoformat(),
        "daysCount": len(days),
        # The grid every start and end falls on, a divisor of an hour.
        "timeslot_duration": _hhmm(math.gcd(60, *(t.hour * 60 + t.minute for t in wall))),
        "time_zone_name": tz,
        "rooms": [{"name": r.name, "guid": r.guid} for r in dict.fromkeys(rooms)],
        "days": day_docs,
    }
    if event.url:
        conference["url"] = event.url
    return {
        "$schema": C3VOC_SCHEMA,
        "generator": {"name": GENERATOR},
        "schedule": {"version": schedule_version(event, sessions), "conference": conference},
    }


def to_json(event: Event, sessions: list[Session], base_url: str) -> str:
    return json.dumps(schedule_document(event, sessions, base_url), ensure_ascii=False, indent=1)


def _element(parent, tag: str, text, **attributes):
    element = etree.SubElement(parent, tag, **attributes)
    element.text = None if text is None else str(text)
    return element


def to_xml(event: Event, sessions: list[Session], base_url: str) -> bytes:
    """frab's ``schedule.xml``: the same schedule as the JSON, in the older shape."""
    document = schedule_document(event, sessions, base_url)["schedule"]
    conference = document["conference"]
    room_guids = {room["name"]: room["guid"] for room in conference["rooms"]}

    root = etree.Element("schedule")
    etree.SubElement(root, "generator", name=GENERATOR)
    _element(root, "url", f"{base_url}/api/v1/events/{event.slug}/schedule.xml")
    _element(root, "version", document["version"])
    head = etree.SubElement(root, "conference")
    for tag in ("acronym", "title", "start", "end"):
        _element(head, tag, conference[tag])
    _element(head, "days", conference["daysCount"])
    for tag in ("timeslot_duration", "url", "time_zone_name"):
        if tag in conference:
            _element(head, tag, conference[tag])

    for day in conference["days"]:
        day_element = etree.SubElement(
            root, "day", index=str(day["index"]), date=day["date"],
            start=day["day_start"], end=day["day_end"],
        )
        for room_name, talks in day["rooms"].items():
            room = etree.SubElement(day_element, "room", name=room_name,
                                    guid=room_guids[room_name])
            for talk in talks:
                element = etree.SubElement(room, "event", guid=talk["guid"], id=str(talk["id"]))
                for tag in ("room", "title", "subtitle", "type", "date", "start", "duration",
                            "abstract", "slug", "track", "language", "description", "url"):
                    if talk[tag] is not None or tag in FRAB_REQUIRED:
                        _element(element, tag, talk[tag] or "")
                persons = etree.SubElement(element, "persons")
                for person in talk["persons"]:
                    _element(persons, "person", person["name"],
                             **({"id": str(person["id"])} if "id" in person else {}))
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
