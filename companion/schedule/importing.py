"""The one door of a programme into an event: `import_programme`.

Whatever the source (``events import`` of a file or URL, ``events sync``, the API's
``POST /events/{event}/schedule/import``, ``seed``), the parsed `Programme` becomes the
event's draft, compared with the released agenda by the same changelog as organisers'
edits, and with ``publish`` it is released through the same release path, holding the
event's lock. A new slug creates the event and releases it as version 1.

Identity: a session is its ``guid`` (frab/c3voc's), a room its name. A session that
vanishes from the source is cancelled, not deleted (phones keep it, its followers are
told). People the source names are speakers by name until an organiser links them.
"""

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from ..extensions import db
from ..people.models import Attendee
from ..timeutil import utcnow
from . import changelog, delays, drafts, releasing, sources, states
from .days import event_day
from .models import Event, ScheduleVersion
from .operations import conference_data, find_event
from .programme import Programme, ProgrammeSession, SourceError

# What an imported event is until its organisers say more: texts in English, and nobody
# has a session on their agenda without following it.
NEW_EVENT = {"languages": ["en"], "hashtags": [], "reminder_kinds": []}
EVENT_DETAILS = ("subtitle", "tagline", "organiser", "description", "venue", "languages",
                 "hashtags", "twitter", "reminder_kinds")


@dataclass
class Imported:
    """What an import did: the event, whether it made it, the release (None: the
    changes wait in the draft, or there were none) and the changelog."""

    event: Event
    created: bool
    version: ScheduleVersion | None
    changes: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def zone_of(programme: Programme, given: str | None) -> tuple[str, list[str]]:
    """The event's time zone: ``--timezone``, else the file's own, else the one fixed
    offset all its times share; refused when none of these pins one down."""
    warnings = []
    if given and programme.timezone and given != programme.timezone:
        warnings.append(f"--timezone {given} is used instead of the file's "
                        f"{programme.timezone}")
    name = given or programme.timezone
    if name:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise SourceError(f"unknown time zone {name!r}") from None
        return name, warnings
    offsets = {s.starts_at.utcoffset() for s in programme.sessions} | {
        s.ends_at.utcoffset() for s in programme.sessions}
    if len(offsets) == 1:
        hours, rest = divmod(int(offsets.pop().total_seconds()), 3600)
        if not rest and -14 <= hours <= 12:
            name = "UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"
            warnings.append(f"the file names no time zone: {name} from its offsets")
            return name, warnings
    raise SourceError("the file names no time zone and its offsets don't pin one down: "
                      "give --timezone (e.g. Europe/Vienna)")


def import_programme(programme: Programme, slug: str, *, actor: Attendee | None = None,
                     timezone_name: str | None = None, publish: bool = False,
                     note: str | None = None) -> Imported:
    """Bring the programme into the event ``slug`` (see the module). Nothing commits."""
    zone, warnings = zone_of(programme, timezone_name)
    warnings = list(programme.warnings) + warnings
    event = find_event(slug)
    created = event is None
    if created:
        event = create_event(programme, slug, zone)
        publish = True
    else:
        releasing.hold(event)
    targets = target_states(event, programme)
    if not created and not differs(event, targets):
        return Imported(event, False, None, [], warnings)
    write_draft(event, targets)
    if not publish:
        return Imported(event, False, None, changelog.draft_plan(event).changes, warnings)
    adopt_event_fields(event, programme)
    version = releasing.publish(
        event, actor, note or ("Imported" if created else "A new version of the programme"))
    return Imported(event, created, version, version.changes, warnings)


def create_event(programme: Programme, slug: str, zone: str) -> Event:
    """The event's row, for its rooms and sessions to be drafted in; the rest of its
    fields come with its first release (`adopt_event_fields`)."""
    event = Event(slug=slug, name=programme.title, timezone=zone,
                  starts_on=programme.starts_on, ends_on=programme.ends_on,
                  **NEW_EVENT)
    db.session.add(event)
    db.session.flush()
    return event


def adopt_event_fields(event: Event, programme: Programme) -> None:
    """The event's own fields as the source gives them (at a release: they are shown)."""
    event.name = programme.title
    event.starts_on, event.ends_on = programme.starts_on, programme.ends_on
    event.day_change = programme.day_change
    if programme.url:
        event.url = programme.url
    for name in EVENT_DETAILS:
        if programme.details.get(name) is not None:
            setattr(event, name, programme.details[name])


@dataclass
class Targets:
    """The items as the file has them: by id for those the event knows (their drafted
    state with the file's fields), and the new ones in the file's order."""

    rooms: dict[int, dict] = field(default_factory=dict)
    new_rooms: list[dict] = field(default_factory=list)
    sessions: dict[int, dict] = field(default_factory=dict)
    new_sessions: list[dict] = field(default_factory=list)
    # The file's fields by session id (known ones), to compare with the released agenda.
    session_fields: dict[int, dict] = field(default_factory=dict)
    room_fields: dict[int, dict] = field(default_factory=dict)
    # The draft as it was (what is written is what differs from it).
    drafted_rooms: dict[int, dict] = field(default_factory=dict)
    drafted_sessions: dict[int, dict] = field(default_factory=dict)


def target_states(event: Event, programme: Programme) -> Targets:
    rooms = drafts.draft_rooms(event)
    sessions = drafts.draft_sessions(event)
    targets = Targets(drafted_rooms=rooms, drafted_sessions=sessions)
    room_ids = {state["name"]: room_id for room_id, state in rooms.items()}
    for room in programme.rooms:
        fields = {"name": room.name, **{k: v for k, v in room.details.items()
                                        if v is not None and k in states.ROOM_FIELDS}}
        if room.key:
            fields["key"] = room.key
        if room.name in room_ids:
            room_id = room_ids[room.name]
            targets.room_fields[room_id] = fields
            targets.rooms[room_id] = {**rooms[room_id], **fields}
        else:
            targets.new_rooms.append({**{n: None for n in states.ROOM_FIELDS}, **fields})
    names = {r.name for r in programme.rooms}
    for session in programme.sessions:  # a room only its sessions name
        if session.room and session.room not in names and session.room not in room_ids:
            names.add(session.room)
            targets.new_rooms.append({**{n: None for n in states.ROOM_FIELDS},
                                      "name": session.room})

    by_guid = {state.get("guid"): session_id for session_id, state in sessions.items()}
    linked = linked_names(sessions)
    seen = set()
    for item in programme.sessions:
        session_id = by_guid.get(item.guid)
        before = sessions.get(session_id) or states.NEW_SESSION
        fields = session_fields(item, before, linked.get(session_id, {}))
        if session_id is None:
            targets.new_sessions.append({**states.NEW_SESSION, **fields})
        else:
            seen.add(session_id)
            targets.session_fields[session_id] = fields
            targets.sessions[session_id] = {**before, **fields}
    for session_id, state in sessions.items():  # gone from the source: cancelled
        if session_id not in seen and state["status"] != "cancelled":
            targets.session_fields[session_id] = {"status": "cancelled"}
            targets.sessions[session_id] = {**state, "status": "cancelled"}
    return targets


def session_fields(item: ProgrammeSession, before: dict, linked: dict[str, int]) -> dict:
    """What the file says of a session, as state fields (room by name, resolved later)."""
    return {
        "guid": item.guid, "key": item.key if item.key is not None else before.get("key"),
        "kind": item.kind, "title": item.title, "description": item.description,
        "topics": list(item.topics), "language": item.language,
        "starts_at": states.iso(item.starts_at), "ends_at": states.iso(item.ends_at),
        "room": item.room, "status": "scheduled",
        # A name an organiser linked to an attendee is that attendee, not a name.
        "speaker_names": [name for name in item.speakers if name.casefold() not in linked],
        **({"online_url": item.online_url} if item.online_url else {}),
    }


def linked_names(sessions: dict[int, dict]) -> dict[int, dict[str, int]]:
    """By session: the linked speakers' names (case-folded) and attendee ids."""
    ids = {i for state in sessions.values() for i in state.get("speakers") or []}
    if not ids:
        return {}
    names = dict(db.session.execute(select(Attendee.id, Attendee.name)
                                    .where(Attendee.id.in_(ids))).all())
    return {session_id: {names[i].casefold(): i for i in state.get("speakers") or []
                         if i in names}
            for session_id, state in sessions.items()}


def resolved(state: dict, room_ids: dict[str, int]) -> dict:
    """A target state with its room's name made the room's id."""
    state = dict(state)
    if "room" in state:
        name = state.pop("room")
        state["room_id"] = room_ids.get(name) if name else None
    return state


def differs(event: Event, targets: Targets) -> bool:
    """Whether the file differs from the released agenda (organisers' pending edits
    aside): new items, or known ones whose released state the file's fields change."""
    if targets.new_rooms or targets.new_sessions:
        return True
    live_rooms = states.live_rooms(event)
    room_ids = {room.name: room_id for room_id, room in live_rooms.items()}
    for room_id, fields in targets.room_fields.items():
        room = live_rooms.get(room_id)
        if room is None or any(getattr(room, k) != v for k, v in fields.items()):
            return True
    live = states.live_sessions(event)
    new_states = {}
    for session_id, fields in targets.session_fields.items():
        session = live.get(session_id)
        if session is None:
            return True
        before = states.session_state(session)
        after = {**before, **resolved(fields, room_ids)}
        if after != before:
            new_states[session_id] = after
    return bool(new_states) and bool(changelog.plan(event, new_states, {}).changes)


def write_draft(event: Event, targets: Targets) -> None:
    """The file's states into the draft: known items where they differ, new ones added."""
    room_ids = {state["name"]: room_id for room_id, state in targets.drafted_rooms.items()}
    for room_id, state in targets.rooms.items():
        if targets.drafted_rooms.get(room_id) != state:
            drafts.put_draft(event, "room", room_id, state)
    for state in targets.new_rooms:
        room_ids[state["name"]] = drafts.new_draft(event, "room", state)
    for session_id, state in targets.sessions.items():
        state = resolved(state, room_ids)
        if targets.drafted_sessions.get(session_id) != state:
            drafts.put_draft(event, "session", session_id, state)
    for state in targets.new_sessions:
        drafts.new_draft(event, "session", resolved(state, room_ids))


def programme_from_conference(data: dict) -> Programme:
    """Our own conference JSON (companion/schedule/data/*.json) as a programme, read and
    checked by the same parser as any imported file."""
    return sources.parse(json.dumps(data))


def shift_programme(programme: Programme, days: int = 0,
                    offset: timedelta = timedelta(0)) -> None:
    """Move every session ``days`` later at the same local times, then ``offset`` later
    still, and the event's days with them (a rehearsal of an event not yet made)."""
    zone = programme.timezone or "UTC"
    for session in programme.sessions:
        session.starts_at = states.instant(
            delays.shifted(states.iso(session.starts_at), days, zone, offset))
        session.ends_at = states.instant(
            delays.shifted(states.iso(session.ends_at), days, zone, offset))
    if offset and programme.sessions:
        probe = Event(timezone=zone, day_change=programme.day_change)
        programme.starts_on = event_day(probe, min(s.starts_at for s in programme.sessions))
        programme.ends_on = event_day(probe, max(s.ends_at for s in programme.sessions)
                                      - timedelta(microseconds=1))
    else:
        programme.starts_on += timedelta(days=days)
        programme.ends_on += timedelta(days=days)


# --- the bundled conference: `seed` -----------------------------------------------------

ALLIANCE = "alliance-2020"


def first_panel_start(starts: list[tuple[str, datetime]]) -> datetime:
    return min(start for kind, start in starts if kind == "panel")


def rehearsal_offset(first_panel: datetime, now: datetime, lead: timedelta) -> timedelta:
    """How far to move the event so that its first panel starts ``lead`` after ``now``
    (on the minute): its reminders fall due a few minutes from now."""
    target = (now + lead + timedelta(minutes=1)).replace(second=0, microsecond=0)
    return target - first_panel


@dataclass
class Seeded:
    event: Event
    created: bool
    version: ScheduleVersion | None


def seed_conference(data: dict | None = None, shift_to: date | None = None,
                    rehearsal_lead: timedelta | None = None,
                    now: datetime | None = None) -> Seeded:
    """The bundled conference through the one door: made (its first release) when it is
    missing; otherwise what has been released stays, but for a move asked for
    (``shift_to`` a first day, or a rehearsal whose first panel starts ``rehearsal_lead``
    from ``now``), which is a release like any other. Nothing commits."""
    data = data or conference_data(ALLIANCE)
    programme = programme_from_conference(data)
    event = find_event(programme.slug)
    now = now or utcnow()
    if event is None:
        days = (shift_to - programme.starts_on).days if shift_to else 0
        offset = rehearsal_offset(
            first_panel_start([(s.kind, s.starts_at) for s in programme.sessions]),
            now, rehearsal_lead) if rehearsal_lead else timedelta(0)
        if days or offset:
            shift_programme(programme, days, offset)
        outcome = import_programme(programme, programme.slug, publish=True,
                                   note="The conference, as its organisers published it")
        return Seeded(outcome.event, True, outcome.version)
    days = (shift_to - event.starts_on).days if shift_to else 0
    offset = timedelta(0)
    if rehearsal_lead:
        live = [(s.kind, s.starts_at) for s in states.live_sessions(event).values()]
        offset = rehearsal_offset(first_panel_start(live), now, rehearsal_lead)
    if not days and not offset:
        return Seeded(event, False, None)
    version = delays.move_event(event, None, days, {}, None, offset=offset)
    return Seeded(event, False, version)
