"""Announcements: organisers' broadcasts to an audience, now or at ``send_at``.

One is created, changed or cancelled in the request's transaction, with its outbox
rows (through `delivery`) and its audit entry. A scheduled one can be changed or
cancelled until it goes out: once its ``send_at`` has come, or any of its messages
has been tried, a change or a cancellation is refused with 409 Conflict. Each organiser
may create ANNOUNCEMENT_LIMIT (default 10 a minute) in the limiter's shared storage,
then 429 with Retry-After; dry runs send and keep nothing and are not counted (the
console counts its audience with one as the organiser types).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_smorest import abort
from sqlalchemy import select

from ..extensions import db
from ..people.models import Attendee
from ..ratelimit import count_or_refuse
from ..schedule.models import Event
from ..timeutil import utcnow
from . import audience as audiences
from .audit import record
from .delivery import Figures, delivery
from .models import Announcement

# A send_at a little in the past (a phone's clock, a slow network) means now.
GRACE = timedelta(minutes=1)
FURTHEST = timedelta(days=366)
FIELDS = ("title", "body", "texts", "audience", "priority", "send_at")


@dataclass
class Report:
    """An announcement (or a dry run's unsaved one) with its delivery figures."""

    announcement: Announcement
    figures: Figures = field(default_factory=Figures)
    dry_run: bool = False
    timezone: str = "UTC"

    def __getattr__(self, name):
        if name in ("queued", "sent", "failed", "expired", "tokens_pruned"):
            return getattr(self.figures, name)
        return getattr(self.announcement, name)

    @property
    def status(self) -> str:
        if self.dry_run:
            return "draft"
        if self.announcement.cancelled_at is not None:
            return "cancelled"
        figures = self.figures
        if not figures.queued:  # all gone out; or nobody to send to, once it is time
            out = figures.sent + figures.failed + figures.expired
            return "sent" if out or self.announcement.send_at <= utcnow() else "scheduled"
        going = figures.started or self.announcement.send_at <= utcnow()
        return "sending" if going else "scheduled"


def check_organiser(event: Event, attendee: Attendee) -> None:
    """Organisers act on their own event only (a token belongs to one event)."""
    if attendee.event_id != event.id or not attendee.has_role("organiser"):
        abort(403, message="Only for: organisers of this event")


def when(send_at: datetime | None, now: datetime) -> datetime:
    if send_at is None:
        return now
    if send_at < now - GRACE:
        abort(422, message="send_at is in the past.", errors={"send_at": ["In the past."]})
    if send_at > now + FURTHEST:
        abort(422, message="send_at is too far ahead.",
              errors={"send_at": ["More than a year ahead."]})
    return max(send_at, now)


def summary(announcement: Announcement) -> dict:
    """What the audit log keeps of it."""
    return {"title": announcement.title, "audience": announcement.audience,
            "priority": announcement.priority, "send_at": announcement.send_at.isoformat(),
            "languages": sorted(announcement.texts or {})}


def resolve(announcement: Announcement, event: Event) -> list[Attendee]:
    """Its audience now, with the counts kept on it; those who get it (not muted)."""
    people = audiences.members(event, announcement.audience)
    wanting = [attendee for attendee in people if audiences.wants_announcements(attendee)]
    announcement.recipients = len(people)
    announcement.muted = len(people) - len(wanting)
    announcement.with_device = audiences.with_device(event, announcement.audience, people)
    return wanting


def create(event: Event, author: Attendee, values: dict) -> tuple[Report, int]:
    """Create and queue it, or (``dry_run``) only count its audience: nothing written."""
    now = utcnow()
    dry_run = values.pop("dry_run", False)
    announcement = Announcement(
        event_id=event.id, author_id=author.id, title=values["title"], body=values["body"],
        texts=values.get("texts") or {}, audience=values["audience"],
        priority=values.get("priority", "normal"), send_at=when(values.get("send_at"), now),
        created_at=now, updated_at=now,
    )
    wanting = resolve(announcement, event)
    if dry_run:
        return Report(announcement, dry_run=True, timezone=event.timezone), 200
    count_or_refuse("ANNOUNCEMENT_LIMIT", ("announcement", str(author.id)),
                    "Too many announcements; at most {limit}.")
    db.session.add(announcement)
    db.session.flush()  # its id names its messages
    delivery().announce(announcement, wanting)
    record(event, author, "announcement.create", subject=announcement.origin,
           after=summary(announcement), recipients=len(wanting))
    return report(event, announcement), 201


def get(event: Event, announcement_id: int) -> Announcement:
    announcement = db.session.scalar(select(Announcement).where(
        Announcement.id == announcement_id, Announcement.event_id == event.id))
    if announcement is None:
        abort(404, message=f"Announcement {announcement_id} not found")
    return announcement


def report(event: Event, announcement: Announcement) -> Report:
    figures = delivery().figures([announcement.origin])[announcement.origin]
    return Report(announcement, figures, timezone=event.timezone)


def reports(event: Event) -> list[Report]:
    """The event's announcements, newest first, with their figures (two queries)."""
    announcements = list(db.session.scalars(
        select(Announcement).where(Announcement.event_id == event.id)
        .order_by(Announcement.created_at.desc(), Announcement.id.desc())
    ))
    figures = delivery().figures([a.origin for a in announcements])
    return [Report(a, figures[a.origin], timezone=event.timezone) for a in announcements]


def still_open(announcement: Announcement, now: datetime) -> None:
    """409 unless it is scheduled and has not started going out."""
    if announcement.cancelled_at is not None:
        abort(409, message="This announcement was cancelled.")
    started = delivery().figures([announcement.origin])[announcement.origin].started
    if started or announcement.send_at <= now:
        abort(409, message="This announcement has gone out already: it can no longer be "
                           "changed or cancelled.")


def change(event: Event, author: Attendee, announcement_id: int, values: dict) -> Report:
    """Change a scheduled one: its messages are written again (refreshed, or cancelled
    for those no longer in its audience)."""
    now = utcnow()
    announcement = get(event, announcement_id)
    still_open(announcement, now)
    before = summary(announcement)
    if "send_at" in values:
        values["send_at"] = when(values["send_at"], now)
    for name in FIELDS:
        if name in values:
            setattr(announcement, name, values[name])
    announcement.updated_at = now
    wanting = resolve(announcement, event)
    delivery().withdraw(announcement.origin)
    delivery().announce(announcement, wanting)
    record(event, author, "announcement.update", subject=announcement.origin,
           before=before, after=summary(announcement), recipients=len(wanting))
    return report(event, announcement)


def cancel(event: Event, author: Attendee, announcement_id: int) -> None:
    """Cancel a scheduled one: none of its messages goes out."""
    now = utcnow()
    announcement = get(event, announcement_id)
    still_open(announcement, now)
    withdrawn = delivery().withdraw(announcement.origin)
    announcement.cancelled_at = now
    record(event, author, "announcement.cancel", subject=announcement.origin,
           before=summary(announcement), recipients=withdrawn)
