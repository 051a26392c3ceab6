"""Our own conference JSON (``companion/schedule/data/alliance-2020.json``): the event,
its rooms by key, and sessions at local times on their dates in the event's time zone."""

import uuid
from datetime import date

from marshmallow import ValidationError

from ...timeutil import local_to_utc
from ..programme import Programme, ProgrammeRoom, ProgrammeSession, SourceError
from ..schemas import RoomEditSchema
from . import checks
from .checks import Strays, member, of_type, required

# The event's other fields, and the longest text each may be (the columns of
# companion/schedule/models.py); None: a list of texts. A room's are those an
# organiser's edit may write (RoomEditSchema), checked by that schema.
EVENT_DETAILS = {"subtitle": 300, "tagline": 300, "organiser": 300, "description": 20_000,
                 "venue": 300, "twitter": 100, "languages": None, "hashtags": None,
                 "reminder_kinds": None}
SESSION_FIELDS = {"key", "kind", "date", "starts", "ends", "title", "description", "topics",
                  "room", "speakers", "language", "online_url"}
MULTILINE = {"description", "accessibility", "directions"}  # line breaks kept


def session_guid(key: str, slug: str) -> str:
    """The guid our exports have always given a session with a key (``Session.uid``)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{key}@{slug}.companion"))


def _text(document: dict, name: str, path: str, limit: int, strays: Strays,
          needed: bool = False) -> str | None:
    value = checks.text(document.get(name), member(path, name), limit, strays,
                        multiline=name in MULTILINE)
    if needed and value is None:
        raise SourceError("required field missing", member(path, name))
    return value


def _unknown(document: dict, known, path: str, strays: Strays) -> None:
    for name in document:
        if name not in known:
            strays.note("fields we do not know, left out", member(path, name), name)


def _event_details(event: dict, path: str, strays: Strays) -> dict:
    """The event's fields beyond those the Programme names."""
    details = {}
    for name, limit in EVENT_DETAILS.items():
        if name not in event:
            continue
        if limit is not None:
            details[name] = _text(event, name, path, limit, strays)
            continue
        values = of_type(event[name] or [], list, member(path, name))
        details[name] = [of_type(value, str, member(member(path, name), index))
                         for index, value in enumerate(values)]
    for index, value in enumerate(details.get("reminder_kinds") or []):
        if value not in checks.KINDS:
            raise SourceError(f"unknown kind {value!r}",
                              member(member(path, "reminder_kinds"), index))
    return details


def _room(room: dict, where: str, strays: Strays) -> ProgrammeRoom:
    """A room, checked as an organiser's edit of it would be."""
    key = _text(room, "key", where, checks.MAX_KEY, strays, needed=True)
    fields = RoomEditSchema().fields
    _unknown(room, {"key", *fields}, where, strays)
    values = {name: _text(room, name, where, checks.MAX_DESCRIPTION, strays)
              if isinstance(value, str) else value
              for name, value in room.items() if name in fields}
    try:
        details = RoomEditSchema().load(values)
    except ValidationError as error:
        messages = error.messages
        while isinstance(messages, dict):     # the first field named, down to its place
            name, messages = next(iter(messages.items()))
            where = member(where, name)
        raise SourceError(messages[0] if isinstance(messages, list) else str(messages),
                          where) from None
    return ProgrammeRoom(name=details.pop("name"), key=key, details=details)


def _date(document: dict, name: str, path: str) -> date:
    value = of_type(required(document, name, path), str, member(path, name))
    try:
        found = date.fromisoformat(value)
    except ValueError:
        raise SourceError(f"{value!r} is not an ISO date", member(path, name)) from None
    if found.year not in checks.YEARS:
        raise SourceError(f"{value!r} is not in the years {checks.YEARS[0]} to "
                          f"{checks.YEARS[-1]}", member(path, name))
    return found


def read(document: dict, strays: Strays) -> Programme:
    """The file names its own time zone: no other is needed."""
    path = "$.event"
    event = of_type(document["event"], dict, path)
    slug = _text(event, "slug", path, checks.MAX_KEY, strays, needed=True)
    zone = checks.time_zone(of_type(required(event, "timezone", path), str,
                                    member(path, "timezone")), member(path, "timezone"))
    programme = Programme(
        format="companion", slug=slug, timezone=zone,
        title=_text(event, "name", path, checks.MAX_TITLE, strays, needed=True),
        starts_on=_date(event, "starts_on", path), ends_on=_date(event, "ends_on", path),
        url=_text(event, "url", path, checks.MAX_URL, strays),
        details=_event_details(event, path, strays),
    )
    _unknown(event, {"slug", "name", "starts_on", "ends_on", "timezone", "url",
                     *EVENT_DETAILS}, path, strays)

    names = {}
    for index, room in enumerate(of_type(document["rooms"], list, "$.rooms")):
        where = member("$.rooms", index)
        room = _room(of_type(room, dict, where), where, strays)
        if room.key in names or room.name in names.values():
            raise SourceError(f"a second room with the key {room.key!r} or the name "
                              f"{room.name!r}", where)
        names[room.key] = room.name
        programme.rooms.append(room)

    sessions = of_type(document["sessions"], list, "$.sessions")
    if len(sessions) > checks.MAX_SESSIONS:
        raise SourceError(f"more than {checks.MAX_SESSIONS} sessions", "$.sessions")
    for index, values in enumerate(sessions):
        programme.sessions.append(_session(values, member("$.sessions", index), slug, zone,
                                           names, strays))
    return programme


def _session(values, where: str, slug: str, zone: str, rooms: dict,
             strays: Strays) -> ProgrammeSession:
    values = of_type(values, dict, where)
    _unknown(values, SESSION_FIELDS, where, strays)
    key = _text(values, "key", where, checks.MAX_KEY, strays, needed=True)
    kind = _text(values, "kind", where, checks.MAX_KEY, strays, needed=True)
    if kind not in checks.KINDS:
        raise SourceError(f"unknown kind {kind!r}", member(where, "kind"))
    day = _date(values, "date", where)
    starts, ends = (
        local_to_utc(day, checks.wall_time(
            of_type(required(values, edge, where), str, member(where, edge)),
            member(where, edge)), zone)
        for edge in ("starts", "ends"))
    if ends < starts:
        raise SourceError("ends before it starts", member(where, "ends"))
    room = _text(values, "room", where, checks.MAX_KEY, strays)
    if room is not None and room not in rooms:
        raise SourceError(f"no room with key {room!r}", member(where, "room"))
    topics = of_type(values.get("topics") or [], list, member(where, "topics"))
    speakers = of_type(values.get("speakers") or [], list, member(where, "speakers"))
    if len(speakers) > checks.MAX_SPEAKERS:
        raise SourceError(f"more than {checks.MAX_SPEAKERS} speakers", member(where, "speakers"))
    return ProgrammeSession(
        guid=session_guid(key, slug), key=key, kind=kind,
        title=_text(values, "title", where, checks.MAX_TITLE, strays, needed=True),
        starts_at=starts, ends_at=ends, room=rooms.get(room),
        description=_text(values, "description", where, checks.MAX_DESCRIPTION, strays),
        topics=_texts(topics, member(where, "topics"), checks.MAX_TOPIC, strays),
        speakers=_texts(speakers, member(where, "speakers"), checks.MAX_SPEAKER, strays),
        language=checks.language(_text(values, "language", where, checks.MAX_LANGUAGE, strays),
                                 member(where, "language"), strays),
        online_url=_text(values, "online_url", where, checks.MAX_URL, strays),
        where=where,
    )


def _texts(values: list, where: str, limit: int, strays: Strays) -> list[str]:
    texts = (checks.text(value, member(where, n), limit, strays) for n, value in enumerate(values))
    return [text for text in texts if text is not None]
