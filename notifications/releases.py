"""A released schedule version: reminders follow it and the people affected are told.

Receives ``companion.signals.schedule_released`` in the release's transaction:
- reminders of the changed and removed sessions are re-planned for everyone who has
  them on their agenda afterwards, and cancelled for everyone else (new times and
  rooms, none for a cancelled or removed session, new ones for an added session); a
  moved session's untried pending reminders are re-keyed to the new time in place.
  A session of a crowd (`jobs.crowded`) is left to the dispatcher instead (a deferred
  job, `reminders.replan`), as the release's pushes to a crowd are: its reminders are
  held until they follow (`reminders.plan_later`);
- each affected attendee gets ONE ``schedule_change`` push for the release, saying what
  changed for them (their sessions only), in their language. Speakers and moderators of
  a changed session are told even when they muted schedule changes.
"""

from collections import Counter

from companion.schedule.models import Event, ScheduleVersion, Session
from companion.signals import schedule_released

from . import jobs
from .notify import Notified, notify
from .reminders import plan_later, plan_sessions, recipients

KIND = "schedule_change"


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
    """Those of the sessions whose reminders are left to the dispatcher: the ones with a
    crowd (`jobs.crowded`) on their agenda, or told of the release."""
    told = Counter(session_id for ids in affected.sessions.values() for session_id in ids)
    return [session for session in sessions
            if jobs.crowded(max(len(affected.agendas.get(session.id, ())), told[session.id]))]


@schedule_released.connect
def on_schedule_released(event: Event, version: ScheduleVersion, sessions: list[Session],
                         removed: list[int], affected, **_) -> Notified:
    by_id = recipients(set(affected.sessions).union(*affected.agendas.values()))
    later = crowded(sessions, affected)
    plan_sessions([session for session in sessions if session not in later], removed,
                  affected.agendas, affected.starts, by_id)
    plan_later(later, affected.starts)
    return tell(event, version, affected, by_id)
