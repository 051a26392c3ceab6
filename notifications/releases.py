"""A released schedule version: reminders follow it and the people affected are told.

Receives ``companion.signals.schedule_released`` in the release's transaction:
- reminders of the changed and removed sessions are re-planned for everyone who has
  them on their agenda afterwards, and cancelled for everyone else (new times and
  rooms, none for a cancelled or removed session, new ones for an added session);
- each affected attendee gets ONE ``schedule_change`` push for the release, saying what
  changed for them (their sessions only), in their language. Speakers and moderators of
  a changed session are told even when they muted schedule changes.
"""

from sqlalchemy import select, update

from companion.db import ID_CHUNK, rows_in
from companion.extensions import db
from companion.people.agenda import reminder_lead, reminders_on
from companion.people.models import Attendee
from companion.schedule.models import Event, ScheduleVersion, Session
from companion.signals import schedule_released

from .models import OutboxMessage
from .notify import ID, Notified, notify
from .reminders import KIND as REMINDER, reminder_key, session_values

ROLE, NO_ROLE = {"speaker"}, set()  # what sets a reminder's lead time

KIND = "schedule_change"


def replan(changed: list[Session], removed: list[int], affected,
           by_id: dict[int, Attendee]) -> None:
    """The reminders of the changed and removed sessions, as ``sync_session`` would
    plan them, from the agendas the release already found (``affected.agendas``):
    one `notify` per changed session and lead time, and one statement cancelling what is
    no longer wanted (old times, cancelled or removed sessions, people no longer
    concerned)."""
    session_ids = [session.id for session in changed] + list(removed)
    if not session_ids:
        return
    wanted: set[str] = set()
    for session in changed:
        agenda = affected.agendas.get(session.id, {})
        by_lead: dict = {}  # reminders due at the same time share one notify
        for attendee_id, has_role in agenda.items():
            attendee = by_id.get(attendee_id)
            if attendee is not None and reminders_on(attendee):
                lead = reminder_lead(attendee, ROLE if has_role else NO_ROLE)
                by_lead.setdefault(lead, []).append(attendee)
        for lead, recipients in by_lead.items():
            queued = notify(
                REMINDER, recipients, session_values(session),
                key=reminder_key(ID, session), due_at=session.starts_at - lead,
                expires_at=session.starts_at, session_id=session.id,
                data={"event": session.event.slug, "session_id": str(session.id)},
            )
            wanted.update(queued.keys)
    unwanted = [
        message_id for message_id, message_key in db.session.execute(
            select(OutboxMessage.id, OutboxMessage.key).where(
                OutboxMessage.kind == REMINDER, OutboxMessage.status == "pending",
                OutboxMessage.session_id.in_(session_ids))
        ) if message_key not in wanted
    ]
    for start in range(0, len(unwanted), ID_CHUNK):
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(unwanted[start:start + ID_CHUNK]),
                   OutboxMessage.status == "pending")
            .values(status="cancelled"),
            execution_options={"synchronize_session": False},
        )


def tell(event: Event, version: ScheduleVersion, affected,
         by_id: dict[int, Attendee]) -> Notified:
    """One push per affected attendee: their changed sessions, grouped so that those
    with the same list share one rendering per language."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for attendee_id, session_ids in affected.sessions.items():
        groups.setdefault(tuple(session_ids), []).append(attendee_id)
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
    ids = set(affected.sessions).union(*affected.agendas.values())
    by_id = {a.id: a for (a,) in rows_in(select(Attendee), Attendee.id, sorted(ids))}
    replan(sessions, removed, affected, by_id)
    return tell(event, version, affected, by_id)
