"""c3voc's ``schedule.json`` (what pretalx and frab serve as JSON): read into the plain
records of ``voc``, every place named by its JSON path."""

from ..programme import Programme, SourceError
from . import checks, voc
from .checks import Strays, member, of_type, required

CONFERENCE_FIELDS = ("title", "acronym", "start", "end", "time_zone_name", "day_change", "url")
EVENT_FIELDS = ("guid", "id", "title", "type", "date", "start", "end", "duration",
                "abstract", "description", "track", "language")
# What the schema requires; one missing is a warning unless the import needs it.
CONFERENCE_REQUIRED = ("title", "acronym", "days", "daysCount", "start", "end",
                       "timeslot_duration")
DAY_REQUIRED = ("date", "day_start", "day_end", "index", "rooms")
EVENT_REQUIRED = ("guid", "id", "title", "type", "date", "start", "duration", "room", "slug",
                  "url", "subtitle", "track", "language", "abstract", "persons", "links")


def _item(document: dict, names, path: str, renamed: dict | None = None) -> voc.Item:
    """The named text fields of ``document`` (``renamed``: our name -> the file's)."""
    item = voc.Item(path)
    for name in names:
        key = (renamed or {}).get(name, name)
        value = document.get(key)
        if value is None:
            continue
        if name == "id" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        item.fields[name] = of_type(value, str, member(path, key))
        item.places[name] = member(path, key)
    return item


def _missing(document: dict, names, prefix: str) -> list[str]:
    return [f"{prefix}.{name}" for name in names if name not in document]


def read(document: dict, timezone: str | None, strays: Strays) -> Programme:
    schedule = document["schedule"]
    strays.missing(_missing(schedule, ("version",), "schedule"), "$.schedule")
    path = "$.schedule.conference"
    conference = of_type(required(schedule, "conference", "$.schedule"), dict, path)
    strays.missing(_missing(conference, CONFERENCE_REQUIRED, "conference"), path)

    room_names = []
    for index, room in enumerate(of_type(conference.get("rooms") or [], list,
                                         member(path, "rooms"))):
        where = member(member(path, "rooms"), index)
        name = of_type(room, dict, where).get("name")
        if name is None:
            strays.note("rooms of the conference without a name, left out", where)
        else:
            room_names.append((name, member(where, "name")))

    days, events = [], []
    day_list = of_type(required(conference, "days", path), list, member(path, "days"))
    for index, day in enumerate(day_list):
        where = member(member(path, "days"), index)
        day = of_type(day, dict, where)
        strays.missing(_missing(day, DAY_REQUIRED, "day"), where)
        days.append(_item(day, ("date", "start", "end"), where,
                          {"start": "day_start", "end": "day_end"}))
        rooms = of_type(required(day, "rooms", where), dict, member(where, "rooms"))
        for name, talks in rooms.items():
            room_where = member(member(where, "rooms"), name, quoted=True)
            for position, talk in enumerate(of_type(talks, list, room_where)):
                events.append(_event(talk, member(room_where, position), index, name,
                                     room_where, strays))
                if len(events) > checks.MAX_SESSIONS:
                    raise SourceError(f"more than {checks.MAX_SESSIONS} sessions",
                                      member(room_where, position))
    return voc.programme("c3voc", _item(conference, CONFERENCE_FIELDS, path), room_names,
                         days, events, timezone, strays)


def _event(talk, where: str, day: int, room: str, room_where: str,
           strays: Strays) -> voc.Event:
    item = _item(of_type(talk, dict, where), EVENT_FIELDS, where)
    strays.missing(_missing(talk, EVENT_REQUIRED, "event"), where)
    event = voc.Event(where, item.fields, item.places, day=day, room=room,
                      room_where=room_where)
    persons_where = member(where, "persons")
    for index, person in enumerate(of_type(talk.get("persons") or [], list, persons_where)):
        if isinstance(person, dict):   # pretalx's name, frab's public_name
            person = person.get("name") or person.get("public_name") \
                or person.get("full_public_name")
        event.persons.append(of_type(person, str, member(persons_where, index))
                             if person is not None else None)
    return event
