"""The outbox: messages written in the caller's transaction, claimed later to be sent.

Writers (`put`, `cancel`) never commit: they run inside the transaction of the change
that causes the message, so a message exists exactly when its cause does. The
dispatcher claims due messages (`claim`), which is safe with several workers: on
PostgreSQL with ``FOR UPDATE SKIP LOCKED``, elsewhere with a check-and-set update.
"""

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, insert, or_, select, update

from companion.extensions import db
from companion.people.models import Device

from .models import InboxNotification, OutboxMessage

# What a sender needs of a claimed message, read in one query.
SENDING_COLUMNS = (
    OutboxMessage.id, OutboxMessage.attendee_id, OutboxMessage.kind, OutboxMessage.title,
    OutboxMessage.body, OutboxMessage.data, OutboxMessage.collapse_key,
    OutboxMessage.expires_at, OutboxMessage.attempts, OutboxMessage.delivered_to,
    OutboxMessage.last_error,
)
NO_SYNC = {"synchronize_session": False}


def put(*, key: str, attendee_id: int, kind: str, title: str, body: str, due_at: datetime,
        expires_at: datetime | None = None, data: dict | None = None,
        collapse_key: str | None = None, session_id: int | None = None,
        existing: OutboxMessage | None = None) -> OutboxMessage:
    """Write the logical message ``key`` once; refresh it while it has not gone out.

    A sent, failed or expired message is history and stays as it is; a cancelled one
    that is wanted again becomes pending again. Pass ``existing`` when the caller has
    already loaded the row with this key.
    """
    row = existing
    if row is None:
        row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.key == key))
    if row is None:
        row = OutboxMessage(key=key, attendee_id=attendee_id, status="pending", attempts=0,
                            delivered_to=[], due_at=due_at, next_attempt_at=due_at)
        db.session.add(row)
    elif row.status not in ("pending", "cancelled"):
        return row
    row.kind, row.title, row.body, row.data = kind, title, body, data or {}
    row.expires_at, row.collapse_key, row.session_id = expires_at, collapse_key, session_id
    if row.attempts == 0:
        row.due_at = row.next_attempt_at = due_at
    row.status = "pending"
    return row


def cancel(rows) -> int:
    """Cancel the given messages that have not gone out; returns how many."""
    cancelled = 0
    for row in rows:
        if row.status == "pending":
            row.status = "cancelled"
            cancelled += 1
    return cancelled


# --- the dispatcher's side -------------------------------------------------------

def claimable(now: datetime):
    """Due and pending, or claimed by a worker whose lease ran out; and not expired."""
    return and_(
        or_(
            and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now),
            and_(OutboxMessage.status == "sending", OutboxMessage.locked_until < now),
        ),
        or_(OutboxMessage.expires_at.is_(None), OutboxMessage.expires_at > now),
    )


def claim(now: datetime, limit: int, lease: timedelta) -> list[int]:
    """Mark up to ``limit`` due messages as ours until ``now + lease``; their ids.

    Only this worker gets them: PostgreSQL skips rows another worker has locked,
    SQLite (whose ``FOR UPDATE`` is a no-op) claims row by row with a check-and-set
    update and keeps the rows whose update hit.
    """
    due = (
        select(OutboxMessage.id).where(claimable(now))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        locked = due.with_for_update(skip_locked=True).scalar_subquery()
        statement = (
            update(OutboxMessage).where(OutboxMessage.id.in_(locked))
            .values(**claimed_values(now, lease)).returning(OutboxMessage.id)
        )
        return list(db.session.scalars(statement, execution_options=NO_SYNC))
    return [message_id for message_id in db.session.scalars(due).all()
            if take(message_id, now, lease)]


def take(message_id: int, now: datetime, lease: timedelta) -> bool:
    """Check-and-set: claim one message only if it is still claimable at this moment."""
    hit = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, claimable(now))
        .values(**claimed_values(now, lease)),
        execution_options=NO_SYNC,
    )
    return hit.rowcount == 1


def claimed_values(now: datetime, lease: timedelta) -> dict:
    return {"status": "sending", "locked_until": now + lease,
            "attempts": OutboxMessage.attempts + 1}


def expire_overdue(now: datetime) -> int:
    """Give up on messages that were not sent before their expiry; never send them late."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.expires_at <= now,
            or_(
                OutboxMessage.status == "pending",
                and_(OutboxMessage.status == "sending", OutboxMessage.locked_until < now),
            ),
        )
        .values(status="expired", locked_until=None,
                last_error=func.coalesce(OutboxMessage.last_error, "expired before sending")),
        execution_options=NO_SYNC,
    )
    return result.rowcount


def load(ids: list[int]):
    """The claimed messages, as plain rows that outlive the transaction."""
    return db.session.execute(
        select(*SENDING_COLUMNS).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)
    ).all()


def devices_of(attendee_ids) -> dict[int, list]:
    rows = db.session.execute(
        select(Device.id, Device.attendee_id, Device.token, Device.platform)
        .where(Device.attendee_id.in_(set(attendee_ids)))
        .order_by(Device.id)
    ).all()
    devices: dict[int, list] = {}
    for row in rows:
        devices.setdefault(row.attendee_id, []).append(row)
    return devices


def open_inbox(messages, now: datetime) -> dict[int, int]:
    """Put each claimed message into its attendee's inbox once; outbox id -> inbox id.

    Runs in the claiming transaction, so a retry finds the entry of its first try.
    """
    inbox = dict(db.session.execute(
        select(InboxNotification.outbox_id, InboxNotification.id)
        .where(InboxNotification.outbox_id.in_([m.id for m in messages]))
    ).all())
    new = [
        {"attendee_id": m.attendee_id, "outbox_id": m.id, "kind": m.kind, "title": m.title,
         "body": m.body, "data": m.data, "created_at": now}
        for m in messages if m.id not in inbox
    ]
    if new:
        inbox.update(db.session.execute(
            insert(InboxNotification).returning(
                InboxNotification.outbox_id, InboxNotification.id
            ),
            new,
        ).all())
    return inbox


def settle(changes: list[dict], gone_devices: set[int]) -> None:
    """Write what sending did: each message's new state, and drop dead devices."""
    if changes:
        db.session.execute(update(OutboxMessage), changes)
    if gone_devices:
        db.session.execute(
            delete(Device).where(Device.id.in_(gone_devices)), execution_options=NO_SYNC
        )


def next_due() -> datetime | None:
    """When the earliest pending message falls due (the worker sleeps until then)."""
    return db.session.scalar(
        select(func.min(OutboxMessage.next_attempt_at)).where(OutboxMessage.status == "pending")
    )
