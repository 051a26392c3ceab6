"""Releasing: a plan (`changelog.Plan`) becomes the next numbered version of the schedule.

A release (``publish``, ``delays.delay``, ``delays.move_event``) in one transaction:
1. writes the changelog of each changed item against the live state (`changelog.plan`);
2. finds who is affected while the rows are still there (`affected`);
3. applies the new states to the live tables (`apply`);
4. numbers a `ScheduleVersion` with the note and the changelog;
5. sends ``schedule_released`` (companion.signals): notifications re-plans reminders and
   queues one push per affected attendee, in this same transaction;
6. records the action in the audit log.
Nothing here commits: the request (or command) does.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_smorest import abort
from sqlalchemy import Select, bindparam, delete, func, select, text, update

from ..extensions import db
from ..organising.audit import record
from ..people.agenda import ROLE_REASONS, agendas
from ..people.models import Attendee, Bookmark
from ..signals import schedule_released
from ..timeutil import utcnow
from .changelog import PRIORITY, Plan, draft_plan
from .models import DraftEdit, Event, Room, ScheduleVersion, Session, SessionPerson
from .operations import sessions_query
from .states import ROLES, ROOM_FIELDS, live_rooms, live_sessions, session_state, set_session


def released_version(event_id) -> Select:
    """The number of the event's latest release (0 before the first), for ``event_id``
    a value, a bound parameter or a column of an outer query (as a scalar subquery)."""
    return (select(func.coalesce(func.max(ScheduleVersion.number), 0))
            .where(ScheduleVersion.event_id == event_id))


# Built once: a call only binds the event.
CURRENT_VERSION = released_version(bindparam("event_id"))


def current_version(event: Event) -> int:
    return db.session.scalar(CURRENT_VERSION, {"event_id": event.id})


# --- who is affected -----------------------------------------------------------------

@dataclass
class Affected:
    """By attendee id: the ids of the changed sessions that concern them, and who among
    them must be told whatever their preferences (people of a changed session)."""

    sessions: dict[int, list[int]] = field(default_factory=dict)
    always: set[int] = field(default_factory=set)
    # By session id: what a push says of it ({"change", "title", "starts_at",
    # "timezone", "room", "session_id"}), the change that matters most first.
    summaries: dict[int, dict] = field(default_factory=dict)
    # By session id (those still on after the release, not cancelled): who has it on
    # their agenda afterwards, and whether as its speaker or moderator (for reminders).
    agendas: dict[int, dict[int, bool]] = field(default_factory=dict)
    # By session id (those live before the release): when it started then, which the
    # keys of its pending reminders name.
    starts: dict[int, datetime] = field(default_factory=dict)

    def add(self, attendee_id: int, session_id: int) -> None:
        listed = self.sessions.setdefault(attendee_id, [])
        if session_id not in listed:
            listed.append(session_id)


def affected(event: Event, the_plan: Plan) -> Affected:
    """Who has each changed session on their agenda before or after the release
    (`people.agenda.agendas`: followers, speakers and moderators, everyone for the kinds
    the event reminds everyone of unless they muted it). Found before the release touches
    the rows (a removed session's followers go with it). A handful of queries however
    many attendees."""
    changed = [entry["session_id"] for entry in the_plan.changes if entry["session_id"]]
    result = Affected()
    if not changed:
        return result
    live = live_sessions(event, changed)
    found = agendas(event, {
        session_id: (session_state(live[session_id]) if session_id in live else None,
                     the_plan.sessions.get(session_id))
        for session_id in changed})
    for session_id in changed:
        before, after = found[session_id]
        if session_id in live:
            result.starts[session_id] = live[session_id].starts_at
        for attendee_id in sorted(before.keys() | after.keys()):
            result.add(attendee_id, session_id)
        result.always.update(attendee_id for agenda in (before, after)
                             for attendee_id, reasons in agenda.items() if reasons & ROLE_REASONS)
        state = the_plan.sessions.get(session_id)
        if state is not None and state["status"] != "cancelled":
            result.agendas[session_id] = {attendee_id: bool(reasons & ROLE_REASONS)
                                          for attendee_id, reasons in after.items()}
    result.summaries = summaries(event, the_plan, live)
    return result


def summaries(event: Event, the_plan: Plan, live: dict[int, Session]) -> dict[int, dict]:
    """By changed session id: what a push says of it (`Affected.summaries`)."""
    names = {room_id: room.name for room_id, room in live_rooms(event).items()}
    names.update({room_id: state["name"] for room_id, state in the_plan.rooms.items()
                  if state is not None})
    found = {}
    for entry in the_plan.changes:
        session_id = entry["session_id"]
        if not session_id:
            continue
        state = the_plan.sessions.get(session_id) or session_state(live[session_id])
        kinds = [change["kind"] for change in entry["changes"]]
        found[session_id] = {
            "change": min(kinds, key=PRIORITY.index), "title": state["title"],
            "starts_at": state["starts_at"], "timezone": event.timezone,
            "room": names.get(state.get("room_id")), "session_id": session_id,
        }
    return found


# --- releasing -----------------------------------------------------------------------

def apply(event: Event, the_plan: Plan) -> tuple[list[Session], list[int]]:
    """Write the new states into the live tables; the live sessions changed, and the
    ids of the removed ones."""
    live_r = live_rooms(event)
    inserted = {"rooms": apply_rooms(event, the_plan, live_r)}
    db.session.flush()
    changed, removed, inserted["sessions"] = apply_sessions(event, the_plan)
    db.session.flush()
    if removed:
        db.session.execute(delete(Bookmark).where(Bookmark.session_id.in_(removed)))
        db.session.execute(delete(SessionPerson).where(SessionPerson.session_id.in_(removed)))
        db.session.execute(delete(Session).where(Session.id.in_(removed)))
    gone = [room_id for room_id, state in the_plan.rooms.items()
            if state is None and room_id in live_r]
    if gone:
        db.session.execute(delete(Room).where(Room.id.in_(gone)))
    if db.session.get_bind().dialect.name == "postgresql":
        for table, done in inserted.items():
            if done:  # ids written by hand: move the sequence past them
                db.session.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"))
    db.session.expire_all()
    return changed, removed


def apply_rooms(event: Event, the_plan: Plan, live_r: dict[int, Room]) -> bool:
    """Write the new and changed rooms; whether any was inserted."""
    inserted = False
    for room_id, state in the_plan.rooms.items():
        if state is None:
            continue
        room = live_r.get(room_id)
        if room is None:
            room = Room(id=room_id, event_id=event.id)
            db.session.add(room)
            inserted = True
        for name in ROOM_FIELDS:
            setattr(room, name, state.get(name))
    return inserted


def apply_sessions(event: Event, the_plan: Plan) -> tuple[list[Session], list[int], bool]:
    """Write the new and changed sessions with their people; those, the ids of the
    sessions to remove, and whether any was inserted."""
    live_s = live_sessions(event, the_plan.sessions)
    changed, removed, inserted = [], [], False
    for session_id, state in the_plan.sessions.items():
        session = live_s.get(session_id)
        if state is None:
            if session is not None:
                removed.append(session_id)
            continue
        if session is None:
            session = Session(id=session_id, event_id=event.id)
            db.session.add(session)
            inserted = True
        set_session(session, state)
        people = [(role, attendee_id) for name, role in ROLES.items()
                  for attendee_id in state.get(name) or []]
        wanted = {(role, attendee_id): position
                  for position, (role, attendee_id) in enumerate(people)}
        session.people = [
            SessionPerson(session_id=session_id, attendee_id=attendee_id, role=role,
                          position=position)
            for (role, attendee_id), position in wanted.items()
        ]
        changed.append(session)
    return changed, removed, inserted


def hold(event: Event) -> None:
    """Take the event's release lock until the transaction ends: releases of one event
    happen one at a time, each planned from what the one before it released.

    PostgreSQL: a row lock on the event. SQLite: a write to it, which waits for the
    writer before it (pysqlite begins the transaction at the first write, so nothing
    read before it is stale). What the session holds is read again after it."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(Event.id).where(Event.id == event.id).with_for_update())
    else:
        db.session.execute(update(Event).where(Event.id == event.id)
                           .values(live_generation=Event.live_generation))
    db.session.expire_all()


# A request that asks for the same release as the newest one (a double click on "running
# late 5 minutes") within this long gets that release's answer instead of a second one.
REPEAT_WINDOW = timedelta(seconds=60)


def repeated(event: Event, origin: dict) -> ScheduleVersion | None:
    """The newest release, when the same request made it moments ago (called holding
    the event's lock)."""
    newest = db.session.scalar(versions_query(event).limit(1))
    if newest is not None and newest.origin == origin \
            and newest.released_at > utcnow() - REPEAT_WINDOW:
        return newest
    return None


def release(event: Event, actor: Attendee | None, note: str | None, the_plan: Plan,
            action: str = "schedule.publish", subject: str | None = None,
            origin: dict | None = None) -> ScheduleVersion:
    """Apply a plan as the next numbered version and announce it (see the module).
    The caller holds the event's lock (`hold`) since before it planned."""
    if not the_plan.changes:
        abort(409, message="Nothing to release: the draft changes nothing.")
    audience = affected(event, the_plan)
    changed, removed = apply(event, the_plan)
    version = ScheduleVersion(
        event_id=event.id, number=current_version(event) + 1, note=note,
        changes=the_plan.changes,
        session_ids=sorted({e["session_id"] for e in the_plan.changes if e["session_id"]}),
        released_by_id=actor.id if actor else None, origin=origin,
    )
    db.session.add(version)
    db.session.flush()
    notified = 0
    for _, outcome in schedule_released.send(event, version=version, sessions=changed,
                                             removed=removed, affected=audience):
        notified += getattr(outcome, "queued", 0) or 0
    version.notified = notified
    record(event, actor, action, subject or f"version:{version.number}",
           None, {"version": version.number, "note": note, "changes": the_plan.changes},
           recipients=notified)
    return version


def publish(event: Event, actor: Attendee | None, note: str | None) -> ScheduleVersion:
    """Release the draft. Two organisers clicking at once: the second finds nothing
    left to release (409)."""
    hold(event)
    the_plan = draft_plan(event)
    version = release(event, actor, note, the_plan)
    db.session.execute(delete(DraftEdit).where(DraftEdit.event_id == event.id))
    return version


def changes_since(event: Event, since: int) -> tuple[int, list[Session], list[int]]:
    """The current version, the sessions changed since version ``since`` (as they are
    now) and the ids of those removed since."""
    ids: set[int] = set()
    for session_ids in db.session.scalars(
        select(ScheduleVersion.session_ids).where(ScheduleVersion.event_id == event.id,
                                                  ScheduleVersion.number > since)
    ):
        ids.update(session_ids)
    sessions = list(db.session.scalars(sessions_query(event).where(Session.id.in_(ids)))) \
        if ids else []
    present = {session.id for session in sessions}
    return current_version(event), sessions, sorted(ids - present)


def versions_query(event: Event):
    return (select(ScheduleVersion).where(ScheduleVersion.event_id == event.id)
            .order_by(ScheduleVersion.number.desc()))
