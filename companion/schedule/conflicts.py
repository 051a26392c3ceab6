"""What the organisers should look at before a release: two sessions in one room at
once, a linked speaker or moderator in two places at once, a session running past the
end of its event day. Warnings only: a release goes ahead whatever they say.

Worked out from the draft's states (``drafts.draft_sessions`` and ``draft_rooms``):
the sessions of each room and of each person are sorted by start and swept once, so a
1,000-session schedule costs a sort, not a million comparisons.
"""

import heapq
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..extensions import db
from ..people.models import Attendee
from .days import day_bounds, event_day
from .states import instant

KINDS = ("room_overlap", "person_overlap", "past_day_end")


def linked(people: Iterable) -> set[int]:
    """The attendee ids among a state's speakers or moderators (a person named by an
    imported schedule and not linked to an attendee has none)."""
    ids = set()
    for person in people or ():
        person_id = person.get("id") if isinstance(person, dict) else person
        if isinstance(person_id, int):
            ids.add(person_id)
    return ids


def overlapping(items: list[tuple[datetime, datetime, int]]) -> list[tuple[int, int]]:
    """Pairs of ids whose [start, end) intervals overlap; back to back is no overlap.
    A sweep by start, keeping the intervals still running in a heap by end."""
    pairs = []
    running: list[tuple[datetime, int]] = []
    for starts, ends, item_id in sorted(items):
        while running and running[0][0] <= starts:
            heapq.heappop(running)
        pairs.extend((other, item_id) for _, other in sorted(running, key=lambda r: r[1]))
        heapq.heappush(running, (ends, item_id))
    return pairs


def placed(sessions: dict[int, dict]) -> tuple[dict, dict[int, list], dict[int, list]]:
    """The sessions that take place (not cancelled): their times by id, and
    ``(starts, ends, session_id)`` by room and by linked person."""
    times = {}
    by_room: dict[int, list] = {}
    by_person: dict[int, list] = {}
    for session_id, state in sessions.items():
        if state is None or state.get("status") == "cancelled":
            continue
        starts, ends = instant(state["starts_at"]), instant(state["ends_at"])
        times[session_id] = (starts, ends)
        item = (starts, ends, session_id)
        if state.get("room_id") is not None:
            by_room.setdefault(state["room_id"], []).append(item)
        for person_id in linked(state.get("speakers")) | linked(state.get("moderators")):
            by_person.setdefault(person_id, []).append(item)
    return times, by_room, by_person


def draft_warnings(event, sessions: dict[int, dict], rooms: dict[int, dict]) -> list[dict]:
    """``[{"kind", "session_ids", "message"}]``, in time order."""
    zone = ZoneInfo(event.timezone)
    times, by_room, by_person = placed(sessions)

    def when(session_id: int) -> str:
        starts, ends = (moment.astimezone(zone) for moment in times[session_id])
        end = ends.strftime("%H:%M") if ends.date() == starts.date() else ends.strftime(
            "%a %d %b %H:%M")
        return f"{starts.strftime('%a %d %b %H:%M')}–{end}"

    def named(session_id: int) -> str:
        return f"“{sessions[session_id]['title']}” ({when(session_id)})"

    found = []
    for room_id, items in by_room.items():
        room = (rooms.get(room_id) or {}).get("name") or f"room {room_id}"
        for first, second in overlapping(items):
            found.append(("room_overlap", [first, second],
                          f"{named(first)} and {named(second)} overlap in {room}."))
    overlaps = {person_id: overlapping(items) for person_id, items in by_person.items()}
    wanted = sorted(person_id for person_id, pairs in overlaps.items() if pairs)
    names = dict(db.session.execute(select(Attendee.id, Attendee.name)
                                    .where(Attendee.id.in_(wanted))).all()) if wanted else {}
    for person_id in wanted:
        person = names.get(person_id) or f"attendee {person_id}"
        for first, second in overlaps[person_id]:
            found.append(("person_overlap", [first, second],
                          f"{person} is in {named(first)} and {named(second)} at once."))
    for session_id, (starts, ends) in times.items():
        day = event_day(event, starts)
        day_ends = day_bounds(event, day)[1]
        if ends > day_ends:
            found.append(("past_day_end", [session_id],
                          f"{named(session_id)} runs past the end of its day "
                          f"({day.strftime('%a %d %b')}, which ends at "
                          f"{day_ends.astimezone(zone).strftime('%H:%M')})."))
    found.sort(key=lambda warning: (min(times[i][0] for i in warning[1]),
                                    KINDS.index(warning[0]), warning[1]))
    return [{"kind": kind, "session_ids": ids, "message": message}
            for kind, ids, message in found]
