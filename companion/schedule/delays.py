"""Releases of one kind of change, at once and without a draft: a session running late
(and what follows it in its room), or the whole event moved by days or online."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..extensions import db
from ..organising.audit import record
from ..people.models import Attendee
from ..timeutil import local_to_utc
from .changelog import Plan, plan
from .days import day_bounds, event_day
from .drafts import draft_edits, refuse
from .models import Event, ScheduleVersion, Session
from .releasing import hold, release, repeated
from .states import instant, iso, live_sessions, session_state

BREAKS = ("break", "lunch")
# A break squeezed by a delay keeps at least this long (a floor manager's minimum).
BREAK_MINIMUM = timedelta(minutes=5)


def rebase_draft(event: Event, moved: dict[int, dict]) -> None:
    """Carry a direct release into pending draft edits of the same sessions, so that
    the next publish does not undo it."""
    for edit in draft_edits(event, "session"):
        if edit.state is not None and edit.target_id in moved:
            edit.state = {**edit.state, **moved[edit.target_id]}


def following_in_room(event: Event, session: Session) -> list[Session]:
    """The scheduled sessions after this one in its room that day, in order."""
    day = event_day(event, session.starts_at)
    return [
        other for other in db.session.scalars(
            select(Session).where(Session.event_id == event.id,
                                  Session.room_id.is_(session.room_id)
                                  if session.room_id is None
                                  else Session.room_id == session.room_id,
                                  Session.starts_at >= session.starts_at,
                                  Session.id != session.id,
                                  Session.status == "scheduled")
            .order_by(Session.starts_at, Session.id))
        if event_day(event, other.starts_at) == day
    ]


def delay_moves(event: Event, session: Session, minutes: int,
                shift_following: bool) -> dict[int, tuple[datetime, datetime]]:
    """The new times of the session and (when asked) of what follows it in the room;
    breaks absorb the delay first."""
    delta = timedelta(minutes=minutes)
    moves = {session.id: (session.starts_at + delta, session.ends_at + delta)}
    if not shift_following:
        return moves
    previous_end = moves[session.id][1]
    for other in following_in_room(event, session):
        if other.starts_at >= previous_end:
            break  # the gap before it absorbs what is left
        if other.kind in BREAKS:
            if other.ends_at - previous_end >= BREAK_MINIMUM:
                moves[other.id] = (previous_end, other.ends_at)
                break
            moves[other.id] = (previous_end, previous_end + BREAK_MINIMUM)
        else:
            shift = previous_end - other.starts_at
            moves[other.id] = (other.starts_at + shift, other.ends_at + shift)
        previous_end = moves[other.id][1]
    return moves


def plan_delay(event: Event, session: Session, minutes: int,
               shift_following: bool) -> Plan:
    """What running late would release (the preview and `delay` alike); writes nothing."""
    states = {}
    for sid, (starts, ends) in delay_moves(event, session, minutes, shift_following).items():
        state = session_state(db.session.get(Session, sid))
        states[sid] = {**state, "starts_at": iso(starts), "ends_at": iso(ends)}
    return plan(event, states, {})


def late(event: Event, the_plan: Plan) -> list[int]:
    """The sessions of a plan that would end past the end of their (former) day."""
    return sorted(
        sid for sid, state in the_plan.sessions.items()
        if instant(state["ends_at"]) > day_bounds(
            event, event_day(event, db.session.get(Session, sid).starts_at))[1])


def refuse_late(event: Event, the_plan: Plan, force: bool) -> None:
    overrun = late(event, the_plan)
    if overrun and not force:
        refuse("minutes", f"Sessions {overrun} would run past the end of their day; "
                          "send force to accept it.")


def delay(event: Event, actor: Attendee, session: Session, minutes: int,
          shift_following: bool, force: bool, note: str | None) -> ScheduleVersion:
    """Running late: the session (and, when asked, what follows it in that room that
    day) moves; breaks absorb the delay first. One release, at once."""
    origin = {"action": "session.delay", "session_id": session.id, "minutes": minutes,
              "shift_following": shift_following, "by": actor.id if actor else None}
    hold(event)
    again = repeated(event, origin)
    if again is not None:
        return again
    the_plan = plan_delay(event, session, minutes, shift_following)
    refuse_late(event, the_plan, force)
    if note is None:
        note = f"Running late: {session.title} starts {minutes} minutes later" + (
            ", and what follows it in the room" if len(the_plan.sessions) > 1 else "")
    version = release(event, actor, note, the_plan, action="session.delay",
                      subject=f"session:{session.id}", origin=origin)
    rebase_draft(event, {sid: {k: state[k] for k in ("starts_at", "ends_at")}
                         for sid, state in the_plan.sessions.items()})
    return version


def shifted(value: str, days: int, zone: str, offset: timedelta = timedelta(0)) -> str:
    """The same local wall-clock time ``days`` later (the offset worked out that day),
    then ``offset`` later still."""
    local = instant(value).astimezone(ZoneInfo(zone))
    return iso(local_to_utc(local.date() + timedelta(days=days),
                            local.time().replace(tzinfo=None), zone) + offset)


def move_event(event: Event, actor: Attendee | None, days: int, online: dict,
               note: str | None, offset: timedelta = timedelta(0)) -> ScheduleVersion:
    """Move the whole event by days (same local times) and/or online (``online_url`` on
    every session): one release. ``online`` is {} to leave links, else {"online_url": v}.
    ``offset`` moves every session by that much more (a rehearsal), the days with them."""
    if not days and not online and not offset:
        refuse("days", "Give days, online_url or both.")
    hold(event)

    def moved(state: dict) -> dict:
        change = dict(online)
        if days or offset:
            change["starts_at"] = shifted(state["starts_at"], days, event.timezone, offset)
            change["ends_at"] = shifted(state["ends_at"], days, event.timezone, offset)
        return {**state, **change}

    states = {sid: moved(session_state(session))
              for sid, session in live_sessions(event).items()}
    before = {"starts_on": event.starts_on.isoformat(), "ends_on": event.ends_on.isoformat()}
    if offset and states:  # the event days of the first start and the last end
        event.starts_on = event_day(event, min(instant(s["starts_at"]) for s in states.values()))
        event.ends_on = event_day(event, max(instant(s["ends_at"]) for s in states.values())
                                  - timedelta(microseconds=1))
    elif days:
        event.starts_on = event.starts_on + timedelta(days=days)
        event.ends_on = event.ends_on + timedelta(days=days)
    if note is None:
        parts = []
        if days or offset:
            parts.append(f"The event moves to {event.starts_on.isoformat()}")
        if online.get("online_url"):
            parts.append("The event moves online")
        elif online:
            parts.append("Online links removed")
        note = "; ".join(parts)
    the_plan = plan(event, states, {})
    version = release(event, actor, note, the_plan, action="event.move",
                      subject=f"event:{event.slug}")
    for edit in draft_edits(event, "session"):
        if edit.state is not None:
            edit.state = moved(edit.state)
    record(event, actor, "event.dates", f"event:{event.slug}", before,
           {"starts_on": event.starts_on.isoformat(), "ends_on": event.ends_on.isoformat()})
    return version


