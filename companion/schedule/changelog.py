"""The changelog of a release: what changed in each session and room against the live
(released) schedule, as the versions keep it and pushes tell it."""

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from .drafts import draft_edits
from .models import Event
from .states import (ROOM_FIELDS, SESSION, SESSION_BY_NAME, instant, live_rooms, live_sessions,
                     room_state, session_state)

# Which change a session's followers hear of first, when several happened to it.
PRIORITY = ("removed", "cancelled", "uncancelled", "added", "moved", "room_changed",
            "retimed", "retitled", "online_link_changed", "speakers_changed",
            "moderators_changed", "description_changed", "details_changed")


def local_iso(value: str | None, zone: str) -> str | None:
    return None if value is None else instant(value).astimezone(ZoneInfo(zone)).isoformat()


def minutes(state: dict) -> int:
    return int((instant(state["ends_at"]) - instant(state["starts_at"])).total_seconds() // 60)


def reported(state: dict, name: str):
    value = state.get(name)
    return list(value or []) if SESSION_BY_NAME[name].form in ("list", "people") else value


def details(state: dict) -> dict:
    """What a ``details_changed`` entry names of a session: every field no other kind
    of change reports."""
    return {f.name: reported(state, f.name) for f in SESSION if f.change == "details_changed"}


def people_of(state: dict, role: str) -> list:
    """A session's speakers or moderators as its changelog names them: the fields its
    ``{role}_changed`` entry reports, in turn (speakers: attendee ids, then the names an
    imported schedule gives)."""
    return [person for f in SESSION if f.change == f"{role}_changed"
            for person in reported(state, f.name)]


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


