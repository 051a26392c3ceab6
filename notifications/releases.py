"""A released schedule version: reminders follow it and the people affected are told.

Receives ``companion.signals.schedule_released`` in the release's transaction:
- reminders of the changed and removed sessions are re-planned for everyone who has
  them on their agenda or had a reminder for them (new times and rooms, none for a
  cancelled or removed session, new ones for an added session);
- each affected attendee gets ONE ``schedule_change`` push for the release, saying what
  changed for them (their sessions only), in their language. Speakers and moderators of
  a changed session are told even when they muted schedule changes.
"""

from sqlalchemy import select, update

from companion.db import ID_CHUNK, rows_in
from companion.extensions import db
from companion.people.models import Attendee
from companion.schedule.models import Event, ScheduleVersion, Session
from companion.signals import schedule_released

from .models import OutboxMessage
from .notify import Notified, notify
from .reminders import KIND as REMINDER, sync_attendees

KIND = "schedule_change"


def replan(changed: list[Session], removed: list[int], concerned: set[int]) -> None:
    """Reminders of these sessions for the concerned and for whoever had one."""
    session_ids = {session.id for session in changed} | set(removed)
    if not session_ids:
        return
    ids = set(concerned)
    ids.update(db.session.scalars(
        select(OutboxMessage.attendee_id).where(OutboxMessage.kind == REMINDER,
                                                OutboxMessage.session_id.in_(session_ids))
    ))
    if removed:  # SQLite keeps the rows of a deleted session: none of them may go out
        for start in range(0, len(removed), ID_CHUNK):
            db.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.session_id.in_(removed[start:start + ID_CHUNK]),
                       OutboxMessage.status == "pending")
                .values(status="cancelled"),
                execution_options={"synchronize_session": False},
            )
    attendees = [a for (a,) in rows_in(select(Attendee), Attendee.id, sorted(ids))]
    sync_attendees(attendees, session_ids=set(session_ids) - set(removed))


def tell(event: Event, version: ScheduleVersion, affected) -> Notified:
    """One push per affected attendee: their changed sessions, grouped so that those
    with the same list share one rendering per language."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for attendee_id, session_ids in affected.sessions.items():
        groups.setdefault(tuple(session_ids), []).append(attendee_id)
    by_id = {a.id: a for (a,) in rows_in(select(Attendee), Attendee.id,
                                         sorted(affected.sessions))}
    notified = Notified()
    for session_ids, attendee_ids in groups.items():
        values = {"changes": [affected.summaries[sid] for sid in session_ids]}
        notified.add(notify(
            KIND, [by_id[i] for i in attendee_ids if i in by_id], values,
            key=f"schedule:{event.id}:v{version.number}",
            always=affected.always,
            data={"event": event.slug, "version": str(version.number),
                  **({"session_id": str(session_ids[0])} if len(session_ids) == 1 else {})},
        ))
    return notified


@schedule_released.connect
def on_schedule_released(event: Event, version: ScheduleVersion, sessions: list[Session],
                         removed: list[int], affected, **_) -> Notified:
    replan(sessions, removed, set(affected.sessions))
    return tell(event, version, affected)
