"""What frab's schedule XML and c3voc's ``schedule.json`` share: a conference of days,
each of rooms, each of events with the same fields. ``frab`` and ``c3voc`` read their
own syntax into these plain records; `programme` maps them to a Programme, once."""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..programme import Programme, ProgrammeRoom, ProgrammeSession, SourceError
from . import checks
from .checks import Strays


@dataclass
class Item:
    """One part of the file: its fields as the file gives them (text or None), and where
    it and each field are (XML: the element's line; JSON: the path)."""

    where: str
    fields: dict = field(default_factory=dict)
    places: dict = field(default_factory=dict)

    def get(self, name: str):
        """The field, None when absent or blank (pretalx writes empty elements)."""
        value = self.fields.get(name)
        return None if isinstance(value, str) and not value.strip() else value

    def at(self, name: str) -> str:
        if name in self.places:
            return self.places[name]
        return f"{self.where}.{name}" if self.where.startswith("$") else self.where


@dataclass
class Event(Item):
    day: int = 0                                       # index into the days
    room: str | None = None                            # the enclosing room, by name
    room_where: str = ""
    persons: list = field(default_factory=list)        # names as given (None: nameless)


@dataclass
class Day:
    where: str
    date: date | None
    start: datetime | None   # aware
    end: datetime | None


def _date(value: str | None, where: str) -> date | None:
    """A date, or the date of an ISO date and time, as written."""
    if value is None:
        return None
    try:
        found = date.fromisoformat(value.strip())
    except ValueError:
        found = checks.instant(value, where, "UTC").date()
    if found.year not in checks.YEARS:
        raise SourceError(f"{value!r} is not in the years {checks.YEARS[0]} to "
                          f"{checks.YEARS[-1]}", where)
    return found


def _bound(value: str | None, where: str, zone: str | None) -> datetime | None:
    """A day's start or end; one without an offset in a file without a zone is left
    unknown (the bounds only help to place start times that come without a date)."""
    if value is None:
        return None
    if zone is None:
        try:
            if datetime.fromisoformat(value.strip()).tzinfo is None:
                return None
        except ValueError:
            pass
    return checks.instant(value, where, zone)


def _day(item: Item, zone: str | None) -> Day:
    start = _bound(item.get("start"), item.at("start"), zone)
    end = _bound(item.get("end"), item.at("end"), zone)
    day = _date(item.get("date"), item.at("date"))
    if day is None and start is not None:
        day = start.date()
    return Day(item.where, day, start, end)


def _starts(event: Event, day: Day, zone: str | None) -> datetime:
    """``date`` (with its offset, or read in the zone); else the day's date and ``start``,
    on the next date when that is where the day's bounds put it (00:15 of a day that runs
    to 04:00)."""
    if event.get("date") is not None:
        return checks.instant(event.get("date"), event.at("date"), zone)
    if event.get("start") is None:
        raise SourceError("required field 'date' missing", event.at("date"))
    wall = checks.wall_time(event.get("start"), event.at("start"))
    if day.date is None:
        raise SourceError("the day has no date for the event's start", day.where)
    tz = ZoneInfo(zone) if zone else (day.start.tzinfo if day.start else None)
    if tz is None:
        raise SourceError("the event has no date with a UTC offset and the file names no "
                          "time zone (give one)", event.at("start"))
    starts = datetime.combine(day.date, wall, tzinfo=tz)
    after_midnight = starts + timedelta(days=1)
    if day.start and starts < day.start and (day.end is None or after_midnight <= day.end):
        return after_midnight
    return starts


def _guid(event: Event, acronym: str | None, strays: Strays) -> str:
    """The event's guid, else one made from its id (and the conference's acronym)."""
    if event.get("guid"):
        return checks.guid(event.get("guid").strip(), event.at("guid"), strays)
    if event.get("id"):
        strays.note("sessions without a guid, given one made from their id", event.where)
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{event.get('id')}@{acronym or ''}"))
    raise SourceError("the event has neither a guid nor an id", event.where)


def _speakers(event: Event, strays: Strays) -> list[str]:
    """The names of the event's persons, the nameless left out, at most MAX_SPEAKERS."""
    speakers = []
    for name in event.persons:
        name = checks.text(name, event.at("persons"), checks.MAX_SPEAKER, strays)
        if name is None:
            strays.note("persons without a name, left out", event.at("persons"))
        elif len(speakers) == checks.MAX_SPEAKERS:
            strays.note(f"sessions with more than {checks.MAX_SPEAKERS} persons, the first "
                        f"{checks.MAX_SPEAKERS} kept", event.at("persons"))
            break
        else:
            speakers.append(name)
    return speakers


def _session(event: Event, day: Day, zone: str | None, acronym: str | None,
             strays: Strays) -> tuple[ProgrammeSession, datetime]:
    """The session, and its start as the file's wall clock shows it."""
    title = checks.text(event.get("title"), event.at("title"), checks.MAX_TITLE, strays)
    if title is None:
        raise SourceError("required field 'title' missing", event.at("title"))

    guid = _guid(event, acronym, strays)
    starts = _starts(event, day, zone)
    if event.get("end") is not None:
        ends = checks.instant(event.get("end"), event.at("end"), zone)
    elif event.get("duration") is not None:
        ends = starts + checks.duration(event.get("duration"), event.at("duration"), strays)
    else:
        raise SourceError("required field 'duration' missing", event.at("duration"))
    if ends < starts:
        raise SourceError(f"ends ({ends.isoformat()}) before it starts ({starts.isoformat()})",
                          event.where)
    if zone and starts.utcoffset() != starts.astimezone(ZoneInfo(zone)).utcoffset():
        strays.note(f"dates whose UTC offset is not {zone}'s", event.at("date"),
                    event.get("date"))

    room = checks.text(event.room, event.room_where, checks.MAX_ROOM, strays)
    if room is None:
        raise SourceError("a room without a name", event.room_where)
    parts = [checks.text(event.get(name), event.at(name), checks.MAX_DESCRIPTION, strays,
                         multiline=True) for name in ("abstract", "description")]
    description = "\n\n".join(part for part in parts if part) or None
    if description and len(description) > checks.MAX_DESCRIPTION:
        raise SourceError(f"abstract and description longer than {checks.MAX_DESCRIPTION} "
                          "characters together", event.where)
    track = checks.text(event.get("track"), event.at("track"), checks.MAX_TOPIC, strays)
    speakers = _speakers(event, strays)
    language = checks.text(event.get("language"), event.at("language"), 100, strays)
    session = ProgrammeSession(
        guid=guid, title=title,
        kind=checks.kind(event.get("type"), event.at("type"), strays),
        starts_at=starts, ends_at=ends,  # their own offsets: the import may need them
        room=room, description=description, topics=[track] if track else [],
        language=checks.language(language, event.at("language"), strays),
        speakers=speakers, where=event.where,
    )
    return session, (starts.astimezone(ZoneInfo(zone)) if zone else starts).replace(tzinfo=None)


def _hour_up(wall: time) -> time:
    """03:59 (pretalx's day end) as 04:00."""
    if (wall.minute or wall.second) and wall.hour < 23:
        return time(wall.hour + 1)
    return wall


def day_change(days: list[Day], placed: list[tuple[Day, datetime]], zone: str | None,
               strays: Strays) -> time:
    """When one day ends and the next begins, from where the file puts its sessions: a
    session on the date after its day's needs a later day change, one on its day's own
    date an earlier one. Of the times that fit, the earliest the days' bounds suggest
    (frab's day end at 04:00, pretalx's day start at 04:00), else the next full hour."""
    def local(moment: datetime) -> datetime:
        return moment.astimezone(ZoneInfo(zone)) if zone else moment

    after = []
    for day, start in placed:
        if start.date() == day.date + timedelta(days=1):
            after.append(start.time())
        elif start.date() != day.date:
            strays.note("sessions neither on their day's date nor the next", day.where)
    if not after:
        return time(0)
    latest_after = max(after)
    earliest_same = min((start.time() for day, start in placed if start.date() == day.date),
                        default=time(23, 59, 59))
    suggested = {_hour_up(local(day.end).time()) for day in days
                 if day.end and day.date and local(day.end).date() > day.date}
    suggested |= {local(day.start).time() for day in days if day.start}
    for candidate in sorted(suggested) + [time(min(latest_after.hour + 1, 23))]:
        if latest_after < candidate <= earliest_same:
            return candidate
    strays.note("sessions after midnight that no day change fits (days change at midnight)",
                None)
    return time(0)


def _names(conference: Item, warnings: list[str], strays: Strays) -> tuple[str | None, str]:
    """The conference's acronym and title (its acronym when it has none)."""
    acronym = checks.text(conference.get("acronym"), conference.at("acronym"), checks.MAX_KEY,
                          strays)
    title = checks.text(conference.get("title"), conference.at("title"), checks.MAX_TITLE,
                        strays)
    if title is None:
        if acronym is None:
            raise SourceError("the conference has neither a title nor an acronym",
                              conference.at("title"))
        warnings.append(f"the conference has no title; its acronym {acronym!r} is used")
        title = acronym
    return acronym, title


def _day_change(conference: Item, days: list[Day], dated: list[tuple[Day, datetime]],
                zone: str | None, strays: Strays) -> time:
    """The file's own day change (noting sessions it puts on another day than theirs),
    else the one where the file puts its sessions suggests."""
    if conference.get("day_change") is None:
        return day_change(days, dated, zone, strays)
    change = checks.wall_time(conference.get("day_change"), conference.at("day_change"))
    for day, start in dated:
        on = start.date() - timedelta(days=1 if start.time() < change else 0)
        if on != day.date:
            strays.note("sessions the day change puts on another day than their <day>",
                        day.where)
    return change


def programme(format: str, conference: Item, room_names: list[tuple[str, str]],
              day_items: list[Item], events: list[Event], timezone_name: str | None,
              strays: Strays) -> Programme:
    """The Programme of a frab or c3voc file, read into plain records."""
    file_zone = conference.get("time_zone_name")
    if file_zone is not None:
        file_zone = checks.time_zone(file_zone.strip(), conference.at("time_zone_name"))
    # Times without an offset are the file's wall clock: in its own zone, else the given.
    zone = file_zone or (checks.time_zone(timezone_name, None) if timezone_name else None)
    warnings = []
    acronym, title = _names(conference, warnings, strays)
    url = checks.text(conference.get("url"), conference.at("url"), checks.MAX_URL, strays)

    days = [_day(item, zone) for item in day_items]
    sessions, placed = [], []
    for event in events:
        session, local = _session(event, days[event.day], zone, acronym, strays)
        sessions.append(session)
        placed.append((days[event.day], local))
    dated = [(day, local) for day, local in placed if day.date is not None]

    change = _day_change(conference, days, dated, zone, strays)

    rooms = {}
    for name, where in room_names:
        name = checks.text(name, where, checks.MAX_ROOM, strays)
        if name is not None:
            rooms.setdefault(name, ProgrammeRoom(name))
    for session in sessions:
        rooms.setdefault(session.room, ProgrammeRoom(session.room))

    on_days = [day.date for day in days if day.date] or [
        (start - timedelta(days=1 if start.time() < change else 0)).date()
        for _, start in placed]
    starts_on = _date(conference.get("start"), conference.at("start")) or min(on_days, default=None)
    ends_on = _date(conference.get("end"), conference.at("end")) or max(on_days, default=None)
    if starts_on is None or ends_on is None:
        raise SourceError("the conference has no start and no days", conference.where)
    return Programme(
        format=format, title=title, starts_on=starts_on, ends_on=ends_on, timezone=file_zone,
        day_change=change, slug=acronym, url=url, rooms=list(rooms.values()),
        sessions=sessions, warnings=warnings,
    )
