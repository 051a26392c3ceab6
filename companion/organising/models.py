"""Announcements to chosen audiences, and moderators' pings to their speakers."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..people.models import Attendee
from ..schedule.models import Event, Session
from ..timeutil import UTCDateTime, utcnow

ANNOUNCEMENT_PRIORITIES = ("normal", "high")
# The moderators' ready-made pings; their texts are the push kind ``ping``'s, in each
# speaker's language (a test checks both name the same ones).
PING_TEMPLATES = ("on_in_5", "to_stage", "two_minutes", "wrap_up")


class Announcement(db.Model):
    """An organiser's broadcast to an audience of the event, now or at ``send_at``.

    Its messages are the outbox rows of origin ``announcement:<id>``, one per recipient;
    their statuses are its delivery figures. The audience is resolved when it is
    created or changed: ``recipients`` is its size then, ``muted`` how many of them
    switched announcements off (they get nothing), ``with_device`` how many have a phone
    registered (the others find it in their in-app inbox).
    """

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"),
                                          index=True)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("attendees.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # The organisers' own words per language: {"fr": {"title", "body"}}; never machine-made.
    texts: Mapped[dict] = mapped_column(JSON, default=dict)
    # "all", or {"roles", "sessions", "languages", "in_room_at"} as the API took it.
    audience: Mapped[dict | str] = mapped_column(JSON)
    priority: Mapped[str] = mapped_column(String(8), default="normal")
    send_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recipients: Mapped[int] = mapped_column(default=0)
    muted: Mapped[int] = mapped_column(default=0)
    with_device: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship()
    author: Mapped[Attendee | None] = relationship()

    @property
    def origin(self) -> str:
        """What its outbox rows are grouped by (their keys start with it)."""
        return f"announcement:{self.id}"

    @property
    def timezone(self) -> str:
        return self.event.timezone


class Ping(db.Model):
    """A moderator's (or an organiser's) push to the speakers of a session."""

    __tablename__ = "pings"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"),
                                            index=True)
    sender_id: Mapped[int | None] = mapped_column(
        ForeignKey("attendees.id", ondelete="SET NULL"), index=True
    )
    template: Mapped[str | None] = mapped_column(String(16))  # of PING_TEMPLATES
    message: Mapped[str | None] = mapped_column(String(140))  # or the sender's own words
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    session: Mapped[Session] = relationship()
    sender: Mapped[Attendee | None] = relationship()
    recipients: Mapped[list["PingRecipient"]] = relationship(
        back_populates="ping", cascade="all, delete-orphan",
        order_by="PingRecipient.attendee_id",
    )

    @property
    def origin(self) -> str:
        return f"ping:{self.id}"

    @property
    def timezone(self) -> str:
        return self.session.event.timezone


class PingRecipient(db.Model):
    """A speaker a ping went to, and when they acknowledged it."""

    __tablename__ = "ping_recipients"

    ping_id: Mapped[int] = mapped_column(ForeignKey("pings.id", ondelete="CASCADE"),
                                         primary_key=True)
    attendee_id: Mapped[int] = mapped_column(
        ForeignKey("attendees.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    ping: Mapped[Ping] = relationship(back_populates="recipients")
    attendee: Mapped[Attendee] = relationship()

    @property
    def session_id(self) -> int:
        return self.ping.session_id

    @property
    def timezone(self) -> str:
        return self.ping.timezone
