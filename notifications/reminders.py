"""Session reminders, planned from each attendee's personal schedule.

The schedule (``companion.people.schedule.personal_schedule``) says which sessions an
attendee has and when each reminder is due; this module keeps the outbox in step with
it. A reminder's key names the attendee, the session and the session's start:

    reminder:<attendee id>:<session id>:<starts_at in UTC, ISO 8601>

so a moved session makes a new reminder and the old one, no longer wanted, is
cancelled; a cancelled session has no reminder time, so its pending reminders are
cancelled. Each reminder expires when its session starts: it is never sent late.

Call the ``sync_*`` functions inside the transaction of the change (a bookmark,
preferences, an edited session); they write, and the caller commits.
"""

from dataclasses import dataclass
from datetime import timezone

from sqlalchemy import select

from companion.extensions import db
from companion.people.models import Attendee
from companion.people.schedule import ScheduleItem, personal_schedule, session_audience
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
    wanted: dict[str, ScheduleItem] = {
        reminder_key(attendee.id, item.session): item
        for item in personal_schedule(attendee)
        if item.reminder_at is not None
        and (session_ids is None or item.session.id in session_ids)
    }
    query = select(OutboxMessage).where(
        OutboxMessage.attendee_id == attendee.id, OutboxMessage.kind == KIND
    )
    if session_ids is not None:
        query = query.where(OutboxMessage.session_id.in_(session_ids))
    existing = {row.key: row for row in db.session.scalars(query)}
    for key, item in wanted.items():
        plan(attendee, item, key, existing.get(key))
    cancelled = outbox.cancel(row for key, row in existing.items() if key not in wanted)
    return Planned(wanted=len(wanted), cancelled=cancelled)


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
    )


def sync_session(session: Session) -> Planned:
    """After a session changed (moved, cancelled, retitled, new people): its reminders.

    Looks at everyone who has it on their agenda (``session_audience``) and at everyone
    who has a reminder for it already (they may have lost it).
    """
    audience = {attendee.id: attendee for attendee in session_audience(session)}
    reminded = select(OutboxMessage.attendee_id).where(
        OutboxMessage.session_id == session.id, OutboxMessage.kind == KIND
    )
    for attendee in db.session.scalars(select(Attendee).where(Attendee.id.in_(reminded))):
        audience.setdefault(attendee.id, attendee)
    planned = Planned()
    for attendee_id in sorted(audience):
        planned.add(sync_attendee(audience[attendee_id], session_ids={session.id}))
    return planned


def sync_event(event: Event) -> Planned:
    """Every attendee's reminders for the whole event (``flask notifications plan``)."""
    planned = Planned()
    for attendee in db.session.scalars(
        select(Attendee).where(Attendee.event_id == event.id).order_by(Attendee.id)
    ):
        planned.add(sync_attendee(attendee))
    return planned
