"""The outbox of pushes still to send, and each attendee's in-app inbox."""

from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from companion.extensions import db
from companion.people.models import Attendee
from companion.timeutil import UTCDateTime, utcnow

# pending: waiting for next_attempt_at; sending: claimed by a worker until locked_until;
# sent, failed (for good, reason in last_error), expired (too late to matter),
# cancelled (what caused it went away): final.
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed", "expired", "cancelled")
# Still to send: what the dispatcher's queries look at (and its partial indexes hold).
LIVE = ("pending", "sending")
LIVE_SQL = "status IN ('pending', 'sending')"
# The kinds whose messages are counted and withdrawn by origin (``announcement:<id>``,
# ``ping:<id>``: notifications/broadcasts.py); only theirs are in the index on origin.
BROADCASTS = ("announcement", "ping")
BROADCASTS_SQL = "kind IN ('announcement', 'ping')"
# The kind of a session's reminders (notifications/reminders.py).
REMINDER = "reminder"


class OutboxMessage(db.Model):
    """One logical message to one attendee, sent to each of their devices.

    Written in the same transaction as the change that causes it, sent after commit
    by the dispatcher. ``key`` names the logical message, so writing it twice is a no-op.
    """

    __tablename__ = "push_outbox"
    # Every index is written with every message (a release writes thousands): the
    # partial ones hold only the rows their queries read.
    __table_args__ = (
        # Only the messages still to send (a few thousand at a time, while the sent ones
        # pile up): the claim reads the first by due time, the expiry the overdue ones,
        # the worker the next due time.
        Index("ix_push_outbox_live_next_attempt_at", "next_attempt_at", "id",
              postgresql_where=text(LIVE_SQL), sqlite_where=text(LIVE_SQL)),
        Index("ix_push_outbox_live_expires_at", "expires_at",
              postgresql_where=text(LIVE_SQL), sqlite_where=text(LIVE_SQL)),
        # Only the broadcasts' messages: no one reads reminders or schedule changes by
        # origin.
        Index("ix_push_outbox_broadcast_origin", "origin",
              postgresql_where=text(BROADCASTS_SQL), sqlite_where=text(BROADCASTS_SQL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    # What it is part of, when that is one thing sent to many (announcement:<id>,
    # ping:<id>): the key's prefix, indexed (for BROADCASTS) to count a broadcast's
    # messages by status.
    origin: Mapped[str | None] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    attendee_id: Mapped[int] = mapped_column(
        ForeignKey("attendees.id", ondelete="CASCADE"), index=True
    )
    # A deleted session takes its reminders with it: they must never go out.
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    # What title and body are written from (see kinds.py), to write them again in a
    # phone's own language; None for a message that exists in one language only.
    text_values: Mapped[dict | None] = mapped_column(JSON)
    collapse_key: Mapped[str | None] = mapped_column(String(64))
    # What the inbox shows when it says more than the lock screen may (a person's name).
    inbox_body: Mapped[str | None] = mapped_column(Text)
    # normal, high, urgent (high, and time-sensitive on iOS): see kinds.PRIORITIES.
    priority: Mapped[str] = mapped_column(String(8), default="high")
    status: Mapped[str] = mapped_column(
        Enum(*OUTBOX_STATUSES, name="outbox_status", native_enum=False, create_constraint=True),
        default="pending",
    )
    attempts: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Never sent at or after this instant (a reminder: its session's start).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Devices that already have it, so that a retry only goes to the others.
    delivered_to: Mapped[list] = mapped_column(JSON, default=list)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Devices FCM no longer knew while sending it (forgotten since): its tokens pruned.
    tokens_pruned: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    attendee: Mapped[Attendee] = relationship()


class OutboxFanout(db.Model):
    """One message to a crowd in one language, not yet a row per attendee.

    Writing thousands of outbox rows (each into six indexes) was most of a release's
    time; this row says the same, who, what and when, in the releasing transaction, and
    the dispatcher writes the rows from it (`notify.expand`) before it claims, in a
    transaction of its own that deletes it. For the kinds whose messages nothing reads
    before they are sent (`kinds.Kind.fan_out`), and audiences of ``PUSH_FANOUT_FROM``
    or more.
    """

    __tablename__ = "push_fanouts"

    id: Mapped[int] = mapped_column(primary_key=True)
    # notify's key pattern: the messages' keys (with each attendee's id) and origin.
    key: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    # The attendees, as `companion.db.ids_text` writes them for the database in use.
    attendee_ids: Mapped[str] = mapped_column(Text)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    inbox_body: Mapped[str | None] = mapped_column(Text)
    text_values: Mapped[dict | None] = mapped_column(JSON)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    collapse_key: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(8))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReminderReplan(db.Model):
    """A session's reminders to a crowd, still to follow a release.

    Once a release's pushes were fan-outs, re-keying the reminders of a session
    thousands follow (a new row version in six indexes each) was most of its time. For
    a session of ``PUSH_FANOUT_FROM`` people or more, the release writes this row
    instead, in its transaction, and the dispatcher re-plans the reminders from the
    session as it is then (`notifications.releases.replan_waiting`), before it claims,
    in a transaction of its own that deletes the row. Until then no reminder of the
    session is claimed (`outbox.claimable`): none goes out at an old time, nor for a
    cancelled session.
    """

    __tablename__ = "reminder_replans"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    # When the session started before the release: what its pending reminders' keys
    # name, to re-key them in place. None for a session the release added.
    starts_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboxNotification(db.Model):
    """What was pushed to an attendee, readable in the app even without a device."""

    __tablename__ = "inbox_notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    attendee_id: Mapped[int] = mapped_column(
        ForeignKey("attendees.id", ondelete="CASCADE"), index=True
    )
    outbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("push_outbox.id", ondelete="SET NULL"), unique=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    attendee: Mapped[Attendee] = relationship()

    @property
    def timezone(self) -> str:
        return self.attendee.event.timezone
