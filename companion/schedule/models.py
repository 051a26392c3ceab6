"""The conference itself: events, rooms and the sessions of the agenda."""

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import UTCDateTime

if TYPE_CHECKING:
    from ..people.models import Attendee

SESSION_KINDS = (
    "registration", "opening", "keynote", "panel", "break", "lunch",
    "side_event", "networking", "closing",
)
SESSION_STATUSES = ("scheduled", "cancelled")
PERSON_ROLES = ("speaker", "moderator")
LANGUAGES = ("en", "fr", "de", "it", "ru", "es")


class Event(db.Model):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    subtitle: Mapped[str | None] = mapped_column(String(300))
    tagline: Mapped[str | None] = mapped_column(String(300))
    organiser: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    timezone: Mapped[str] = mapped_column(String(64))
    venue: Mapped[str | None] = mapped_column(String(300))
    languages: Mapped[list] = mapped_column(JSON, default=list)
    hashtags: Mapped[list] = mapped_column(JSON, default=list)
    twitter: Mapped[str | None] = mapped_column(String(100))
    url: Mapped[str | None] = mapped_column(String(500))
    # Kinds of session that are on everyone's schedule, with a reminder, unless muted.
    reminder_kinds: Mapped[list] = mapped_column(JSON, default=list)

    rooms: Mapped[list["Room"]] = relationship(back_populates="event", order_by="Room.id")
    sessions: Mapped[list["Session"]] = relationship(
        back_populates="event", order_by="(Session.starts_at, Session.id)"
    )


class Room(db.Model):
    """A room; whatever nobody told us about it stays null."""

    __tablename__ = "rooms"
    __table_args__ = (UniqueConstraint("event_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    key: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    building: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    floor: Mapped[str | None] = mapped_column(String(50))
    capacity: Mapped[int | None]
    accessibility: Mapped[str | None] = mapped_column(Text)
    # {"channels": [...], "languages": [...]} once the organisers know it.
    interpretation: Mapped[dict | None] = mapped_column(JSON)
    directions: Mapped[str | None] = mapped_column(Text)
    map_url: Mapped[str | None] = mapped_column(String(500))

    event: Mapped[Event] = relationship(back_populates="rooms")


class Session(db.Model):
    """An agenda item. ``key`` names the seeded ones so that re-seeding finds them."""

    __tablename__ = "sessions"
    __table_args__ = (UniqueConstraint("event_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    key: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(
        Enum(*SESSION_KINDS, name="session_kind", native_enum=False, create_constraint=True)
    )
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    topics: Mapped[list] = mapped_column(JSON, default=list)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(
        Enum(*SESSION_STATUSES, name="session_status", native_enum=False, create_constraint=True),
        default="scheduled",
    )

    event: Mapped[Event] = relationship(back_populates="sessions")
    room: Mapped[Room | None] = relationship()
    people: Mapped[list["SessionPerson"]] = relationship(
        back_populates="session", cascade="all, delete-orphan", order_by="SessionPerson.position"
    )

    @property
    def timezone(self) -> str:
        return self.event.timezone

    @property
    def speakers(self) -> list["Attendee"]:
        return [p.attendee for p in self.people if p.role == "speaker"]

    @property
    def moderators(self) -> list["Attendee"]:
        return [p.attendee for p in self.people if p.role == "moderator"]

    @property
    def uid(self) -> str:
        """Stable identifier for calendar and schedule exports."""
        return f"{self.key or self.id}@{self.event.slug}.companion"


class SessionPerson(db.Model):
    """An attendee who speaks at or moderates a session."""

    __tablename__ = "session_people"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    attendee_id: Mapped[int] = mapped_column(
        ForeignKey("attendees.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(
        Enum(*PERSON_ROLES, name="session_role", native_enum=False, create_constraint=True),
        primary_key=True,
    )
    position: Mapped[int] = mapped_column(default=0)

    session: Mapped[Session] = relationship(back_populates="people")
    attendee: Mapped["Attendee"] = relationship()
