"""Who an announcement reaches: ``"all"``, or everyone matching every part given of
``roles``, ``sessions``, ``languages`` and ``in_room_at``.

- ``roles``: attendees holding any of these roles (attendee, speaker, moderator,
  organiser);
- ``sessions``: attendees who have any of these sessions on their agenda: its
  followers, its speakers and moderators, and, for the sessions on everyone's agenda
  (the event's ``reminder_kinds``), everyone who did not unfollow it. The same people
  its changes and reminders reach (``people.agenda.agendas``);
- ``languages``: attendees whose language is one of these;
- ``in_room_at``: attendees who have on their agenda a session running at that instant
  (started, not yet ended, not cancelled).

A handful of queries for any audience: the candidates, the sessions, their agendas once.
"""

from datetime import datetime

from flask_smorest import abort
from sqlalchemy import distinct, func, select
from sqlalchemy.orm import load_only

from ..db import rows_in
from ..extensions import db
from ..people.agenda import agendas
from ..people.models import Attendee, Device
from ..schedule.models import Event, Session
from ..schedule.states import live_sessions, session_state

ANNOUNCEMENTS = "announcements"  # the /me ``notify`` switch that mutes them


# What resolving an audience and queuing its pushes read of each member: the other
# columns (three more of them JSON) cost most of the time of an announcement to thousands.
MEMBER_COLUMNS = load_only(Attendee.id, Attendee.event_id, Attendee.language, Attendee.roles,
                           Attendee.notify)


def members(event: Event, audience: dict | str) -> list[Attendee]:
    """The attendees of the event in the audience, by id."""
    statement = (select(Attendee).where(Attendee.event_id == event.id).order_by(Attendee.id)
                 .options(MEMBER_COLUMNS))
    if audience == "all":
        return list(db.session.scalars(statement))
    if audience.get("languages"):
        statement = statement.where(Attendee.language.in_(audience["languages"]))
    if audience.get("sessions"):
        wanted = on_agendas(event, event_sessions(event, audience["sessions"]))
        candidates = [a for (a,) in rows_in(statement, Attendee.id, sorted(wanted))]
    else:
        candidates = list(db.session.scalars(statement))
    if audience.get("roles"):
        roles = set(audience["roles"])
        candidates = [a for a in candidates if roles & set(a.roles or [])]
    if audience.get("in_room_at") is not None:
        moment = audience["in_room_at"]
        if isinstance(moment, str):
            moment = datetime.fromisoformat(moment)
        running = [session for session in live_sessions(event).values()
                   if session.status != "cancelled"
                   and session.starts_at <= moment < session.ends_at]
        present = on_agendas(event, running)
        candidates = [a for a in candidates if a.id in present]
    return candidates


def on_agendas(event: Event, sessions: list[Session]) -> set[int]:
    """The ids of those who have any of these sessions on their agenda (as they are now)."""
    found = agendas(event, {session.id: (None, session_state(session)) for session in sessions})
    return {attendee_id for _, agenda in found.values() for attendee_id in agenda}


def event_sessions(event: Event, ids: list[int]) -> list[Session]:
    """The sessions of the event with these ids; any other id is a 422."""
    found = list(live_sessions(event, ids).values())
    unknown = sorted(set(ids) - {session.id for session in found})
    if unknown:
        abort(422, message="The audience names sessions this event does not have.",
              errors={"audience": {"sessions": [f"No session {i} in this event."
                                                for i in unknown]}})
    return found


def wants_announcements(attendee: Attendee) -> bool:
    return (attendee.notify or {}).get(ANNOUNCEMENTS, True) is not False


def with_device(event: Event, audience: dict | str, attendees: list[Attendee]) -> int:
    """How many of them (the members of ``audience``) have at least one phone registered.

    For ``"all"``, one count over the event's attendees rather than a list of their ids.
    """
    if audience == "all":
        return db.session.scalar(
            select(func.count(distinct(Device.attendee_id)))
            .join(Attendee, Attendee.id == Device.attendee_id)
            .where(Attendee.event_id == event.id)
        )
    ids = sorted(attendee.id for attendee in attendees)
    owners = select(Device.attendee_id).distinct()
    return sum(1 for _ in rows_in(owners, Device.attendee_id, ids))
