"""What every source is checked for at the edge, whatever its format: sizes the
database allows, clean text, time zones that exist, one identity per session, and the
warnings a file earns without being refused (one summary line for each kind of stray)."""

import json
import re
import uuid
from collections import Counter
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..models import SESSION_KINDS
from ..programme import Programme, SourceError

MAX_BYTES = 20 * 1024 * 1024
MAX_SESSIONS = 20_000
# The longest text each field may hold: the columns of companion/schedule/models.py
# (a speaker's name as Attendee.name). Topics are JSON: as long as a title (the bundled
# conference has one of 104 characters, past the 100 an organiser's edit may write).
MAX_TITLE = 300
MAX_ROOM = 200
MAX_DESCRIPTION = 20_000
MAX_TOPIC = 300
MAX_SPEAKER = 200
MAX_SPEAKERS = 50  # of a session, as an organiser's edit may name
MAX_KEY = 64       # a slug, a room's or a session's key, a time zone's name
MAX_GUID = 64      # a UUID is 36; older frab's base64 guids 22
MAX_URL = 500
MAX_LANGUAGE = 35  # the longest BCP 47 tag worth keeping
YEARS = range(1900, 2201)  # a schedule's dates; outside them arithmetic would overflow

# The session kind of a source's type (our own JSON names the kinds themselves).
KIND_OF_TYPE = {
    "talk": "talk", "lecture": "talk",
    "workshop": "workshop",
    "keynote": "keynote",
    "panel": "panel", "podium": "panel", "discussion": "panel",
    "break": "break", "pause": "break",
    "lunch": "lunch",
    "opening": "opening", "welcome": "opening",
    "closing": "closing",
    "networking": "networking", "social": "networking", "reception": "networking",
    "registration": "registration",
    "side event": "side_event",
    "other": "other",
}
KINDS = frozenset(SESSION_KINDS)

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
LINE_BREAKS = re.compile(r"[\t\n\r]+")
WALL_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


class Strays:
    """What strays from the strictest schema but does not stop the import, counted by
    kind, so that a file with 800 odd guids gives one warning, not 800."""

    def __init__(self):
        self._seen: dict[str, list] = {}
        self._missing: Counter = Counter()
        self._first_missing: str | None = None

    def note(self, what: str, where: str | None, example: str | None = None) -> None:
        seen = self._seen.setdefault(what, [0, where, example])
        seen[0] += 1

    def missing(self, fields: list[str], where: str) -> None:
        """Fields the schema requires (of the schedule, a day, an event) that the import
        can do without: one warning for all, with a count of each."""
        if fields and self._first_missing is None:
            self._first_missing = where
        self._missing.update(fields)

    def warnings(self) -> list[str]:
        found = []
        if self._missing:
            counts = ", ".join(f"{name} ({count})"
                               for name, count in sorted(self._missing.items()))
            found.append(f"fields the schema requires are missing: {counts}; "
                         f"first at {self._first_missing}")
        for what, (count, where, example) in self._seen.items():
            first = f"{example!r} at {where}" if example is not None else where
            found.append(f"{what}: {count}; first {first}" if first else f"{what}: {count}")
        return found


def text(value, where: str, limit: int, strays: Strays, multiline: bool = False) -> str | None:
    """A text field, stripped; control characters removed (line breaks and tabs kept in a
    ``multiline`` text, made spaces elsewhere); empty is None; too long is refused."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise SourceError(f"must be text, not {JSON_TYPES.get(type(value))}", where)
    cleaned = CONTROL.sub("", value)
    if cleaned != value:
        strays.note("control characters removed from texts", where)
    if multiline:
        cleaned = cleaned.replace("\r\n", "\n").replace("\r", "\n")
    else:
        cleaned = LINE_BREAKS.sub(" ", cleaned)
    cleaned = cleaned.strip()
    if len(cleaned) > limit:
        raise SourceError(f"longer than {limit} characters ({len(cleaned)})", where)
    return cleaned or None


def time_zone(name: str, where: str | None) -> str:
    """A zone name the tz database knows, else a refusal."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise SourceError(f"unknown time zone {name!r}", where) from None
    if len(name) > MAX_KEY:
        raise SourceError(f"longer than {MAX_KEY} characters", where)
    return name


def wall_time(value: str, where: str) -> time:
    """``"HH:MM"`` or ``"HH:MM:SS"`` (frab's start and day_change)."""
    found = WALL_TIME.fullmatch(value.strip())
    if not found or int(found[1]) > 23 or int(found[2]) > 59 or int(found[3] or 0) > 59:
        raise SourceError(f"{value!r} is not a time of day (HH:MM)", where)
    return time(int(found[1]), int(found[2]), int(found[3] or 0))


def instant(value: str, where: str, zone: str | None) -> datetime:
    """An ISO date and time; one without an offset is read in ``zone``, and refused when
    there is none."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        parsed = None
    if parsed is None or len(value.strip()) <= 10:
        raise SourceError(f"{value!r} is not an ISO date and time", where)
    if parsed.year not in YEARS:
        raise SourceError(f"{value!r} is not in the years {YEARS[0]} to {YEARS[-1]}", where)
    if parsed.tzinfo is None:
        if zone is None:
            raise SourceError(f"{value!r} has no UTC offset and the file names no time zone "
                              "(give one)", where)
        parsed = parsed.replace(tzinfo=ZoneInfo(zone))
    return parsed


def duration(value: str, where: str, strays: Strays) -> timedelta:
    """frab's ``"HH:MM"``; three parts are ``"HH:MM:SS"`` when the first is zero-padded
    (as frab writes it) and pretalx's ``"D:HH:MM"`` otherwise (pretalx writes the days of a
    session of a day or more unpadded)."""
    parts = value.strip().split(":")
    if not 2 <= len(parts) <= 3 or not all(part.isdigit() for part in parts):
        raise SourceError(f"{value!r} is not a duration (HH:MM)", where)
    numbers = [int(part) for part in parts]
    if len(parts) == 2:
        hours, minutes, seconds = numbers[0], numbers[1], 0
    elif len(parts[0]) == 1 and parts[0] != "0":
        hours, minutes, seconds = numbers[0] * 24 + numbers[1], numbers[2], 0
        strays.note("durations read as pretalx's days:hours:minutes", where, value)
    else:
        hours, minutes, seconds = numbers
    if minutes > 59 or seconds > 59:
        raise SourceError(f"{value!r} is not a duration (HH:MM)", where)
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


def kind(source_type: str | None, where: str, strays: Strays) -> str:
    """A source's free-text type as a session kind, case aside; a type of several words
    ("Lightning talk", "Panel discussion") by its first known word; else ``other``."""
    name = re.sub(r"[\s_-]+", " ", (source_type or "").lower()).strip()
    if name in KIND_OF_TYPE:
        return KIND_OF_TYPE[name]
    for word in name.split():
        if word in KIND_OF_TYPE:
            return KIND_OF_TYPE[word]
    if name:
        strays.note("types not known, imported as kind 'other'", where, source_type)
    else:
        strays.note("sessions without a type, imported as kind 'other'", where)
    return "other"


def language(value: str | None, where: str, strays: Strays) -> str | None:
    """A language as given; one that looks like a tag ("DE", "de-AT") as its two letters."""
    if value is None:
        return None
    if re.fullmatch(r"[A-Za-z]{2}([-_][A-Za-z0-9]{1,8})*", value):
        return value[:2].lower()
    if len(value) > MAX_LANGUAGE:
        strays.note("languages too long to keep, left out", where, value[:40])
        return None
    return value


def guid(value: str, where: str, strays: Strays) -> str:
    """A session's identity: a UUID in its canonical form, or kept as given (older frab)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        if len(value) > MAX_GUID:
            raise SourceError(f"guid longer than {MAX_GUID} characters", where) from None
        strays.note("session guids that are not UUIDs, kept as they are", where, value)
        return value


def finish(programme: Programme, strays: Strays) -> Programme:
    """What holds for a whole programme: at least one session, each guid once, rooms in
    order of first appearance."""
    if not programme.sessions:
        raise SourceError("the file has no sessions")
    if len(programme.sessions) > MAX_SESSIONS:
        raise SourceError(f"more than {MAX_SESSIONS} sessions")
    first_at: dict[str, str | None] = {}
    for session in programme.sessions:
        if session.guid in first_at:
            raise SourceError(f"guid {session.guid!r} again (first at {first_at[session.guid]})",
                              session.where)
        first_at[session.guid] = session.where
    if programme.ends_on < programme.starts_on:
        raise SourceError(f"the event ends ({programme.ends_on}) before it starts "
                          f"({programme.starts_on})")
    programme.warnings = strays.warnings() + programme.warnings
    return programme


# --- JSON ----------------------------------------------------------------------------

JSON_TYPES = {dict: "an object", list: "an array", str: "text", bool: "true or false",
              int: "a number", float: "a number", type(None): "null"}


def member(path: str, name, quoted: bool = False) -> str:
    """The JSON path of a member: ``$.schedule.conference``, ``days[1]``, and with
    ``quoted`` (or when it needs it) ``rooms["Saal 1"]``."""
    if isinstance(name, int):
        return f"{path}[{name}]"
    if not quoted and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        return f"{path}.{name}"
    return f"{path}[{json.dumps(name, ensure_ascii=False)}]"


def of_type(value, wanted: type, where: str):
    """``value`` when it is of the JSON type wanted, else a refusal naming both."""
    if not isinstance(value, wanted) or (wanted is int and isinstance(value, bool)):
        raise SourceError(f"must be {JSON_TYPES[wanted]}, not {JSON_TYPES.get(type(value))}",
                          where)
    return value


def required(document: dict, name: str, path: str):
    if document.get(name) is None:
        raise SourceError("required field missing", member(path, name))
    return document[name]
