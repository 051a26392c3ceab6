"""The conference itself: events, rooms and the sessions of the agenda."""

import uuid
from datetime import date, datetime, time
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Enum, ForeignKey, String, Text, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import UTCDateTime, utcnow

if TYPE_CHECKING:
    from ..people.models import Attendee

SESSION_KINDS = (
    "registration", "opening", "keynote", "panel", "talk", "workshop", "break", "lunch",
    "side_event", "networking", "closing", "other",
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
    # Bumped by whatever writes the live tables outside a release (the seed command):
    # with the released version, the key of the kept public answers and of the ETags.
    live_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    # The local time at which one event day ends and the next begins (null: midnight);
    # see companion.schedule.days.
    day_change: Mapped[time | None] = mapped_column(Time)
    # Where `events import` read the programme from, for `events sync`: the URL, the
    # validators of the last answer, and whether a changed source is released at once.
    source_url: Mapped[str | None] = mapped_column(String(2000))
    source_etag: Mapped[str | None] = mapped_column(String(500))
    source_modified: Mapped[str | None] = mapped_column(String(100))
    source_publish: Mapped[bool] = mapped_column(default=False, server_default="0")
    source_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

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
    # [{"kind": "cafeteria", "name": "...", "where": "..."}], null until someone knows.
    facilities: Mapped[list | None] = mapped_column(JSON)

    event: Mapped[Event] = relationship(back_populates="rooms")


class Session(db.Model):
    """An agenda item. ``guid`` is its identity across versions and sources (an imported
    schedule's frab/c3voc guid); ``key`` names the ones of our own conference JSON."""

    __tablename__ = "sessions"
    __table_args__ = (UniqueConstraint("event_id", "key"), UniqueConstraint("event_id", "guid"))

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    key: Mapped[str | None] = mapped_column(String(64))
    guid: Mapped[str] = mapped_column(String(64), default=lambda: str(uuid.uuid4()))
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
    online_url: Mapped[str | None] = mapped_column(String(500))  # a stream or meeting link
    language: Mapped[str | None] = mapped_column(String(35))
    # Speakers an imported schedule names who are not linked to an attendee (yet).
    speaker_names: Mapped[list] = mapped_column(JSON, default=list)

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
    def speakers_shown(self) -> list[dict]:
        """The speakers as the agenda shows them: linked attendees, then the names an
        imported schedule gives (``id`` null)."""
        return [{"id": a.id, "name": a.name, "organisation": a.organisation}
                for a in self.speakers] + [
            {"id": None, "name": name, "organisation": None}
            for name in self.speaker_names or []]

    @property
    def moderators(self) -> list["Attendee"]:
        return [p.attendee for p in self.people if p.role == "moderator"]

    @property
    def uid(self) -> str:
        """Stable identifier for calendar exports (as before guids were kept)."""
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


DRAFT_TARGETS = ("session", "room")


class DraftEdit(db.Model):
    """An organiser's edit waiting for the next release: the whole new state of one
    session or room (``state`` null: deleted). Live tables are the released schedule;
    an item without a draft edit is as released. A new item gets its id here, from the
    same number space as the live table, and keeps it when released."""

    __tablename__ = "schedule_draft"

    target: Mapped[str] = mapped_column(
        Enum(*DRAFT_TARGETS, name="draft_target", native_enum=False, create_constraint=True),
        primary_key=True,
    )
    target_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    state: Mapped[dict | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ScheduleVersion(db.Model):
    """A released schedule: its number (1, 2, ...), the organiser's note and the
    changelog against the version before."""

    __tablename__ = "schedule_versions"
    __table_args__ = (UniqueConstraint("event_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    note: Mapped[str | None] = mapped_column(Text)
    changes: Mapped[list] = mapped_column(JSON, default=list)
    # Ids of the sessions the release changed or removed (for ?since=N).
    session_ids: Mapped[list] = mapped_column(JSON, default=list)
    notified: Mapped[int] = mapped_column(default=0)
    # What asked for this release ({"action": "session.delay", "session_id", "minutes",
    # "shift_following", "by"}), so that the same request racing it gets its answer.
    origin: Mapped[dict | None] = mapped_column(JSON)
    released_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    released_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("attendees.id", ondelete="SET NULL")
    )

    event: Mapped[Event] = relationship()

    @property
    def timezone(self) -> str:
        return self.event.timezone
