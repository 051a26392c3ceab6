"""The audit log: who did what to an event, when, and to how many people.

Organiser actions (edits, releases, delays, announcements) and moderators' pings call
`record` in the transaction of the action, so an action and its entry exist together.
"""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Select, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..people.models import Attendee
from ..schedule.models import Event
from ..timeutil import UTCDateTime, utcnow


class AuditEntry(db.Model):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"),
                                          index=True)
    # Who did it; kept as null when that person is erased.
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("attendees.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(64))  # e.g. session.update, schedule.publish
    subject: Mapped[str | None] = mapped_column(String(255))  # e.g. session:7
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    recipients: Mapped[int | None] = mapped_column()  # how many people it reached
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    actor: Mapped[Attendee | None] = relationship()

    @property
    def timezone(self) -> str:
        return self.event.timezone

    event: Mapped[Event] = relationship()


def record(event: Event, actor: Attendee | None, action: str, subject: str | None = None,
           before: dict | None = None, after: dict | None = None,
           recipients: int | None = None) -> AuditEntry:
    """Add an entry in the caller's transaction (the request commits it)."""
    entry = AuditEntry(event_id=event.id, actor_id=actor.id if actor else None,
                       action=action, subject=subject, before=before, after=after,
                       recipients=recipients, at=utcnow())
    db.session.add(entry)
    return entry


def entries_query(event: Event, filters: dict) -> Select:
    """The event's entries, newest first, filtered by action, actor_id, subject, since
    (at or after) and until (before): GET /events/{event}/audit and the console's log."""
    statement = select(AuditEntry).where(AuditEntry.event_id == event.id)
    if "action" in filters:
        statement = statement.where(AuditEntry.action == filters["action"])
    if "actor_id" in filters:
        statement = statement.where(AuditEntry.actor_id == filters["actor_id"])
    if "subject" in filters:
        statement = statement.where(AuditEntry.subject == filters["subject"])
    if "since" in filters:
        statement = statement.where(AuditEntry.at >= filters["since"])
    if "until" in filters:
        statement = statement.where(AuditEntry.at < filters["until"])
    return statement.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
