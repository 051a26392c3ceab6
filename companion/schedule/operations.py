"""Queries and changes of the agenda, kept out of the views so tests can call them."""

import json
from datetime import date, datetime, time, timedelta
from importlib import resources

from flask_smorest import abort
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..timeutil import local_to_utc, localise
from .models import Event, Room, Session, SessionPerson


def find_event(slug: str) -> Event | None:
    return db.session.scalar(select(Event).where(Event.slug == slug))


def get_event(slug: str) -> Event:
    event = find_event(slug)
    if event is None:
        abort(404, message=f"Event {slug!r} not found")
    return event


def sessions_query(event: Event, day: date | None = None, kind: str | None = None,
                   ends_after: datetime | None = None,
                   starts_before: datetime | None = None) -> Select:
    statement = (
        select(Session)
        .where(Session.event_id == event.id)
        .options(
            selectinload(Session.room),
            selectinload(Session.people).selectinload(SessionPerson.attendee),
        )
        .order_by(Session.starts_at, Session.id)
    )
    if day is not None:
        start = local_to_utc(day, time(0), event.timezone)
        end = local_to_utc(day + timedelta(days=1), time(0), event.timezone)
        statement = statement.where(Session.starts_at >= start, Session.starts_at < end)
    if kind is not None:
        statement = statement.where(Session.kind == kind)
    if ends_after is not None:
        statement = statement.where(Session.ends_at > ends_after)
    if starts_before is not None:
        statement = statement.where(Session.starts_at < starts_before)
    return statement


def get_session(event: Event, session_id: int) -> Session:
    session = db.session.scalar(
        sessions_query(event).where(Session.id == session_id)
    )
    if session is None:
        abort(404, message=f"Session {session_id} not found")
    return session


def rooms_query(event: Event) -> Select:
    return select(Room).where(Room.event_id == event.id).order_by(Room.id)


def get_room(event: Event, room_id: int) -> Room:
    room = db.session.scalar(rooms_query(event).where(Room.id == room_id))
    if room is None:
        abort(404, message=f"Room {room_id} not found")
    return room


# --- seeding -----------------------------------------------------------------

def conference_data(slug: str = "alliance-2020") -> dict:
    text = resources.files("companion.schedule").joinpath(f"data/{slug}.json").read_text("utf-8")
    return json.loads(text)


def _assign(obj, values: dict, keep_known: bool = False) -> bool:
    """Set attributes; with keep_known, a null never overwrites what an organiser filled in."""
    changed = False
    for name, value in values.items():
        if keep_known and value is None:
            continue
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def rehearsal_offset(data: dict, now: datetime, lead: timedelta) -> timedelta:
    """How far to move the event so that its first panel starts ``lead`` after ``now``
    (on the minute): its reminders fall due a few minutes from now."""
    panel = next(values for values in data["sessions"] if values["kind"] == "panel")
    starts = local_to_utc(date.fromisoformat(panel["date"]), time.fromisoformat(panel["starts"]),
                          data["event"]["timezone"])
    target = (now + lead + timedelta(minutes=1)).replace(second=0, microsecond=0)
    return target - starts


def seed_conference(data: dict, shift_to: date | None = None,
                    offset: timedelta = timedelta(0)) -> dict:
    """Create or update the event from its data; the same call twice changes nothing.
    The caller commits (after re-planning reminders, when sessions moved).

    ``shift_to`` moves the whole event so that it starts on that day, each session at
    the same local wall-clock time (the UTC offset is worked out per day). ``offset``
    moves every session by that much (see ``rehearsal_offset``), the event's days with them.
    """
    info = dict(data["event"])
    original_start = date.fromisoformat(info["starts_on"])
    shift = (shift_to - original_start) if shift_to else timedelta(0)
    info["starts_on"] = original_start + shift
    info["ends_on"] = date.fromisoformat(info["ends_on"]) + shift
    if offset:  # the local days of the first start and the last end, moved
        instants = [
            local_to_utc(date.fromisoformat(values["date"]) + shift,
                         time.fromisoformat(values[edge]), info["timezone"]) + offset
            for values in data["sessions"] for edge in ("starts", "ends")
        ]
        info["starts_on"] = localise(min(instants), info["timezone"]).date()
        info["ends_on"] = localise(max(instants), info["timezone"]).date()
    counts = {"created": 0, "updated": 0}

    def tally(created: bool, changed: bool):
        if created:
            counts["created"] += 1
        elif changed:
            counts["updated"] += 1

    event = find_event(info["slug"])
    created = created_event = event is None
    if created:
        event = Event(slug=info["slug"])
        db.session.add(event)
    tally(created, _assign(event, info))
    db.session.flush()

    rooms = {}
    for values in data["rooms"]:
        room = db.session.scalar(
            select(Room).where(Room.event_id == event.id, Room.key == values["key"])
        )
        created = room is None
        if created:
            room = Room(event_id=event.id, key=values["key"])
            db.session.add(room)
        values = dict(values)
        if room.facilities is not None:  # what an organiser wrote stands
            values.pop("facilities", None)
        tally(created, _assign(room, values, keep_known=True))
        rooms[values["key"]] = room
    db.session.flush()

    for values in data["sessions"]:
        values = dict(values)
        day = date.fromisoformat(values.pop("date")) + shift
        starts = time.fromisoformat(values.pop("starts"))
        ends = time.fromisoformat(values.pop("ends"))
        room_key = values.pop("room", None)
        values["starts_at"] = local_to_utc(day, starts, event.timezone) + offset
        values["ends_at"] = local_to_utc(day, ends, event.timezone) + offset
        values["room_id"] = rooms[room_key].id if room_key else None
        session = db.session.scalar(
            select(Session).where(Session.event_id == event.id, Session.key == values["key"])
        )
        created = session is None
        if created:
            session = Session(event_id=event.id, key=values["key"], status="scheduled")
            db.session.add(session)
        tally(created, _assign(session, values))
    if not created_event and (counts["created"] or counts["updated"]):
        event.live_generation = (event.live_generation or 0) + 1  # kept answers go stale
    db.session.flush()
    return counts
