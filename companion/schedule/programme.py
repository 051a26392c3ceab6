"""A programme as any source gives it: the one plain structure every importer produces.

frab schedule XML, c3voc ``schedule.json`` (what pretalx serves) and our own conference
JSON are parsed into a `Programme` at the edge (``companion.schedule.sources``), checked
there, and handed to the one import operation (``companion.schedule.importing``), which
turns it into a draft or a release like any organiser's edit.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time


class SourceError(ValueError):
    """A file the import cannot use; ``where`` names the line (XML) or the JSON path."""

    def __init__(self, message: str, where: str | None = None):
        super().__init__(f"{where}: {message}" if where else message)
        self.message = message
        self.where = where


@dataclass
class ProgrammeRoom:
    """A room by name (rooms match by name across versions); ``details`` holds what our
    own JSON says of it (building, floor, facilities...), empty for frab and c3voc."""

    name: str
    key: str | None = None
    details: dict = field(default_factory=dict)


@dataclass
class ProgrammeSession:
    guid: str                      # the source's identity across versions
    title: str
    kind: str                      # one of companion.schedule.models.SESSION_KINDS
    starts_at: datetime            # aware
    ends_at: datetime              # aware
    room: str | None = None        # a ProgrammeRoom's name
    key: str | None = None         # our own JSON's key (None for frab and c3voc)
    description: str | None = None
    topics: list[str] = field(default_factory=list)
    language: str | None = None
    speakers: list[str] = field(default_factory=list)   # names, as the source gives them
    online_url: str | None = None
    where: str | None = None       # line or JSON path, for messages


@dataclass
class Programme:
    format: str                    # "frab", "c3voc" or "companion"
    title: str
    starts_on: date
    ends_on: date
    timezone: str | None = None    # the file's own zone name, when it has one
    # The local time at which one event day ends and the next begins (frab's
    # ``day_change``): a session at 00:15 with day_change 04:00 belongs to the day before.
    day_change: time = time(0)
    slug: str | None = None        # frab/c3voc acronym, our own slug
    url: str | None = None
    rooms: list[ProgrammeRoom] = field(default_factory=list)
    sessions: list[ProgrammeSession] = field(default_factory=list)
    # Our own JSON's other event fields (subtitle, venue, languages, reminder_kinds...).
    details: dict = field(default_factory=dict)
    # What strays from the strictest schema but does not stop the import.
    warnings: list[str] = field(default_factory=list)
