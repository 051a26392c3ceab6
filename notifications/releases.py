"""A released schedule version: reminders follow it and the people affected are told.

Receives ``companion.signals.schedule_released`` in the release's transaction:
- reminders of the changed and removed sessions are re-planned for everyone who has
  them on their agenda afterwards, and cancelled for everyone else (new times and
  rooms, none for a cancelled or removed session, new ones for an added session); a
  moved session's untried pending reminders are re-keyed to the new time in place.
  A session of ``PUSH_FANOUT_FROM`` people or more is left to the dispatcher instead
  (models.ReminderReplan, `replan_waiting`), as the release's pushes to a crowd are:
  none of its reminders is sent until they follow;
- each affected attendee gets ONE ``schedule_change`` push for the release, saying what
  changed for them (their sessions only), in their language. Speakers and moderators of
  a changed session are told even when they muted schedule changes.
"""

import json
from collections import Counter
from collections.abc import Collection
from datetime import datetime
from typing import NamedTuple

from flask import current_app
from sqlalchemy import Text, cast, or_, select, update

from companion.db import id_in
from companion.extensions import db
from companion.people.agenda import reminder_lead, reminders_on, session_agenda
from companion.people.models import Attendee
from companion.schedule.models import Event, ScheduleVersion, Session
from companion.signals import schedule_released

from . import outbox
from .models import OutboxMessage, ReminderReplan
from .notify import ID, Notified, key_sql, notify
from .reminders import KIND as REMINDER
from .reminders import reminder_key, session_values

ROLE, NO_ROLE = {"speaker"}, set()  # what sets a reminder's lead time

KIND = "schedule_change"


class Recipient(NamedTuple):
    """What `notify` and the reminder lead read of a recipient, and nothing else: not
    an `Attendee` (whose other JSON columns would be decoded for nothing)."""

    id: int
    language: str
    notify: dict | None
    reminder_minutes: int | None


# Their preferences as the JSON text: the crowd shares a few sets, each decoded once.
RECIPIENTS = select(Attendee.id, Attendee.language, cast(Attendee.notify, Text),
                    Attendee.reminder_minutes)


def recipients(ids: Collection[int]) -> dict[int, Recipient]:
    """These attendees as `Recipient`s, by id; those sharing preferences share the dict."""
    decoded: dict[str | None, dict | None] = {None: None}
    by_id = {}
    for attendee_id, language, preferences, minutes in db.session.execute(
            RECIPIENTS.where(id_in(Attendee.id, ids))):
        if preferences not in decoded:
            decoded[preferences] = json.loads(preferences)
        by_id[attendee_id] = Recipient(attendee_id, language, decoded[preferences], minutes)
    return by_id


def replan(changed: list[Session], removed: list[int], agendas: dict[int, dict[int, bool]],
           starts: dict[int, datetime], by_id: dict) -> None:
    """The reminders of the changed and removed sessions, as ``sync_session`` would
    plan them, from the agendas already found (``agendas``, as `Affected.agendas`):
    one `notify` per changed session and lead time, which re-keys the reminders at the
    session's time before the release (``starts``) in place rather than
    writing new rows beside them, and one statement per session cancelling what is
    still no longer wanted (old times, cancelled or removed sessions, people no longer
    concerned), none of it loaded."""
    pending = (OutboxMessage.kind == REMINDER, OutboxMessage.status == "pending")
    for session in changed:
        agenda = agendas.get(session.id, {})
        by_lead: dict = {}  # reminders due at the same time share one notify
        leads: dict = {}  # the lead by (minutes, role): the crowd shares a few
        for attendee_id, has_role in agenda.items():
            attendee = by_id.get(attendee_id)
            if attendee is not None and reminders_on(attendee):
                setting = (attendee.reminder_minutes, has_role)
                lead = leads.get(setting)
                if lead is None:
                    lead = leads[setting] = reminder_lead(attendee, ROLE if has_role else NO_ROLE)
                by_lead.setdefault(lead, []).append(attendee)
        key = reminder_key(ID, session)
        was = starts.get(session.id)
        for lead, recipients in by_lead.items():
            notify(
                REMINDER, recipients, session_values(session),
                key=key, due_at=session.starts_at - lead,
                expires_at=session.starts_at, session_id=session.id,
                data={"event": session.event.slug, "session_id": str(session.id)},
                replaces=reminder_key(ID, session, was) if was is not None else None,
            )
        wanted = [attendee.id for recipients in by_lead.values() for attendee in recipients]
        # wanted: this session's reminder at its new time for one of those people
        cancel(*pending, OutboxMessage.session_id == session.id,
               or_(OutboxMessage.key != key_sql(key, OutboxMessage.attendee_id),
                   ~id_in(OutboxMessage.attendee_id, wanted)))
    if removed:
        cancel(*pending, id_in(OutboxMessage.session_id, removed))


def cancel(*where) -> None:
    db.session.execute(update(OutboxMessage).where(*where).values(status="cancelled"),
                       execution_options={"synchronize_session": False})


def tell(event: Event, version: ScheduleVersion, affected, by_id: dict) -> Notified:
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


def crowded(sessions: list[Session], affected) -> list[Session]:
    """Those of the sessions whose reminders are left to the dispatcher: the ones with
    ``PUSH_FANOUT_FROM`` people or more on their agenda, or told of the release."""
    told = Counter(session_id for ids in affected.sessions.values() for session_id in ids)
    crowd = current_app.config["PUSH_FANOUT_FROM"]
    return [session for session in sessions
            if max(len(affected.agendas.get(session.id, ())), told[session.id]) >= crowd]


def replan_waiting(limit: int = 20) -> int:
    """Re-plan the reminders of the sessions releases left to the dispatcher
    (models.ReminderReplan), from each session and agenda as they are now, and delete
    those rows; how many sessions. The dispatcher's claiming transaction runs it before
    it claims, as `notify.expand` (both take their rows with `outbox.take_waiting`); a
    session another worker is re-planning stays unclaimed until it commits."""
    table = ReminderReplan.__table__
    starts: dict[int, datetime | None] = {}
    for row in outbox.take_waiting(table, limit, table.c.session_id, table.c.starts_before):
        # the first release's start: what the reminders name (a later release's start
        # was never planned, or was re-keyed by that release itself)
        starts.setdefault(row.session_id, row.starts_before)
    for session_id, starts_before in starts.items():
        session = db.session.get(Session, session_id)
        if session is None:  # deleted since: its reminders went with it
            continue
        agenda = {} if session.status == "cancelled" else session_agenda(session)
        replan([session], [], {session_id: agenda},
               {} if starts_before is None else {session_id: starts_before},
               recipients(agenda))
    return len(starts)


@schedule_released.connect
def on_schedule_released(event: Event, version: ScheduleVersion, sessions: list[Session],
                         removed: list[int], affected, **_) -> Notified:
    by_id = recipients(set(affected.sessions).union(*affected.agendas.values()))
    later = crowded(sessions, affected)
    replan([session for session in sessions if session not in later], removed,
           affected.agendas, affected.starts, by_id)
    if later:
        db.session.add_all(ReminderReplan(session_id=session.id,
                                          starts_before=affected.starts.get(session.id))
                           for session in later)
        outbox.wake_workers()
    return tell(event, version, affected, by_id)
