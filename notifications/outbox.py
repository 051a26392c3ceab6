"""The outbox: messages written in the caller's transaction, claimed later to be sent.

Its one writer is `notify.notify`, which never commits: it runs inside the transaction
of the change that causes the message, so a message exists exactly when its cause does. The
dispatcher claims due messages (`claim`), which is safe with several workers: on
PostgreSQL with ``FOR UPDATE SKIP LOCKED``, elsewhere with a check-and-set update.

On PostgreSQL a transaction that writes messages also says so on the channel
``push_outbox`` (`wake_workers`: ``NOTIFY``, delivered when it commits, never if it rolls
back), and idle workers wait on it (`Listener`) rather than for their next poll.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from time import monotonic

from sqlalchemy import (
    Boolean,
    Integer,
    and_,
    any_,
    bindparam,
    exists,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from companion.extensions import db
from companion.people.models import Device
from companion.timeutil import UTCDateTime

from .models import LIVE, REMINDER, InboxNotification, OutboxFanout, OutboxMessage, ReminderReplan

NO_SYNC = {"synchronize_session": False}

# The dispatcher's statements work on the tables directly (Core, not ORM objects): it
# handles hundreds of rows a batch, and plain rows outlive the claiming transaction.
OUTBOX = OutboxMessage.__table__
INBOX = InboxNotification.__table__
DEVICES = Device.__table__
IDS = bindparam("ids", expanding=True)


class AmongIds(ColumnElement):
    """``column IN :ids`` for a batch's ids (a list bound as ``ids``).

    On PostgreSQL ``column = ANY(:ids)``, the list as one array parameter: an expanded
    ``IN`` of 500 placeholders is too long for psycopg's query cache, and was split and
    parsed again on every statement of every batch. Elsewhere the expanding ``IN``.
    """

    type = Boolean()
    inherit_cache = True
    _traverse_internals = (("column", InternalTraversal.dp_clauseelement),)

    def __init__(self, column):
        self.column = column


@compiles(AmongIds)
def _among_ids(element, compiler, **kw):
    return compiler.process(element.column.in_(IDS), **kw)


@compiles(AmongIds, "postgresql")
def _among_ids_as_array(element, compiler, **kw):
    ids = bindparam("ids", type_=ARRAY(Integer))
    return compiler.process(element.column == any_(ids), **kw)


# A claimed message once per device of its attendee (once with no device if none).
LOAD = (
    select(OUTBOX.c.id, OUTBOX.c.attendee_id, OUTBOX.c.kind, OUTBOX.c.title, OUTBOX.c.body,
           OUTBOX.c.data, OUTBOX.c.text_values, OUTBOX.c.collapse_key, OUTBOX.c.expires_at,
           OUTBOX.c.priority,
           OUTBOX.c.attempts, OUTBOX.c.next_attempt_at, OUTBOX.c.delivered_to,
           OUTBOX.c.last_error, DEVICES.c.id.label("device_id"), DEVICES.c.token,
           DEVICES.c.platform, DEVICES.c.language)
    .select_from(OUTBOX.outerjoin(DEVICES, DEVICES.c.attendee_id == OUTBOX.c.attendee_id))
    .where(AmongIds(OUTBOX.c.id))
    .order_by(OUTBOX.c.id, DEVICES.c.id)
)
INBOX_OF = select(INBOX.c.outbox_id, INBOX.c.id).where(AmongIds(INBOX.c.outbox_id))
# Copied inside the database: the messages of IDS that have no inbox entry yet.
OPEN_INBOX = INBOX.insert().from_select(
    ["attendee_id", "outbox_id", "kind", "title", "body", "data", "created_at"],
    select(OUTBOX.c.attendee_id, OUTBOX.c.id, OUTBOX.c.kind, OUTBOX.c.title,
           func.coalesce(OUTBOX.c.inbox_body, OUTBOX.c.body), OUTBOX.c.data,
           bindparam("now", type_=UTCDateTime()))
    .where(AmongIds(OUTBOX.c.id), ~exists().where(INBOX.c.outbox_id == OUTBOX.c.id)),
).returning(INBOX.c.outbox_id, INBOX.c.id)
SETTLE = (
    OUTBOX.update().where(OUTBOX.c.id == bindparam("message_id"))
    .values(tokens_pruned=OUTBOX.c.tokens_pruned + bindparam("pruned"))
)
SENT = (
    OUTBOX.update().where(AmongIds(OUTBOX.c.id))
    .values(status="sent", sent_at=bindparam("now"), locked_until=None)
)
FORGET_DEVICES = DEVICES.delete().where(AmongIds(DEVICES.c.id))


@dataclass
class Claimed:
    """A claimed message (a row of LOAD) and its attendee's devices when it was claimed."""

    message: object
    devices: list = field(default_factory=list)


# --- the dispatcher's side -------------------------------------------------------

def claimable(now: datetime):
    """Due and pending, or claimed by a worker whose lease ran out; and not expired.

    Spelt for the partial index on (next_attempt_at, id) of live messages: a claimed
    message was due when it was claimed, so ``next_attempt_at <= now`` holds for both
    kinds, and the claim reads the index in order and stops after its batch, however
    many messages wait (bench/growth.py).
    """
    return and_(
        OutboxMessage.status.in_(LIVE),
        OutboxMessage.next_attempt_at <= now,
        or_(OutboxMessage.status == "pending", OutboxMessage.locked_until < now),
        or_(OutboxMessage.expires_at.is_(None), OutboxMessage.expires_at > now),
        # not a reminder whose session a release left to re-plan (models.ReminderReplan):
        # spelt NOT IN, a filter on each row the index gives (the table is all but
        # always empty), not a join that would read every live message first
        or_(OutboxMessage.kind != REMINDER,
            OutboxMessage.session_id.not_in(select(ReminderReplan.session_id))),
    )


def claim(now: datetime, limit: int, lease: timedelta) -> list[int]:
    """Mark up to ``limit`` due messages as ours until ``now + lease``; their ids.

    Only this worker gets them: PostgreSQL skips rows another worker has locked;
    SQLite (whose ``FOR UPDATE`` is a no-op) picks candidates, then `take`s them with
    a check-and-set update.
    """
    due = (
        select(OutboxMessage.id).where(claimable(now))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        statement = (
            update(OutboxMessage).where(locked_among(due))
            .values(**claimed_values(now, lease)).returning(OutboxMessage.id)
        )
        return list(db.session.scalars(statement, execution_options=NO_SYNC))
    return take(db.session.scalars(due).all(), now, lease)


def locked_among(candidates):
    """PostgreSQL: ``id = ANY(ARRAY(candidates FOR UPDATE SKIP LOCKED))``, the rows an
    ``UPDATE`` of messages may write. The candidates are found and locked once, then
    the rows are reached through the primary key. Spelt ``id IN (subquery)``, the planner
    may join against a scan of the table and, when its statistics say few rows match,
    run the locking subquery again for each row it finds (`renewal`)."""
    return OutboxMessage.id == any_(func.array(
        candidates.with_for_update(skip_locked=True).scalar_subquery()))


def take(ids: list[int], now: datetime, lease: timedelta) -> list[int]:
    """Check-and-set: claim those of ``ids`` that are still claimable; the ones we got.

    The update repeats the claimable test, so a message another worker took since we
    picked it is not hit, and not returned.
    """
    if not ids:
        return []
    statement = (
        update(OutboxMessage)
        .where(AmongIds(OutboxMessage.id), claimable(now))
        .values(**claimed_values(now, lease))
        .returning(OutboxMessage.id)
    )
    return list(db.session.scalars(statement, {"ids": ids}, execution_options=NO_SYNC))


def claimed_values(now: datetime, lease: timedelta) -> dict:
    return {"status": "sending", "locked_until": now + lease,
            "attempts": OutboxMessage.attempts + 1}


def renew(ids: list[int], until: datetime) -> None:
    """Extend the lease of messages still being sent (the dispatcher's heartbeat).

    On PostgreSQL it skips rows locked right now (their outcome being written): it never
    waits for, nor deadlocks with, the dispatcher's own settling.
    """
    dialect = db.session.get_bind().dialect.name
    db.session.execute(renewal(dialect), {"ids": ids, "until": until},
                       execution_options=NO_SYNC)


def renewal(dialect: str):
    """The heartbeat's ``UPDATE`` (parameters ``ids`` and ``until``).

    On PostgreSQL through `locked_among`, as the claim. Spelt ``id IN (subquery)``, with
    statistics that say few messages are being sent (most are sent), the planner scanned
    the table and ran the locking subquery again for each row it found: 0.9 s for 1,000
    held messages, while the dispatcher's settling waited on its locks
    (bench/releases.py).
    """
    held = and_(AmongIds(OutboxMessage.id), OutboxMessage.status == "sending")
    if dialect == "postgresql":
        held = locked_among(select(OutboxMessage.id).where(held))
    return update(OutboxMessage).where(held).values(locked_until=bindparam("until"))


def take_waiting(table, limit: int, *columns) -> list:
    """Up to ``limit`` rows of a table of work waiting for the dispatcher (fan-outs,
    re-plans), deleted as they are taken: their ``columns``, oldest first. On
    PostgreSQL a row another worker holds is skipped; on SQLite the write lock keeps
    workers apart."""
    taken = (select(table.c.id).order_by(table.c.id).limit(limit)
             .with_for_update(skip_locked=True))
    rows = db.session.execute(table.delete().where(table.c.id.in_(taken))
                              .returning(table.c.id.label("taken_id"), *columns)).all()
    return sorted(rows, key=lambda row: row.taken_id)  # RETURNING keeps no order


def expire_overdue(now: datetime) -> int:
    """Give up on messages that were not sent before their expiry; never send them late."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status.in_(LIVE),  # the partial index on expires_at
            OutboxMessage.expires_at <= now,
            or_(OutboxMessage.status == "pending", OutboxMessage.locked_until < now),
        )
        .values(status="expired", locked_until=None,
                last_error=func.coalesce(OutboxMessage.last_error, "expired before sending")),
        execution_options=NO_SYNC,
    )
    return result.rowcount


def revive(now: datetime) -> int:
    """Messages never tried that expired by the clock but are in time at ``now``: pending.

    For ``dispatch --once --now`` in a rehearsal: a worker on today's clock expires the
    reminders of a conference in the past as soon as they are planned; replaying that
    moment sends them. Call it in the transaction that claims (no worker comes between).
    No index has the expired messages: it reads the table, once per rehearsal.
    """
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == "expired", OutboxMessage.attempts == 0,
               OutboxMessage.expires_at > now)
        .values(status="pending", last_error=None, locked_until=None),
        execution_options=NO_SYNC,
    )
    return result.rowcount


def load(ids: list[int]) -> list[Claimed]:
    """The claimed messages with their devices, as plain rows."""
    claimed: dict[int, Claimed] = {}
    for row in db.session.execute(LOAD, {"ids": ids}).all():  # one fetchall, not one fetch a row
        entry = claimed.get(row.id)
        if entry is None:
            entry = claimed[row.id] = Claimed(row)
        if row.device_id is not None:
            entry.devices.append(row)
    return list(claimed.values())


def open_inbox(ids: list[int], now: datetime) -> dict[int, int]:
    """Put each claimed message into its attendee's inbox once; outbox id -> inbox id.

    Runs in the claiming transaction; a retry finds the entry of its first attempt.
    """
    inbox = dict(db.session.execute(OPEN_INBOX, {"ids": ids, "now": now}).all())
    retried = [message_id for message_id in ids if message_id not in inbox]
    if retried:
        inbox.update(db.session.execute(INBOX_OF, {"ids": retried}).all())
    return inbox


def settle(sent: list[int], changes: list[dict], gone_devices: set[int],
           now: datetime) -> None:
    """Write what sending did, and drop dead devices.

    ``sent``: messages that went to every device, the common case, in one statement;
    ``changes``: the others, each naming its message (``message_id``) and giving the
    same columns.
    """
    if sent:
        db.session.execute(SENT, {"ids": sent, "now": now})
    if changes:
        db.session.execute(SETTLE, changes)
    if gone_devices:
        db.session.execute(FORGET_DEVICES, {"ids": list(gone_devices)})


def next_due() -> datetime | None:
    """When the earliest pending message falls due (the worker sleeps until then), or
    a fan-out whose messages are still to be written, or reminders still to re-plan.
    Spelt for the partial index on (next_attempt_at, id) of live messages."""
    due = [moment for moment in db.session.execute(select(
        select(func.min(OutboxMessage.next_attempt_at))
        .where(OutboxMessage.status.in_(LIVE), OutboxMessage.status == "pending")
        .scalar_subquery(),
        select(func.min(OutboxFanout.due_at)).scalar_subquery(),
        select(func.min(ReminderReplan.created_at)).scalar_subquery(),
    )).one() if moment is not None]
    return min(due, default=None)


# --- waking idle workers (PostgreSQL) ---------------------------------------------

CHANNEL = "push_outbox"
# A listening worker looks at its stop flag at least this often (seconds).
STOP_CHECK = 0.25


def wake_workers() -> None:
    """Tell the listening workers that this transaction wrote messages.

    PostgreSQL delivers the ``NOTIFY`` when the transaction commits (once, however often
    it was said in it) and drops it on rollback. Elsewhere nothing: workers poll.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text(f"NOTIFY {CHANNEL}"))


class Listener:
    """PostgreSQL: a connection of the worker's own, in autocommit, listening on
    `CHANNEL`. `wait` returns as soon as a transaction that wrote messages commits."""

    def __init__(self, connection):
        self.connection = connection
        self.driver = connection.connection.driver_connection  # psycopg's

    @classmethod
    def open(cls) -> "Listener | None":
        """Listening from now on; None on a database without ``LISTEN`` (SQLite)."""
        if db.engine.dialect.name != "postgresql":
            return None
        connection = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            connection.exec_driver_sql(f"LISTEN {CHANNEL}")
        except Exception:
            connection.invalidate()
            connection.close()
            raise
        return cls(connection)

    def wait(self, seconds: float, stopping) -> bool:
        """Until a notification, ``seconds``, or the ``stopping`` event; True if notified.

        Notifications that came meanwhile are all taken: one wake-up for a burst.
        """
        deadline = monotonic() + seconds
        while not stopping.is_set() and (left := deadline - monotonic()) > 0:
            notified = False
            for _ in self.driver.notifies(timeout=min(left, STOP_CHECK), stop_after=1):
                notified = True
            if notified:
                for _ in self.driver.notifies(timeout=0):
                    pass
                return True
        return False

    def close(self) -> None:
        """Closed for good (not back to the pool, where it would still be listening)."""
        self.connection.invalidate()
        self.connection.close()
