"""Session reminders, planned from each attendee's personal schedule.

The schedule (``companion.people.agenda.personal_schedule``) says which sessions an
attendee has and when each reminder is due; this module keeps the outbox in step with
it. A reminder's key names the attendee, the session and the session's start:

    reminder:<attendee id>:<session id>:<starts_at in UTC, ISO 8601>

so a reminder at an old time is never the one wanted. When a release moves a session
(notifications/releases.py), each of its pending reminders that was never tried is
re-keyed in place: the same row takes the key, due time and texts of the new start
(`notify`'s ``replaces``). Any other reminder of it no longer wanted (one tried
already, one of someone who no longer has the session, one whose new key a cancelled
reminder holds: that one is pending again instead) is cancelled, and a new one made
where none was re-keyed; the ``sync_*`` functions here always work that way, new
reminder and old one cancelled; a session of ``PUSH_FANOUT_FROM`` people or more has
its reminders re-planned by the worker instead, the same way, and none is claimed
meanwhile (models.ReminderReplan). A cancelled session has no reminder time, so its
pending reminders are cancelled. Each reminder expires when its session starts: it is
never sent late.

The ``sync_*`` functions run inside the transaction of the change (a bookmark,
preferences, an edited session); they write, and the request or command commits. They
are called by the receivers of the changes' signals (``companion.signals``), at the
bottom of this module.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select, update

from companion.db import ID_CHUNK, rows_in
from companion.extensions import db
from companion.people.models import Attendee
from companion.people.agenda import ScheduleItem, personal_schedules, session_audience
from companion.schedule.models import Event, Session
from companion.signals import agendas_changed, sessions_changed

from .models import REMINDER, OutboxMessage
from .notify import notify

KIND = REMINDER


@dataclass
class Planned:
    """What a sync did, in reminders."""

    wanted: int = 0
    cancelled: int = 0

    def add(self, other: "Planned") -> "Planned":
        self.wanted += other.wanted
        self.cancelled += other.cancelled
        return self

    def __str__(self) -> str:
        return f"{self.wanted} reminders planned, {self.cancelled} cancelled"


def reminder_key(attendee_id: int, session: Session, starts_at: datetime | None = None) -> str:
    """The key of the session's reminder for the attendee (an id, or `notify`'s
    ``{attendee_id}``), at the session's start or at ``starts_at``."""
    starts = (starts_at or session.starts_at).astimezone(timezone.utc).isoformat()
    return f"{KIND}:{attendee_id}:{session.id}:{starts}"


def sync_attendee(attendee: Attendee, session_ids: set[int] | None = None) -> Planned:
    """Make the attendee's pending reminders match their schedule (or part of it)."""
    return sync_attendees([attendee], session_ids)


def sync_attendees(attendees: Iterable[Attendee],
                   session_ids: set[int] | None = None) -> Planned:
    """``sync_attendee`` for many attendees at once, in a handful of queries.

    Their schedules come from ``personal_schedules``; each session's reminders are
    queued with one `notify` (whose keys refresh what is already planned), and the
    pending reminders no longer wanted are cancelled in one statement per chunk.
    """
    attendees = sorted({attendee.id: attendee for attendee in attendees}.values(),
                       key=lambda attendee: attendee.id)
    schedules = personal_schedules(attendees)
    by_session: dict[int, tuple[Session, dict[int, ScheduleItem]]] = {}
    for attendee in attendees:
        for item in schedules[attendee.id]:
            if item.reminder_at is None:
                continue
            if session_ids is not None and item.session.id not in session_ids:
                continue
            entry = by_session.setdefault(item.session.id, (item.session, {}))
            entry[1][attendee.id] = item
    by_id = {attendee.id: attendee for attendee in attendees}
    wanted: set[str] = set()
    for session, items in by_session.values():
        queued = notify(
            KIND, [by_id[attendee_id] for attendee_id in items], session_values(session),
            key=lambda attendee, session=session: reminder_key(attendee.id, session),
            due_at=lambda attendee, items=items: items[attendee.id].reminder_at,
            expires_at=session.starts_at, session_id=session.id,
            data={"event": session.event.slug, "session_id": str(session.id)},
        )
        wanted.update(queued.keys)
    unwanted = [
        message_id
        for message_id, message_key in pending_reminders([a.id for a in attendees], session_ids)
        if message_key not in wanted
    ]
    for start in range(0, len(unwanted), ID_CHUNK):
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(unwanted[start:start + ID_CHUNK]),
                   OutboxMessage.status == "pending")
            .values(status="cancelled"),
            execution_options={"synchronize_session": False},
        )
    return Planned(wanted=len(wanted), cancelled=len(unwanted))


def session_values(session: Session) -> dict:
    """What a reminder says of its session: title, start and room; nothing personal."""
    return {
        "title": session.title, "session_id": session.id,
        "starts_at": session.starts_at.astimezone(timezone.utc).isoformat(),
        "timezone": session.timezone,
        "room": session.room.name if session.room is not None else None,
    }


def pending_reminders(attendee_ids: list[int],
                      session_ids: set[int] | None) -> list[tuple[int, str]]:
    """Id and key of the attendees' pending reminders (for those sessions)."""
    query = select(OutboxMessage.id, OutboxMessage.key).where(
        OutboxMessage.kind == KIND, OutboxMessage.status == "pending"
    )
    if session_ids is not None:
        query = query.where(OutboxMessage.session_id.in_(session_ids))
    return [tuple(row) for row in rows_in(query, OutboxMessage.attendee_id, attendee_ids)]


def sync_session(session: Session) -> Planned:
    """After a session changed (moved, cancelled, retitled, new people): its reminders.

    Looks at everyone who has it on their agenda (``session_audience``) and at everyone
    who has a reminder for it already (they may have lost it).
    """
    audience = {attendee.id: attendee for attendee in session_audience(session)}
    reminded = set(db.session.scalars(
        select(OutboxMessage.attendee_id).where(
            OutboxMessage.session_id == session.id, OutboxMessage.kind == KIND
        )
    ))
    lost = sorted(reminded - audience.keys())
    audience.update((attendee.id, attendee)
                    for (attendee,) in rows_in(select(Attendee), Attendee.id, lost))
    return sync_attendees(audience.values(), session_ids={session.id})


def sync_event(event: Event) -> Planned:
    """Every attendee's reminders for the whole event (``flask notifications plan``)."""
    return sync_attendees(db.session.scalars(
        select(Attendee).where(Attendee.event_id == event.id)
    ))


# --- who reacts to which change (companion.signals) ---------------------------------

@agendas_changed.connect
def on_agendas_changed(attendees, session_ids: set[int] | None = None, **_) -> Planned:
    return sync_attendees(attendees, session_ids)


@sessions_changed.connect
def on_sessions_changed(event: Event, sessions: Iterable[Session] | None = None,
                        **_) -> Planned:
    if sessions is None:
        return sync_event(event)
    planned = Planned()
    for session in sessions:
        planned.add(sync_session(session))
    return planned
