"""Organisers' edits, kept as a draft until a release applies them to the live tables.

The live tables (events, rooms, sessions, session_people) are the RELEASED schedule:
every public read, export, personal agenda and reminder works from them. An edit is a
`DraftEdit` holding the whole new state of one session or room (null: deleted).

A release (``publish``, ``delay``, ``move_event``) in one transaction:
1. writes the changelog of each changed item against the live state (`diff_session`);
2. finds who is affected while the rows are still there (`affected`);
3. applies the new states to the live tables;
4. numbers a `ScheduleVersion` with the note and the changelog;
5. sends ``schedule_released`` (companion.signals): notifications re-plans reminders and
   queues one push per affected attendee, in this same transaction;
6. records the action in the audit log.
Nothing here commits: the request (or command) does.
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from flask_smorest import abort
from sqlalchemy import Select, bindparam, delete, func, select, text, update
from sqlalchemy.orm import selectinload

from ..db import dialect_insert, upsert
from ..extensions import db
from ..organising.audit import record
from ..people.models import Attendee, Bookmark
from ..signals import schedule_released
from ..timeutil import local_to_utc, utcnow
from .days import day_bounds, event_bounds, event_day
from .models import DraftEdit, Event, Room, ScheduleVersion, Session, SessionPerson
from .operations import sessions_query

UTC = timezone.utc
# What a new session is, before the fields its creator gives.
NEW_SESSION = {"key": None, "description": None, "topics": [], "room_id": None,
               "status": "scheduled", "online_url": None, "language": None, "speakers": [],
               "speaker_names": [], "moderators": []}
SESSION_FIELDS = ("key", "guid", "kind", "title", "description", "topics", "starts_at",
                  "ends_at", "room_id", "status", "online_url", "language", "speakers",
                  "speaker_names", "moderators")
ROOM_FIELDS = ("key", "name", "building", "address", "floor", "capacity", "accessibility",
               "interpretation", "directions", "map_url", "facilities")
BREAKS = ("break", "lunch")
# A break squeezed by a delay keeps at least this long (a floor manager's minimum).
BREAK_MINIMUM = timedelta(minutes=5)
# Which change a session's followers hear of first, when several happened to it.
PRIORITY = ("removed", "cancelled", "uncancelled", "added", "moved", "room_changed",
            "retimed", "retitled", "online_link_changed", "speakers_changed",
            "moderators_changed", "description_changed", "details_changed")


# --- states: what a session or a room is, as plain JSON ------------------------------

def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def session_state(session: Session) -> dict:
    return {
        "key": session.key, "guid": session.guid, "kind": session.kind, "title": session.title,
        "description": session.description, "topics": list(session.topics or []),
        "starts_at": iso(session.starts_at), "ends_at": iso(session.ends_at),
        "room_id": session.room_id, "status": session.status, "online_url": session.online_url,
        "language": session.language, "speaker_names": list(session.speaker_names or []),
        "speakers": [p.attendee_id for p in session.people if p.role == "speaker"],
        "moderators": [p.attendee_id for p in session.people if p.role == "moderator"],
    }


def room_state(room: Room) -> dict:
    return {name: getattr(room, name) for name in ROOM_FIELDS}


def live_sessions(event: Event, ids=None) -> dict[int, Session]:
    """The released sessions (those of ``ids`` only, when given), their people with them
    (`session_state` reads them)."""
    query = select(Session).where(Session.event_id == event.id)
    if ids is not None:
        query = query.where(Session.id.in_(list(ids)))
    return {s.id: s for s in db.session.scalars(query.options(selectinload(Session.people)))}


def live_rooms(event: Event) -> dict[int, Room]:
    return {r.id: r for r in db.session.scalars(select(Room).where(Room.event_id == event.id))}


def draft_edits(event: Event, target: str | None = None) -> list[DraftEdit]:
    query = select(DraftEdit).where(DraftEdit.event_id == event.id)
    if target is not None:
        query = query.where(DraftEdit.target == target)
    return list(db.session.scalars(query.order_by(DraftEdit.target, DraftEdit.target_id)))


def draft_edit(target: str, target_id: int) -> DraftEdit | None:
    return db.session.get(DraftEdit, (target, target_id))


def drafted_state(event: Event, target: str, target_id: int) -> tuple[dict | None, bool]:
    """The item as the next release will have it, and whether it is live already.
    404 when it exists in neither."""
    model, as_state = (Session, session_state) if target == "session" else (Room, room_state)
    live = db.session.get(model, target_id)
    if live is not None and live.event_id != event.id:
        live = None
    edit = draft_edit(target, target_id)
    if edit is not None and edit.event_id == event.id:
        if edit.state is None:
            abort(404, message=f"{target.capitalize()} {target_id} is deleted in the draft")
        return dict(edit.state), live is not None
    if live is None:
        abort(404, message=f"{target.capitalize()} {target_id} not found")
    return as_state(live), True


def next_id(target: str) -> int:
    """A fresh id from the live table's number space, not taken by a draft either."""
    model = Session if target == "session" else Room
    live = db.session.scalar(select(func.max(model.id))) or 0
    drafted = db.session.scalar(
        select(func.max(DraftEdit.target_id)).where(DraftEdit.target == target)
    ) or 0
    return max(live, drafted) + 1


# Tries at a fresh id before a create gives up with a 409 (each loses only to a create
# that committed meanwhile).
NEW_ID_ATTEMPTS = 5


def put_draft(event: Event, target: str, target_id: int, state: dict | None) -> None:
    """The item's draft edit, written whether or not another request wrote one for it
    meanwhile (the last edit wins, as it would one after the other)."""
    edit = draft_edit(target, target_id)
    if edit is None:
        upsert(DraftEdit, {"target": target, "target_id": target_id, "event_id": event.id,
                           "state": state, "updated_at": utcnow()},
               keys=["target", "target_id"], update=["state", "updated_at"])
    else:
        edit.state = state
    db.session.flush()


def new_draft(event: Event, target: str, state: dict) -> int:
    """A new item's draft edit under a fresh id, and that id. Two requests creating at
    once pick the same id: the one that writes second takes the next one."""
    for _ in range(NEW_ID_ATTEMPTS):
        target_id = next_id(target)
        written = db.session.execute(
            dialect_insert(DraftEdit).values(
                target=target, target_id=target_id, event_id=event.id, state=state,
                updated_at=utcnow())
            .on_conflict_do_nothing(index_elements=["target", "target_id"])
            .returning(DraftEdit.target_id)).first()
        if written is not None:  # nothing returned: that id was taken meanwhile
            return target_id
    abort(409, message=f"Other {target}s are being added right now; send it again.")


def drop_draft(target: str, target_id: int) -> None:
    db.session.execute(delete(DraftEdit).where(DraftEdit.target == target,
                                               DraftEdit.target_id == target_id))


def draft_rooms(event: Event) -> dict[int, dict]:
    """The rooms as the next release will have them."""
    rooms = {room_id: room_state(room) for room_id, room in live_rooms(event).items()}
    for edit in draft_edits(event, "room"):
        if edit.state is None:
            rooms.pop(edit.target_id, None)
        else:
            rooms[edit.target_id] = edit.state
    return rooms


def draft_sessions(event: Event) -> dict[int, dict]:
    sessions = {sid: session_state(s) for sid, s in live_sessions(event).items()}
    for edit in draft_edits(event, "session"):
        if edit.state is None:
            sessions.pop(edit.target_id, None)
        else:
            sessions[edit.target_id] = edit.state
    return sessions


def shown(event: Event, target_id: int, state: dict, released: bool) -> SimpleNamespace:
    """A drafted item as the schemas dump it (times in the event's zone)."""
    values = dict(state)
    for name in ("starts_at", "ends_at"):
        if name in values:
            values[name] = instant(values[name])
    return SimpleNamespace(id=target_id, released=released, timezone=event.timezone, **values)


# --- editing ---------------------------------------------------------------------

def refuse(field_name: str, message: str):
    abort(422, message="The request is not valid.", errors={field_name: [message]})


def check_session(event: Event, state: dict, force: bool) -> None:
    """422 naming the field: ends after it starts, inside the event's days (unless
    ``force``), a known room, known attendees of the event as its people."""
    starts, ends = instant(state["starts_at"]), instant(state["ends_at"])
    if ends <= starts:
        refuse("ends_at", "A session ends after it starts.")
    zone = ZoneInfo(event.timezone)
    first, last = event_bounds(event)
    if not force and not (first <= starts and ends <= last):
        days = f"{event.starts_on.isoformat()} to {event.ends_on.isoformat()}"
        name = "starts_at" if not first <= starts < last else "ends_at"
        refuse(name, f"Outside the event's days ({days}, {zone.key}); send force to "
                     "accept it.")
    if state.get("room_id") is not None and state["room_id"] not in draft_rooms(event):
        refuse("room_id", f"No room {state['room_id']} in this event.")
    for role in ("speakers", "moderators"):
        ids = state.get(role) or []
        if len(set(ids)) != len(ids):
            refuse(role, "An attendee is listed twice.")
        if ids:
            known = set(db.session.scalars(
                select(Attendee.id).where(Attendee.event_id == event.id, Attendee.id.in_(ids))
            ))
            unknown = [i for i in ids if i not in known]
            if unknown:
                refuse(role, f"Not attendees of this event: {unknown}.")


def as_state(values: dict) -> dict:
    """Edit input (aware datetimes) as stored state (UTC ISO strings)."""
    state = dict(values)
    state.pop("force", None)
    for name in ("starts_at", "ends_at"):
        if isinstance(state.get(name), datetime):
            state[name] = iso(state[name])
    return state


def create_session(event: Event, actor: Attendee, values: dict) -> SimpleNamespace:
    force = values.get("force", False)
    state = {**NEW_SESSION, "guid": str(uuid.uuid4()), **as_state(values)}
    check_session(event, state, force)
    session_id = new_draft(event, "session", state)
    record(event, actor, "session.create", f"session:{session_id}", None, state)
    return shown(event, session_id, state, released=False)


def moved(before: dict, values: dict) -> dict:
    """A lone ``starts_at`` moves the session and keeps its length; sent with ``ends_at``
    (or with only ``ends_at``), the times are as sent."""
    if "starts_at" not in values or "ends_at" in values:
        return values
    length = instant(before["ends_at"]) - instant(before["starts_at"])
    try:
        return {**values, "ends_at": values["starts_at"] + length}
    except OverflowError:
        refuse("starts_at", "The session would end after the year 9999.")


def update_session(event: Event, actor: Attendee, session_id: int,
                   values: dict) -> SimpleNamespace:
    before, released = drafted_state(event, "session", session_id)
    force = values.get("force", False)
    state = {**before, **as_state(moved(before, values))}
    check_session(event, state, force)
    put_draft(event, "session", session_id, state)
    record(event, actor, "session.update", f"session:{session_id}", before, state)
    return shown(event, session_id, state, released)


def delete_session(event: Event, actor: Attendee, session_id: int) -> None:
    before, released = drafted_state(event, "session", session_id)
    if released:
        put_draft(event, "session", session_id, None)
    else:
        drop_draft("session", session_id)
    record(event, actor, "session.delete", f"session:{session_id}", before, None)


def create_room(event: Event, actor: Attendee, values: dict) -> SimpleNamespace:
    state = {name: None for name in ROOM_FIELDS} | values
    room_id = new_draft(event, "room", state)
    record(event, actor, "room.create", f"room:{room_id}", None, state)
    return shown(event, room_id, state, released=False)


def update_room(event: Event, actor: Attendee, room_id: int, values: dict) -> SimpleNamespace:
    before, released = drafted_state(event, "room", room_id)
    state = {**before, **values}
    put_draft(event, "room", room_id, state)
    record(event, actor, "room.update", f"room:{room_id}", before, state)
    return shown(event, room_id, state, released)


def delete_room(event: Event, actor: Attendee, room_id: int) -> None:
    before, released = drafted_state(event, "room", room_id)
    used = sorted(sid for sid, state in draft_sessions(event).items()
                  if state.get("room_id") == room_id)
    if used:
        abort(409, message=f"Room {room_id} still has sessions in the draft: {used}; "
                           "move them first.")
    if released:
        put_draft(event, "room", room_id, None)
    else:
        drop_draft("room", room_id)
    record(event, actor, "room.delete", f"room:{room_id}", before, None)


# --- the changelog -----------------------------------------------------------------

def local_iso(value: str | None, zone: str) -> str | None:
    return None if value is None else instant(value).astimezone(ZoneInfo(zone)).isoformat()


def minutes(state: dict) -> int:
    return int((instant(state["ends_at"]) - instant(state["starts_at"])).total_seconds() // 60)


def details(state: dict) -> dict:
    """What a ``details_changed`` entry names of a session."""
    return {"kind": state["kind"], "topics": list(state.get("topics") or []),
            "language": state.get("language")}


def people_of(state: dict, role: str) -> list:
    """A session's speakers or moderators as its changelog names them: attendee ids, then
    (speakers) the names an imported schedule gives."""
    people = list(state.get(role) or [])
    if role == "speakers":
        people += list(state.get("speaker_names") or [])
    return people


def diff_session(event: Event, session_id: int, before: dict | None, after: dict | None,
                 room_names: dict[int, str]) -> dict | None:
    """The changelog entry of one session, or None when nothing shown changed."""
    zone = event.timezone
    changes = []

    def change(kind: str, old=None, new=None):
        changes.append({"kind": kind, "old": old, "new": new})

    if before is None and after is None:
        return None
    if before is None:
        change("added", None, local_iso(after["starts_at"], zone))
    elif after is None:
        change("removed", local_iso(before["starts_at"], zone), None)
    else:
        if before["status"] != after["status"]:
            change("cancelled" if after["status"] == "cancelled" else "uncancelled",
                   before["status"], after["status"])
        if before["starts_at"] != after["starts_at"]:
            change("moved", local_iso(before["starts_at"], zone),
                   local_iso(after["starts_at"], zone))
        if minutes(before) != minutes(after):
            change("retimed", minutes(before), minutes(after))
        if before.get("room_id") != after.get("room_id"):
            change("room_changed", room_names.get(before.get("room_id")),
                   room_names.get(after.get("room_id")))
        if before["title"] != after["title"]:
            change("retitled", before["title"], after["title"])
        if (before.get("description") or None) != (after.get("description") or None):
            change("description_changed", before.get("description"), after.get("description"))
        for role in ("speakers", "moderators"):
            old, new = people_of(before, role), people_of(after, role)
            if old != new:
                change(f"{role}_changed", old, new)
        if before.get("online_url") != after.get("online_url"):
            change("online_link_changed", before.get("online_url"), after.get("online_url"))
        if details(before) != details(after):
            change("details_changed", details(before), details(after))
    if not changes:
        return None
    state = after or before
    return {"session_id": session_id, "room_id": None, "title": state["title"],
            "changes": changes}


def diff_room(room_id: int, before: dict | None, after: dict | None) -> dict | None:
    if before is None and after is None:
        return None
    if before is None:
        changes = [{"kind": "room_added", "old": None, "new": after["name"]}]
    elif after is None:
        changes = [{"kind": "room_removed", "old": before["name"], "new": None}]
    else:
        fields = sorted(name for name in ROOM_FIELDS if before.get(name) != after.get(name))
        if not fields:
            return None
        changes = [{"kind": "room_changed", "old": {n: before.get(n) for n in fields},
                    "new": {n: after.get(n) for n in fields}}]
    return {"session_id": None, "room_id": room_id, "title": (after or before)["name"],
            "changes": changes}


@dataclass
class Plan:
    """What a release would do: new states by item, and the changelog."""

    sessions: dict[int, dict | None] = field(default_factory=dict)
    rooms: dict[int, dict | None] = field(default_factory=dict)
    changes: list[dict] = field(default_factory=list)


def plan(event: Event, sessions: dict[int, dict | None],
         rooms: dict[int, dict | None]) -> Plan:
    """The changelog of these new states against the live (released) ones."""
    live_s, live_r = live_sessions(event, sessions), live_rooms(event)
    names = {room_id: room.name for room_id, room in live_r.items()}
    names.update({room_id: state["name"] for room_id, state in rooms.items() if state})
    result = Plan(sessions=sessions, rooms=rooms)
    for room_id in sorted(rooms):
        live = live_r.get(room_id)
        entry = diff_room(room_id, room_state(live) if live else None, rooms[room_id])
        if entry:
            result.changes.append(entry)
    session_entries = []
    for session_id in sessions:
        live = live_s.get(session_id)
        entry = diff_session(event, session_id, session_state(live) if live else None,
                             sessions[session_id], names)
        if entry:
            state = sessions[session_id] or session_state(live)
            session_entries.append((state["starts_at"], session_id, entry))
    result.changes.extend(entry for *_, entry in sorted(session_entries))
    return result


def draft_plan(event: Event) -> Plan:
    sessions, rooms = {}, {}
    for edit in draft_edits(event):
        (sessions if edit.target == "session" else rooms)[edit.target_id] = edit.state
    return plan(event, sessions, rooms)


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
    """Followers of each changed session, its speakers and moderators (before and after),
    and everyone for the kinds the event reminds everyone of, unless they muted it.
    Found before the release touches the rows (a removed session's followers go with it).
    A handful of queries however many attendees."""
    changed = [entry["session_id"] for entry in the_plan.changes if entry["session_id"]]
    result = Affected()
    if not changed:
        return result
    live = live_sessions(event, changed)
    following: dict[int, set[int]] = {}
    muted: dict[int, set[int]] = {}
    for attendee_id, session_id, follows in db.session.execute(
        select(Bookmark.attendee_id, Bookmark.session_id, Bookmark.following)
        .where(Bookmark.session_id.in_(changed))
    ):
        (following if follows else muted).setdefault(session_id, set()).add(attendee_id)
    people: dict[int, set[int]] = {}
    for attendee_id, session_id in db.session.execute(
        select(SessionPerson.attendee_id, SessionPerson.session_id)
        .where(SessionPerson.session_id.in_(changed))
    ):
        people.setdefault(session_id, set()).add(attendee_id)
    defaults = set(event.reminder_kinds or [])
    everyone: list[int] | None = None
    for session_id in changed:
        after = the_plan.sessions.get(session_id)
        before = live.get(session_id)
        if before is not None:
            result.starts[session_id] = before.starts_at
        kinds = {state["kind"] for state in (after,) if state} | (
            {before.kind} if before is not None else set())
        own = set(people.get(session_id, ())) | set((after or {}).get("speakers") or []) | set(
            (after or {}).get("moderators") or [])
        audience = set(following.get(session_id, ()))
        if kinds & defaults:
            if everyone is None:
                everyone = list(db.session.scalars(
                    select(Attendee.id).where(Attendee.event_id == event.id)))
            audience.update(everyone)
            audience -= muted.get(session_id, set())
        audience |= own
        result.always |= own
        for attendee_id in sorted(audience):
            result.add(attendee_id, session_id)
        if after is not None and after["status"] != "cancelled":
            roles = set(after.get("speakers") or []) | set(after.get("moderators") or [])
            agenda = {attendee_id: False for attendee_id in following.get(session_id, ())}
            if after["kind"] in defaults:
                agenda.update((attendee_id, False) for attendee_id in everyone or ()
                              if attendee_id not in muted.get(session_id, ()))
            agenda.update((attendee_id, True) for attendee_id in roles)
            result.agendas[session_id] = agenda
    names = {room_id: room.name for room_id, room in live_rooms(event).items()}
    names.update({room_id: state["name"] for room_id, state in the_plan.rooms.items()
                  if state is not None})
    for entry in the_plan.changes:
        session_id = entry["session_id"]
        if not session_id:
            continue
        state = the_plan.sessions.get(session_id) or session_state(live[session_id])
        kinds = [change["kind"] for change in entry["changes"]]
        result.summaries[session_id] = {
            "change": min(kinds, key=PRIORITY.index), "title": state["title"],
            "starts_at": state["starts_at"], "timezone": event.timezone,
            "room": names.get(state.get("room_id")), "session_id": session_id,
        }
    return result


# --- releasing -----------------------------------------------------------------------

def apply(event: Event, the_plan: Plan) -> tuple[list[Session], list[int]]:
    """Write the new states into the live tables; the live sessions changed, and the
    ids of the removed ones."""
    live_r = live_rooms(event)
    inserted = {"rooms": False, "sessions": False}
    for room_id, state in the_plan.rooms.items():
        if state is None:
            continue
        room = live_r.get(room_id)
        if room is None:
            room = Room(id=room_id, event_id=event.id)
            db.session.add(room)
            inserted["rooms"] = True
        for name in ROOM_FIELDS:
            setattr(room, name, state.get(name))
    db.session.flush()
    live_s = live_sessions(event, the_plan.sessions)
    changed, removed = [], []
    for session_id, state in the_plan.sessions.items():
        session = live_s.get(session_id)
        if state is None:
            if session is not None:
                removed.append(session_id)
            continue
        if session is None:
            session = Session(id=session_id, event_id=event.id)
            db.session.add(session)
            inserted["sessions"] = True
        for name in SESSION_FIELDS:
            if name in ("speakers", "moderators"):
                continue
            value = state.get(name)
            if name in ("starts_at", "ends_at"):
                value = instant(value)
            setattr(session, name, value)
        people = [("speaker", i) for i in state.get("speakers") or []] + [
            ("moderator", i) for i in state.get("moderators") or []]
        wanted = {(role, attendee_id): position
                  for position, (role, attendee_id) in enumerate(people)}
        session.people = [
            SessionPerson(session_id=session_id, attendee_id=attendee_id, role=role,
                          position=position)
            for (role, attendee_id), position in wanted.items()
        ]
        changed.append(session)
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


def rebase_draft(event: Event, moved: dict[int, dict]) -> None:
    """Carry a direct release into pending draft edits of the same sessions, so that
    the next publish does not undo it."""
    for edit in draft_edits(event, "session"):
        if edit.state is not None and edit.target_id in moved:
            edit.state = {**edit.state, **moved[edit.target_id]}


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
    delta = timedelta(minutes=minutes)
    moves: dict[int, tuple[datetime, datetime]] = {
        session.id: (session.starts_at + delta, session.ends_at + delta)
    }
    if shift_following:
        day = event_day(event, session.starts_at)
        following = [
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
        previous_end = moves[session.id][1]
        for other in following:
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
    late = [sid for sid, (starts, ends) in moves.items()
            if ends > day_bounds(event, event_day(event, db.session.get(Session, sid)
                                                  .starts_at))[1]]
    if late and not force:
        refuse("minutes", f"Sessions {sorted(late)} would run past the end of their day; "
                          "send force to accept it.")
    states = {}
    for sid, (starts, ends) in moves.items():
        state = session_state(db.session.get(Session, sid))
        states[sid] = {**state, "starts_at": iso(starts), "ends_at": iso(ends)}
    if note is None:
        note = f"Running late: {session.title} starts {minutes} minutes later" + (
            ", and what follows it in the room" if len(moves) > 1 else "")
    the_plan = plan(event, states, {})
    version = release(event, actor, note, the_plan, action="session.delay",
                      subject=f"session:{session.id}", origin=origin)
    rebase_draft(event, {sid: {k: states[sid][k] for k in ("starts_at", "ends_at")}
                         for sid in states})
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
