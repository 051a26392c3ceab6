"""An attendee's own agenda, and when each of its reminders is due.

What is on it, and why (``reasons``):
- ``following``: sessions the attendee bookmarked;
- ``speaker`` / ``moderator``: sessions where the attendee has that role;
- ``default``: the kinds of session the event reminds everyone of
  (``event.reminder_kinds``: panels and the networking cocktail), unless muted.

Push reminders are built from ``reminder_at``: it is None when the attendee turned
reminders off or the session is cancelled (cancelled sessions stay listed, struck through).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, null, or_, select, union_all

from ..db import rows_in
from ..extensions import db
from ..readcache import read_rows, store
from ..schedule.models import Event, Session, SessionPerson
from ..schedule.operations import sessions_query
from ..schedule.schemas import SessionSchema
from ..schedule.states import ROLES, session_state
from .models import Attendee, Bookmark

DEFAULT_REMINDER_MINUTES = 10
# Speakers and moderators need time to get to the podium: at least this much notice.
ROLE_REMINDER_MINUTES = 30
REASONS = ("default", "following", "speaker", "moderator")
ROLE_REASONS = {"speaker", "moderator"}


@dataclass
class ScheduleItem:
    session: Session
    reasons: set[str]  # of REASONS
    reminder_at: datetime | None  # aware UTC
    overlaps: list[int]  # ids of the other listed sessions running at the same time

    @property
    def timezone(self) -> str:
        """The event's zone, in which the API renders ``reminder_at``."""
        return self.session.timezone


def reminder_lead(attendee: Attendee, reasons: set[str]) -> timedelta:
    minutes = attendee.reminder_minutes
    if minutes is None:
        minutes = DEFAULT_REMINDER_MINUTES
    minutes = max(minutes, 1)  # a reminder due when its session starts has expired
    if reasons & ROLE_REASONS:
        minutes = max(minutes, ROLE_REMINDER_MINUTES)
    return timedelta(minutes=minutes)


def reminders_on(attendee: Attendee) -> bool:
    return (attendee.notify or {}).get("reminders", True) is not False


def why(bookmark: bool | None, roles: Iterable[str], by_default: bool) -> set[str]:
    """The agenda rule, once: why a session is on an attendee's agenda (empty: it isn't).
    ``bookmark``: True if they follow it, False if they unfollowed it, None if neither;
    ``roles``: theirs in it; ``by_default``: its kind is one the event reminds everyone of.
    Speakers and moderators have it whatever they chose."""
    reasons = set(roles)
    if bookmark:
        reasons.add("following")
    if by_default and bookmark is not False:
        reasons.add("default")
    return reasons


def reasons_of(bookmarks: Iterable[tuple[int, bool]], roles: Iterable[tuple[int, str]],
               defaults: Iterable[int]) -> dict[int, set[str]]:
    """Why each session is on one attendee's agenda, from their bookmarks (session id,
    following), their roles (session id, role) and the event's default sessions."""
    chosen = dict(bookmarks)
    held: dict[int, list[str]] = {}
    for session_id, role in roles:
        held.setdefault(session_id, []).append(role)
    defaults = set(defaults)
    reasons = {session_id: why(chosen.get(session_id), held.get(session_id, ()),
                               session_id in defaults)
               for session_id in chosen.keys() | held.keys() | defaults}
    return {session_id: found for session_id, found in reasons.items() if found}


State = dict | None  # a session's state (`schedule.states.session_state`), None: absent


def agendas(event: Event, states: dict[int, tuple[State, State]]
            ) -> dict[int, tuple[dict[int, set[str]], dict[int, set[str]]]]:
    """Who has each session on their agenda, and why (`why`), in its state before and
    after a change: by session id, (before, after), each by attendee id (empty for an
    absent state). Those told of a change are the two together.

    The inverse of ``personal_schedules``, for a set of sessions at once: one query for
    the bookmarks of them all, one for the event's attendees if a state is of a kind on
    everyone's agenda; the people of each state come with it."""
    if not states:
        return {}
    chosen: dict[int, dict[int, bool]] = {session_id: {} for session_id in states}
    for attendee_id, session_id, following in db.session.execute(
        select(Bookmark.attendee_id, Bookmark.session_id, Bookmark.following)
        .where(Bookmark.session_id.in_(list(states)))
    ):
        chosen[session_id][attendee_id] = following
    defaults = set(event.reminder_kinds or [])
    everyone: list[int] = []
    if any(state and state["kind"] in defaults for pair in states.values() for state in pair):
        everyone = list(db.session.scalars(
            select(Attendee.id).where(Attendee.event_id == event.id)))
    return {session_id: tuple(
        state_agenda(state, chosen[session_id], defaults, everyone) for state in pair)
        for session_id, pair in states.items()}


def state_agenda(state: State, chosen: dict[int, bool], defaults: set[str],
                 everyone: list[int]) -> dict[int, set[str]]:
    """`agendas` of one state of a session, from its bookmarks (attendee id: following)."""
    if state is None:
        return {}
    held: dict[int, list[str]] = {}
    for name, role in ROLES.items():
        for attendee_id in state.get(name) or ():
            held.setdefault(attendee_id, []).append(role)
    by_default = state["kind"] in defaults
    candidates = chosen.keys() | held.keys()
    if by_default:
        candidates = candidates | set(everyone)
    agenda = {attendee_id: why(chosen.get(attendee_id), held.get(attendee_id, ()), by_default)
              for attendee_id in candidates}
    return {attendee_id: reasons for attendee_id, reasons in agenda.items() if reasons}


def session_reasons(attendees: list[Attendee]) -> dict[int, dict[int, set[str]]]:
    """Why each session is on each attendee's agenda (only those that are), by attendee id.

    Three queries for any number of attendees: bookmarks, roles, the default sessions.
    """
    ids = [attendee.id for attendee in attendees]
    choices: dict[int, list] = {attendee_id: [] for attendee_id in ids}
    roles: dict[int, list] = {attendee_id: [] for attendee_id in ids}
    bookmarks = select(Bookmark.attendee_id, Bookmark.session_id, Bookmark.following)
    for attendee_id, session_id, following in rows_in(bookmarks, Bookmark.attendee_id, ids):
        choices[attendee_id].append((session_id, following))
    people = select(SessionPerson.attendee_id, SessionPerson.session_id, SessionPerson.role)
    for attendee_id, session_id, role in rows_in(people, SessionPerson.attendee_id, ids):
        roles[attendee_id].append((session_id, role))
    defaults = default_sessions({attendee.event_id: attendee.event for attendee in attendees})
    return {attendee.id: reasons_of(choices[attendee.id], roles[attendee.id],
                                    defaults[attendee.event_id])
            for attendee in attendees}


def default_sessions(events: dict[int, Event]) -> dict[int, list[int]]:
    """By event id: the sessions of the kinds the event reminds everyone of."""
    defaults: dict[int, list[int]] = {event_id: [] for event_id in events}
    kinds = {event_id: list(event.reminder_kinds or []) for event_id, event in events.items()}
    if any(kinds.values()):
        wanted = or_(*(
            and_(Session.event_id == event_id, Session.kind.in_(event_kinds))
            for event_id, event_kinds in kinds.items() if event_kinds
        ))
        for event_id, session_id in db.session.execute(
            select(Session.event_id, Session.id).where(wanted)
        ):
            defaults[event_id].append(session_id)
    return defaults


def flag_overlaps(items: list[ScheduleItem]) -> None:
    """Note, on each item, the other items running at the same time (cancelled ones don't)."""
    live = [item for item in items if item.session.status != "cancelled"]
    for item in live:
        item.overlaps = [
            other.session.id for other in live
            if other is not item
            and other.session.starts_at < item.session.ends_at
            and item.session.starts_at < other.session.ends_at
        ]


def personal_schedule(attendee: Attendee) -> list[ScheduleItem]:
    """The attendee's agenda in time order, each item with its reminder time."""
    return personal_schedules([attendee])[attendee.id]


def personal_schedules(attendees: Iterable[Attendee]) -> dict[int, list[ScheduleItem]]:
    """``personal_schedule`` of many attendees at once, by attendee id.

    A handful of queries however many they are (see ``session_reasons``, and one for
    the sessions of each event), so a change can re-plan a whole audience in a request.
    """
    attendees = list({attendee.id: attendee for attendee in attendees}.values())
    reasons = session_reasons(attendees)
    by_event: dict[int, list[Attendee]] = {}
    for attendee in attendees:
        by_event.setdefault(attendee.event_id, []).append(attendee)
    schedules: dict[int, list[ScheduleItem]] = {}
    for group in by_event.values():
        listed = set().union(*(reasons[attendee.id] for attendee in group))
        sessions = []
        if listed:
            sessions = db.session.scalars(
                sessions_query(group[0].event).where(Session.id.in_(listed))
            ).all()
        for attendee in group:
            schedules[attendee.id] = agenda(attendee, reasons[attendee.id], sessions)
    return schedules


def agenda(attendee: Attendee, reasons: dict[int, set[str]],
           sessions: list[Session]) -> list[ScheduleItem]:
    """The attendee's items among ``sessions`` (in time order), with reminders and overlaps."""
    remind = reminders_on(attendee)
    items = []
    for session in sessions:
        why = reasons.get(session.id)
        if why is None:
            continue
        due = None
        if remind and session.status != "cancelled":
            due = session.starts_at - reminder_lead(attendee, why)
        items.append(ScheduleItem(session=session, reasons=why, reminder_at=due, overlaps=[]))
    flag_overlaps(items)
    return items


@dataclass(frozen=True)
class KeptSession:
    """A released session as the personal agenda needs it: what its items are computed
    from, and its answer (SessionSchema's dump), built once per release."""

    id: int
    status: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    dump: dict[str, Any]


@dataclass(frozen=True)
class Release:
    sessions: list[KeptSession]  # in time order
    defaults: list[int]  # the sessions on everyone's agenda (event.reminder_kinds)
    # Agenda items' dumps by what they are made of (people/views.py, ``dumped_items``).
    item_dumps: dict = field(default_factory=dict, compare=False)


def kept_release(event_id: int, live_generation: int, version: int) -> Release:
    """The event's released sessions, dumped once per version and process.

    Every /me/schedule answer is made of the same few sessions: dumping them anew for
    each attendee (marshmallow, nested rooms and people) was most of its cost. The key
    is the version with the live tables' generation, as the public reads' is
    (companion/readcache.py): a release, or a new seed, is a new key.
    """
    key = ("agenda", event_id, live_generation, version)
    kept = store().get(key)
    if kept is None:
        event = db.session.get(Event, event_id)
        schema = SessionSchema()
        sessions = db.session.scalars(sessions_query(event)).all()
        kept = Release(
            sessions=[KeptSession(session.id, session.status, session.starts_at,
                                  session.ends_at, event.timezone, schema.dump(session))
                      for session in sessions],
            defaults=default_sessions({event.id: event})[event.id],
        )
        store().put(key, kept)
    return kept


# One attendee's bookmarks and roles in one query, built once: (session, following, role).
OWN_CHOICES = union_all(
    select(Bookmark.session_id, Bookmark.following, null().label("role"))
    .where(Bookmark.attendee_id == bindparam("attendee_id")),
    select(SessionPerson.session_id, null(), SessionPerson.role)
    .where(SessionPerson.attendee_id == bindparam("attendee_id")),
)


def released_agenda(attendee, release: Release) -> list[ScheduleItem]:
    """``personal_schedule`` as the API serves it, from the release's kept sessions:
    only the attendee's own choices are read (one query, outside the ORM).

    ``attendee`` needs ``id``, ``reminder_minutes`` and ``notify``: an Attendee, or the
    row that found the request's token (people/views.py, AGENDA_KEY).
    """
    rows = read_rows(OWN_CHOICES, {"attendee_id": attendee.id})
    reasons = reasons_of(
        [(session_id, following) for session_id, following, role in rows if role is None],
        [(session_id, role) for session_id, _, role in rows if role is not None],
        release.defaults,
    )
    return agenda(attendee, reasons, release.sessions)


def session_agenda(session: Session) -> dict[int, bool]:
    """Who has the session on their agenda (`agendas` of its state now), by attendee id:
    whether as its speaker or moderator (which sets their reminder's lead)."""
    _, agenda = agendas(session.event, {session.id: (None, session_state(session))})[session.id]
    return {attendee_id: bool(reasons & ROLE_REASONS) for attendee_id, reasons in agenda.items()}


def session_audience(session: Session) -> list[Attendee]:
    """The attendees of ``session_agenda``: for telling the right people about a change
    to one session."""
    by_id = select(Attendee).order_by(Attendee.id)
    return [attendee for (attendee,) in rows_in(by_id, Attendee.id,
                                                sorted(session_agenda(session)))]
