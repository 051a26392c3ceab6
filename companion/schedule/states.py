"""What a session or a room is, as plain JSON: the state a draft edit holds, a changelog
compares and a release writes into the live tables.

The fields of a session are named once, in `SESSION`: a field added there is drafted,
diffed (under its ``change``), applied and served (`drafts.shown`) without another edit.
"""

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from .models import Event, Room, Session

UTC = timezone.utc
# A field a new session has no default for: its creator (or the import) gives it.
GIVEN = object()


@dataclass(frozen=True)
class Field:
    """One field of a session. ``form``: "value" (a column as it is), "list" (a JSON
    list column), "time" (an instant, stored as a UTC ISO string) or "people" (attendee
    ids of the session's people in the role the name says). ``change``: the changelog
    entry that reports it (None: never reported)."""

    name: str
    new: object = GIVEN
    form: str = "value"
    change: str | None = "details_changed"


SESSION = (
    Field("key", None, change=None),
    Field("guid", change=None),
    Field("kind"),
    Field("title", change="retitled"),
    Field("description", None, change="description_changed"),
    Field("topics", [], "list"),
    Field("starts_at", form="time", change="moved"),
    Field("ends_at", form="time", change="retimed"),
    Field("room_id", None, change="room_changed"),
    Field("status", "scheduled", change="cancelled"),
    Field("online_url", None, change="online_link_changed"),
    Field("language", None),
    Field("speakers", [], "people", change="speakers_changed"),
    Field("speaker_names", [], "list", change="speakers_changed"),
    Field("moderators", [], "people", change="moderators_changed"),
)
SESSION_FIELDS = tuple(f.name for f in SESSION)
SESSION_BY_NAME = {f.name: f for f in SESSION}
# What a new session is, before the fields its creator gives.
NEW_SESSION = {f.name: f.new for f in SESSION if f.new is not GIVEN}
# The role of a session's people that each "people" field lists.
ROLES = {"speakers": "speaker", "moderators": "moderator"}
ROOM_FIELDS = ("key", "name", "building", "address", "floor", "capacity", "accessibility",
               "interpretation", "directions", "map_url", "facilities")


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def session_state(session: Session) -> dict:
    state = {}
    for f in SESSION:
        if f.form == "people":
            state[f.name] = [p.attendee_id for p in session.people if p.role == ROLES[f.name]]
            continue
        value = getattr(session, f.name)
        if f.form == "list":
            value = list(value or [])
        elif f.form == "time":
            value = iso(value)
        state[f.name] = value
    return state


def set_session(session: Session, state: dict) -> None:
    """Write a state's column fields into a live session (its people: `releasing`)."""
    for f in SESSION:
        if f.form == "people":
            continue
        value = state.get(f.name)
        if f.form == "time":
            value = instant(value)
        setattr(session, f.name, value)


def room_state(room: Room) -> dict:
    return {name: getattr(room, name) for name in ROOM_FIELDS}


def live_sessions(event: Event, ids=None) -> dict[int, Session]:
    """The released sessions (those of ``ids`` only, when given), their people with them
    (`session_state` reads them)."""
    query = select(Session).where(Session.event_id == event.id)
    if ids is not None:
        query = query.where(Session.id.in_(list(ids)))
    return {s.id: s for s in db.session.scalars(query.options(selectinload(Session.people)))}


def live_rooms(event: Event) -> dict[int, Room]:
    return {r.id: r for r in db.session.scalars(select(Room).where(Room.event_id == event.id))}
