"""Attendees and what belongs to each of them: sign-in, bookmarks, devices."""

from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..schedule.models import LANGUAGES, Event
from ..timeutil import UTCDateTime, utcnow

ROLES = ("attendee", "speaker", "moderator", "organiser")
PLATFORMS = ("android", "ios", "web")
NOTIFY_CATEGORIES = ("reminders", "schedule_changes", "announcements", "networking")


def default_notify() -> dict:
    return {category: True for category in NOTIFY_CATEGORIES}


class Attendee(db.Model):
    __tablename__ = "attendees"
    __table_args__ = (UniqueConstraint("event_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str | None] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(
        Enum(*LANGUAGES, name="language", native_enum=False, create_constraint=True),
        default="en",
    )
    roles: Mapped[list] = mapped_column(JSON, default=lambda: ["attendee"])
    access_code_hash: Mapped[str | None] = mapped_column(String(200))
    reminder_minutes: Mapped[int] = mapped_column(default=10)
    notify: Mapped[dict] = mapped_column(JSON, default=default_notify)
    directory_visible: Mapped[bool] = mapped_column(default=False)
    # Bumped to revoke every personal calendar URL handed out so far.
    calendar_generation: Mapped[int] = mapped_column(default=0)
    # Bumped by every change of the attendee's own that shapes their agenda (bookmarks,
    # preferences): with the released schedule's version, it is /me/schedule's ETag.
    agenda_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # --- the networking profile (companion/networking) ------------------------------
    # Shown in the directory only while directory_visible is on; email, phone and links
    # only to accepted contacts, and each only when its share_* box is ticked.
    title: Mapped[str | None] = mapped_column(String(100))
    bio: Mapped[str | None] = mapped_column(String(1000))
    topics: Mapped[list] = mapped_column(JSON, default=list)
    languages_spoken: Mapped[list] = mapped_column(JSON, default=list)
    phone: Mapped[str | None] = mapped_column(String(40))
    links: Mapped[list] = mapped_column(JSON, default=list)
    share_email: Mapped[bool] = mapped_column(default=False)
    share_phone: Mapped[bool] = mapped_column(default=False)
    share_links: Mapped[bool] = mapped_column(default=False)
    # The code of the contact card (its QR image); rotating replaces it. None: not made.
    contact_code: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Name, organisation, country and topics, case- and accent-folded, for the
    # directory's search (kept by companion.networking.models on every flush).
    search_text: Mapped[str | None] = mapped_column(Text)
    # ---------------------------------------------------------------------------------

    event: Mapped[Event] = relationship()
    devices: Mapped[list["Device"]] = relationship(
        back_populates="attendee", cascade="all, delete-orphan"
    )

    def has_role(self, role: str) -> bool:
        return role in (self.roles or [])


class AccessToken(db.Model):
    """A bearer token; only its hash is kept."""

    __tablename__ = "access_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    attendee_id: Mapped[int] = mapped_column(
        ForeignKey("attendees.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    attendee: Mapped[Attendee] = relationship()


class Bookmark(db.Model):
    """An attendee's choice about one session: followed, or muted (``following`` false)."""

    __tablename__ = "bookmarks"

    attendee_id: Mapped[int] = mapped_column(
        ForeignKey("attendees.id", ondelete="CASCADE"), primary_key=True
    )
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    following: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Device(db.Model):
    """A phone's push registration; the token belongs to one attendee at a time."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    attendee_id: Mapped[int] = mapped_column(
        ForeignKey("attendees.id", ondelete="CASCADE"), index=True
    )
    token: Mapped[str] = mapped_column(String(512), unique=True)
    platform: Mapped[str] = mapped_column(
        Enum(*PLATFORMS, name="platform", native_enum=False, create_constraint=True)
    )
    # None: the phone follows the attendee's language.
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    attendee: Mapped[Attendee] = relationship(back_populates="devices")

    @property
    def push_language(self) -> str:
        """The language to write this phone's pushes in."""
        return self.language or self.attendee.language

    @property
    def timezone(self) -> str:
        return self.attendee.event.timezone
