"""Queries and changes of the agenda, kept out of the views so tests can call them."""

import json
from datetime import date, datetime
from importlib import resources

from flask_smorest import abort
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from .days import day_bounds
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
        start, end = day_bounds(event, day)
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


# --- the bundled conference ---------------------------------------------------------

def conference_data(slug: str = "alliance-2020") -> dict:
    text = resources.files("companion.schedule").joinpath(f"data/{slug}.json").read_text("utf-8")
    return json.loads(text)
