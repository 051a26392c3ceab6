"""Contacts between attendees, the requests that lead to them, and blocks.

A contact is two rows, one each way, made at once (a scanned card, an accepted
request), so that "my contacts" is one indexed lookup. A request stays until it is
answered; a declined one stays declined (the requester is never told), which also
absorbs any repeat of it. A block removes both ways whatever linked the two.
"""

import re
import unicodedata
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..people.models import Attendee
from ..schedule.models import Event
from ..timeutil import UTCDateTime, utcnow

REQUEST_STATUSES = ("pending", "accepted", "declined")
VIAS = ("card", "request")


class ContactRequest(db.Model):
    __tablename__ = "contact_requests"
    __table_args__ = (UniqueConstraint("requester_id", "recipient_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    requester_id: Mapped[int] = mapped_column(
        ForeignKey("attendees.id", ondelete="CASCADE"), index=True
    )
    recipient_id: Mapped[int] = mapped_column(
        ForeignKey("attendees.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(
        Enum(*REQUEST_STATUSES, name="contact_request_status", native_enum=False,
             create_constraint=True),
        default="pending",
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    requester: Mapped[Attendee] = relationship(foreign_keys=[requester_id])
    recipient: Mapped[Attendee] = relationship(foreign_keys=[recipient_id])

    @property
    def timezone(self) -> str:
        return self.recipient.event.timezone


class Contact(db.Model):
    """``owner`` has ``contact`` among their contacts (the other row has it the other way)."""

    __tablename__ = "contacts"

    owner_id: Mapped[int] = mapped_column(
        ForeignKey("attendees.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("attendees.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    via: Mapped[str] = mapped_column(
        Enum(*VIAS, name="contact_via", native_enum=False, create_constraint=True)
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contact: Mapped[Attendee] = relationship(foreign_keys=[contact_id])

    @property
    def timezone(self) -> str:
        return self.contact.event.timezone


class Block(db.Model):
    """``blocker`` blocked ``blocked``: no requests either way, each hidden from the other."""

    __tablename__ = "blocks"

    blocker_id: Mapped[int] = mapped_column(
        ForeignKey("attendees.id", ondelete="CASCADE"), primary_key=True
    )
    blocked_id: Mapped[int] = mapped_column(
        ForeignKey("attendees.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PrivacyCount(db.Model):
    """What is kept of erased people: anonymous counts per event, nothing else."""

    __tablename__ = "privacy_counts"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)

    event: Mapped[Event] = relationship()


# --- the directory's search text ---------------------------------------------------

def fold(text: str) -> str:
    """Case and accents folded away: "Österreich" and "osterreich" match."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def search_text(attendee: Attendee) -> str:
    """Words only (letters and digits), folded: what the directory's search matches."""
    parts = [attendee.name, attendee.organisation, attendee.country, *(attendee.topics or [])]
    return " ".join(re.findall(r"[^\W_]+", fold(" ".join(part for part in parts if part))))


@event.listens_for(Attendee, "before_insert")
@event.listens_for(Attendee, "before_update")
def keep_search_text(mapper, connection, attendee: Attendee) -> None:
    attendee.search_text = search_text(attendee)
