"""Programmes that come from a URL: read again, cheaply, and brought in when changed.

`events import URL` remembers the URL on the event; `events sync` asks it again with the
validators of the last answer (a 304 costs nothing), and a changed programme goes through
the one door (`importing.import_programme`): released at once for events imported with
``--publish``, else left in the draft for an organiser.
"""

from dataclasses import dataclass

from sqlalchemy import select

from ..extensions import db
from ..timeutil import utcnow
from .fetch import fetch
from .importing import Imported, import_programme
from .models import Event
from .sources import parse


@dataclass
class Read:
    """A source read: its programme's import (None when the source has not changed)."""

    imported: Imported | None
    etag: str | None
    modified: str | None


def read_source(url: str, slug: str, *, timezone_name: str | None = None,
                publish: bool = False, etag: str | None = None,
                modified: str | None = None) -> Read:
    """Fetch the URL (conditionally) and import what it holds. Raises SourceError."""
    fetched = fetch(url, etag=etag, last_modified=modified)
    if fetched.not_modified:
        return Read(None, etag, modified)
    programme = parse(fetched.content, timezone_name)
    imported = import_programme(programme, slug, timezone_name=timezone_name, publish=publish)
    return Read(imported, fetched.etag, fetched.last_modified)


def remember(event: Event, url: str, read: Read, publish: bool) -> None:
    event.source_url, event.source_publish = url, publish
    event.source_etag, event.source_modified = read.etag, read.modified
    event.source_checked_at = utcnow()


def synced_events() -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.source_url.is_not(None))
                                   .order_by(Event.id)))


def sync_event(event: Event) -> Read:
    """One event's source, read again (the caller commits, or rolls back on error)."""
    read = read_source(event.source_url, event.slug, timezone_name=event.timezone,
                       publish=event.source_publish, etag=event.source_etag,
                       modified=event.source_modified)
    remember(event, event.source_url, read, event.source_publish)
    return read
