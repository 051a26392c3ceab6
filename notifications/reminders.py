"""Session reminders, planned from each attendee's personal schedule.

The schedule (``companion.people.agenda.personal_schedule``) says which sessions an
attendee has and when each reminder is due; this module keeps the outbox in step with
it. A reminder's key names the attendee, the session and the session's start:

    reminder:<attendee id>:<session id>:<starts_at in UTC, ISO 8601>

so a moved session makes a new reminder and the old one, no longer wanted, is
cancelled; a cancelled session has no reminder time, so its pending reminders are
cancelled. Each reminder expires when its session starts: it is never sent late.

Call the ``sync_*`` functions inside the transaction of the change (a bookmark,
preferences, an edited session); they write, and the caller commits.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timezone

from sqlalchemy import select

from companion.extensions import db
from companion.people.models import Attendee
from companion.db import rows_in
from companion.people.agenda import ScheduleItem, personal_schedules, session_audience
from companion.schedule.models import Event, Session

from . import messages, outbox
from .models import OutboxMessage

KIND = "reminder"


@dataclass
class Planned:
    """What a sync did, in reminders."""

    wanted: int = 0
    cancelled: int = 0

    def add(self, other: "Planned") -> "Planned":
        self.wanted += other.wanted
        self.cancelled += other.cancelled
        return self


def reminder_key(attendee_id: int, session: Session) -> str:
    starts = session.starts_at.astimezone(timezone.utc).isoformat()
    return f"{KIND}:{attendee_id}:{session.id}:{starts}"


def sync_attendee(attendee: Attendee, session_ids: set[int] | None = None) -> Planned:
    """Make the attendee's pending reminders match their schedule (or part of it)."""
    return sync_attendees([attendee], session_ids)


def sync_attendees(attendees: Iterable[Attendee],
                   session_ids: set[int] | None = None) -> Planned:
    """``sync_attendee`` for many attendees at once, in a handful of queries.

    Their schedules come from ``personal_schedules`` and their reminders already in the
    outbox from one query; each is then planned or cancelled as ``sync_attendee`` would.
    """
    attendees = sorted({attendee.id: attendee for attendee in attendees}.values(),
                       key=lambda attendee: attendee.id)
    schedules = personal_schedules(attendees)
    existing = reminders_of([attendee.id for attendee in attendees], session_ids)
    planned = Planned()
    for attendee in attendees:
        wanted: dict[str, ScheduleItem] = {
            reminder_key(attendee.id, item.session): item
            for item in schedules[attendee.id]
            if item.reminder_at is not None
            and (session_ids is None or item.session.id in session_ids)
        }
        rows = existing.get(attendee.id, {})
        for key, item in wanted.items():
            plan(attendee, item, key, rows.get(key))
        cancelled = outbox.cancel(row for key, row in rows.items() if key not in wanted)
        planned.add(Planned(wanted=len(wanted), cancelled=cancelled))
    return planned


def reminders_of(attendee_ids: list[int],
                 session_ids: set[int] | None) -> dict[int, dict[str, OutboxMessage]]:
    """The attendees' reminders in the outbox (for those sessions), by attendee and key.

    Every reminder a key could name is here: the key holds the attendee and the session.
    """
    query = select(OutboxMessage).where(OutboxMessage.kind == KIND)
    if session_ids is not None:
        query = query.where(OutboxMessage.session_id.in_(session_ids))
    rows: dict[int, dict[str, OutboxMessage]] = {}
    for (row,) in rows_in(query, OutboxMessage.attendee_id, attendee_ids):
        rows.setdefault(row.attendee_id, {})[row.key] = row
    return rows


def plan(attendee: Attendee, item: ScheduleItem, key: str,
         existing: OutboxMessage | None) -> OutboxMessage:
    session = item.session
    values = messages.reminder_values(session)
    title, body = messages.render(KIND, attendee.language, values)
    return outbox.put(
        key=key, attendee_id=attendee.id, kind=KIND, title=title, body=body,
        text_values=values, due_at=item.reminder_at, expires_at=session.starts_at,
        data={"type": KIND, "event": attendee.event.slug, "session_id": str(session.id)},
        collapse_key=f"session-{session.id}", session_id=session.id, existing=existing,
        looked_up=True,
    )


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
