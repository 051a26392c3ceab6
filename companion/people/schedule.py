"""An attendee's own agenda, and when each of its reminders is due.

What is on it, and why (``reasons``):
- ``following``: sessions the attendee bookmarked;
- ``speaker`` / ``moderator``: sessions where the attendee has that role;
- ``default``: the kinds of session the event reminds everyone of
  (``event.reminder_kinds``: panels and the networking cocktail), unless muted.

Push reminders are built from ``reminder_at``: it is None when the attendee turned
reminders off or the session is cancelled (cancelled sessions stay listed, struck through).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from ..extensions import db
from ..schedule.models import Session, SessionPerson
from ..schedule.operations import sessions_query
from .models import Attendee, Bookmark

DEFAULT_REMINDER_MINUTES = 10
# Speakers and moderators need time to get to the podium: at least this much notice.
ROLE_REMINDER_MINUTES = 30
REASONS = ("default", "following", "speaker", "moderator")


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
    if reasons & {"speaker", "moderator"}:
        minutes = max(minutes, ROLE_REMINDER_MINUTES)
    return timedelta(minutes=minutes)


def reminders_on(attendee: Attendee) -> bool:
    return (attendee.notify or {}).get("reminders", True) is not False


def session_reasons(attendee: Attendee) -> dict[int, set[str]]:
    """Why each session of the attendee's event is on their agenda (only those that are)."""
    reasons: dict[int, set[str]] = {}
    choices = dict(db.session.execute(
        select(Bookmark.session_id, Bookmark.following).where(
            Bookmark.attendee_id == attendee.id
        )
    ).all())
    for session_id, following in choices.items():
        if following:
            reasons.setdefault(session_id, set()).add("following")
    roles = db.session.execute(
        select(SessionPerson.session_id, SessionPerson.role).where(
            SessionPerson.attendee_id == attendee.id
        )
    ).all()
    for session_id, role in roles:
        reasons.setdefault(session_id, set()).add(role)
    default_kinds = list(attendee.event.reminder_kinds or [])
    if default_kinds:
        defaults = db.session.scalars(
            select(Session.id).where(
                Session.event_id == attendee.event_id, Session.kind.in_(default_kinds)
            )
        )
        for session_id in defaults:
            if choices.get(session_id) is not False:  # muted
                reasons.setdefault(session_id, set()).add("default")
    return reasons


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
    reasons = session_reasons(attendee)
    if not reasons:
        return []
    sessions = db.session.scalars(
        sessions_query(attendee.event).where(Session.id.in_(reasons))
    ).all()
    remind = reminders_on(attendee)
    items = []
    for session in sessions:
        why = reasons[session.id]
        due = None
        if remind and session.status != "cancelled":
            due = session.starts_at - reminder_lead(attendee, why)
        items.append(ScheduleItem(session=session, reasons=why, reminder_at=due, overlaps=[]))
    flag_overlaps(items)
    return items


def session_audience(session: Session) -> list[Attendee]:
    """Who has the session on their agenda: the inverse of ``personal_schedule``.

    For telling the right people about a change to one session.
    """
    choices = db.session.execute(
        select(Bookmark.attendee_id, Bookmark.following).where(Bookmark.session_id == session.id)
    ).all()
    ids = {attendee_id for attendee_id, following in choices if following}
    ids |= set(db.session.scalars(
        select(SessionPerson.attendee_id).where(SessionPerson.session_id == session.id)
    ))
    if session.kind in (session.event.reminder_kinds or []):
        muted = {attendee_id for attendee_id, following in choices if not following}
        everyone = db.session.scalars(
            select(Attendee.id).where(Attendee.event_id == session.event_id)
        )
        ids |= set(everyone) - muted
    return db.session.scalars(
        select(Attendee).where(Attendee.id.in_(ids)).order_by(Attendee.id)
    ).all()
