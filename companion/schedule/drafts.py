"""Organisers' edits, kept as a draft until a release applies them to the live tables.

The live tables (events, rooms, sessions, session_people) are the RELEASED schedule:
every public read, export, personal agenda and reminder works from them. An edit is a
`DraftEdit` holding the whole new state of one session or room (null: deleted; see
`states`). Edits are checked here; `releasing.publish` applies the draft.
Nothing here commits: the request (or command) does.
"""

import uuid
from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from flask_smorest import abort
from sqlalchemy import delete, func, select

from ..db import dialect_insert, upsert
from ..extensions import db
from ..organising.audit import record
from ..people.models import Attendee
from ..timeutil import utcnow
from .days import event_bounds
from .models import DraftEdit, Event, Room, Session
from .states import (NEW_SESSION, ROOM_FIELDS, instant, iso, live_rooms, live_sessions,
                     room_state, session_state)


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


def drafted(event: Event, target: str) -> dict[int, dict]:
    """The event's sessions or rooms as the next release will have them, by id."""
    if target == "session":
        items = {sid: session_state(s) for sid, s in live_sessions(event).items()}
    else:
        items = {room_id: room_state(room) for room_id, room in live_rooms(event).items()}
    for edit in draft_edits(event, target):
        if edit.state is None:
            items.pop(edit.target_id, None)
        else:
            items[edit.target_id] = edit.state
    return items


def draft_rooms(event: Event) -> dict[int, dict]:
    return drafted(event, "room")


def draft_sessions(event: Event) -> dict[int, dict]:
    return drafted(event, "session")


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


