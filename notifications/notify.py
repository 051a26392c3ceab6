"""``notify``: the one way to send a push, to any number of attendees.

Every kind of push (see kinds.py) goes through here and into the outbox, in the
caller's transaction: the request or command that caused it commits it with its cause,
and the dispatcher sends it after that. Nothing here commits.
"""

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import (
    JSON,
    Integer,
    String,
    Text,
    bindparam,
    case,
    cast,
    exists,
    literal,
    or_,
    select,
)

from companion.db import Unindexed, dialect_insert, each_of, ids_text
from companion.extensions import db
from companion.people.models import Attendee
from companion.timeutil import UTCDateTime, utcnow

from . import kinds, outbox
from .models import OutboxFanout, OutboxMessage

OUTBOX = OutboxMessage.__table__
FANOUTS = OutboxFanout.__table__
# A message that went out (or failed, or expired) is history: writing it again is a no-op.
OPEN = ("pending", "cancelled")


@dataclass
class Notified:
    """What a `notify` did: messages queued, and recipients skipped by their preference."""

    queued: int = 0
    muted: int = 0
    keys: list[str] = field(default_factory=list)

    def add(self, other: "Notified") -> "Notified":
        self.queued += other.queued
        self.muted += other.muted
        self.keys.extend(other.keys)
        return self


def wants(attendee: Attendee, kind: kinds.Kind) -> bool:
    """Whether the attendee lets this kind reach them (its category is not switched off)."""
    if kind.category is None:
        return True
    return (attendee.notify or {}).get(kind.category, True) is not False


def per_recipient(value, attendee):
    return value(attendee) if callable(value) else value


def notify(kind: str, recipients: Iterable[Attendee], values: dict | Callable[[Attendee], dict],
           *, key: str | Callable[[Attendee], str],
           due_at: datetime | Callable[[Attendee], datetime] | None = None,
           expires_at: datetime | None = None, session_id: int | None = None,
           data: dict | None = None, always: Collection[int] = (),
           priority: str | None = None, replaces: str | None = None) -> Notified:
    """Queue a message of ``kind`` for each recipient, in their language.

    - ``values``: what the kind's texts are written from (kinds.py); one dict for all,
      or a function of the recipient.
    - ``key`` names the logical message: writing the same key again refreshes a message
      that has not gone out and changes nothing otherwise. A string is a prefix (the
      recipient's id is added), or a pattern with ``{attendee_id}`` where the id goes;
      either way that string is the messages' ``origin``, which counts a broadcast's
      messages by status. A function gives each recipient's whole key.
    - ``due_at`` (default now), a datetime or a function of the recipient;
      ``expires_at`` (default: due plus the kind's time to live, else never): it is never
      sent at or after then.
    - ``always``: ids of recipients told whatever their preferences (a changed session's
      speakers). A kind without a category is never muted.
    - ``priority``: the kind's unless given (kinds.PRIORITIES).
    - ``replaces``: a key pattern (as ``key``, a string) naming messages this one takes
      the place of, as a moved session's reminder takes the place of the one at its old
      time: a recipient's message of that key, still pending and never tried, BECOMES
      this message in place (new key, texts and due time), rather than staying for the
      caller to cancel while a new row is written; unless another message holds the new
      key already (that one is refreshed as usual, and the old one left to the caller).
      Shared values, key and due time only.

    Recipients who switched the kind's category off get nothing, not even an inbox entry:
    they are counted in ``muted``. A handful of statements for any number of recipients:
    when values, key and due time are the same for all (not functions), the texts are
    rendered once per language and the database writes the rows itself, one
    ``INSERT ... SELECT`` from the attendees per language (`write_shared`).
    """
    spec = kinds.get(kind)
    priority = priority or spec.priority
    if priority not in kinds.PRIORITIES:
        raise ValueError(f"priority must be one of {kinds.PRIORITIES}, not {priority!r}")
    now = utcnow()
    if not any(callable(value) for value in (values, key, due_at)):
        return write_shared(kind, spec, recipients, values, key, due_at or now, expires_at,
                            session_id, data, always, priority, now, replaces)
    if replaces is not None:
        raise ValueError("replaces needs shared values, key and due time")
    rendered: dict[tuple[str, int], kinds.Texts] = {}  # by language, for shared values
    rows, notified = [], Notified()
    origin = key if isinstance(key, str) else None
    for attendee in recipients:
        if attendee.id not in always and not wants(attendee, spec):
            notified.muted += 1
            continue
        texts_values = per_recipient(values, attendee)
        language = attendee.language
        cache_key = (language, id(texts_values))
        texts = rendered.get(cache_key) if not callable(values) else None
        if texts is None:
            texts = spec.texts(kinds.Reader(language), texts_values)
            if not callable(values):
                rendered[cache_key] = texts
        due = per_recipient(due_at, attendee) or now
        expires = expires_at if expires_at is not None else (
            due + spec.ttl if spec.ttl is not None else None
        )
        message_key = key(attendee) if callable(key) else key_of(key, attendee.id)
        rows.append({
            "key": message_key, "origin": origin, "kind": kind, "attendee_id": attendee.id,
            "session_id": session_id, "title": texts.title, "body": texts.body,
            "inbox_body": texts.inbox_body, "text_values": texts_values,
            "data": {"type": kind, **(data or {})},
            "collapse_key": spec.collapse_key(texts_values), "priority": priority,
            "status": "pending", "attempts": 0, "delivered_to": [],
            "due_at": due, "next_attempt_at": due, "expires_at": expires, "created_at": now,
        })
        notified.keys.append(message_key)
    if rows:
        db.session.execute(upsert_statement(), rows)  # one executemany
        outbox.wake_workers()
    notified.queued = len(rows)
    return notified


ID = "{attendee_id}"
# Columns written by write_shared, in the order of its SELECT.
SHARED_COLUMNS = ("key", "attendee_id", "origin", "kind", "session_id", "title", "body",
                  "inbox_body", "text_values", "data", "collapse_key", "priority", "status", "attempts",
                  "delivered_to", "due_at", "next_attempt_at", "expires_at", "created_at")


def key_parts(key: str) -> tuple[str, str]:
    """What comes before and after the attendee's id in the keys of a string ``key``."""
    if ID in key:
        before, _, after = key.partition(ID)
        return before, after
    return f"{key}:", ""


def key_of(key: str, attendee_id: int) -> str:
    before, after = key_parts(key)
    return f"{before}{attendee_id}{after}"


def key_sql(key: str, attendee_id):
    """`key_of` in SQL, for the attendee id in the column (or expression) ``attendee_id``."""
    before, after = key_parts(key)
    message_key = literal(before, String) + cast(attendee_id, String)
    return message_key + literal(after, String) if after else message_key


def write_shared(kind: str, spec: kinds.Kind, recipients: Iterable[Attendee], values: dict,
                 key: str, due: datetime, expires_at: datetime | None,
                 session_id: int | None, data: dict | None, always: Collection[int],
                 priority: str, now: datetime, replaces: str | None = None) -> Notified:
    """`notify` when every recipient gets the same values, key pattern and due time:
    the texts are rendered once per language and each language's rows are made by the
    database from the attendees table (``INSERT ... SELECT``, upserted like `write`),
    rather than bound one by one. With ``replaces``, each language's messages of that
    key are first re-keyed in place (`rekey`); only the others are inserted."""
    notified = Notified()
    by_language: dict[str, list[int]] = {}
    # wants() once per preferences object: recipients often share one (releases' rows);
    # each is kept, so that no other object takes its id meanwhile
    heard: dict[int, tuple[object, bool]] = {}
    for attendee in recipients:
        if attendee.id not in always:
            preferences = attendee.notify
            seen = heard.get(id(preferences))
            if seen is None or seen[0] is not preferences:
                seen = heard[id(preferences)] = (preferences, wants(attendee, spec))
            if not seen[1]:
                notified.muted += 1
                continue
        by_language.setdefault(attendee.language, []).append(attendee.id)
    before, after = key_parts(key)
    for ids in by_language.values():
        notified.keys.extend([f"{before}{attendee_id}{after}" for attendee_id in ids])
    expires = expires_at if expires_at is not None else (
        due + spec.ttl if spec.ttl is not None else None)
    fan_out = (spec.fan_out and replaces is None
               and len(notified.keys) >= current_app.config["PUSH_FANOUT_FROM"])
    fanouts = []
    for language, ids in by_language.items():
        texts = spec.texts(kinds.Reader(language), values)
        shared = new_message(
            key, due, kind=kind, session_id=session_id, title=texts.title, body=texts.body,
            inbox_body=texts.inbox_body, text_values=values,
            data={"type": kind, **(data or {})}, collapse_key=spec.collapse_key(values),
            priority=priority, expires_at=expires, created_at=now)
        if fan_out:
            fanouts.append({"key": key, "attendee_ids": ids_text(ids), **{
                name: shared[name] for name in FANOUT_COLUMNS}})
            continue
        if replaces is not None:
            moved = rekey(replaces, key, ids, shared)
            ids = [attendee_id for attendee_id in ids if attendee_id not in moved]
            if not ids:
                continue
        insert_shared(key, shared, ids_text(ids))
    if fanouts:
        db.session.execute(FANOUTS.insert(), fanouts)
    if notified.keys:
        outbox.wake_workers()
    notified.queued = len(notified.keys)
    return notified


def new_message(key: str, due: datetime, **columns) -> dict:
    """The shared columns of new messages of key pattern ``key`` due at ``due``: those
    given, and those every new message has."""
    return {"origin": key, "status": "pending", "attempts": 0, "delivered_to": [],
            "due_at": due, "next_attempt_at": due, **columns}


def insert_shared(key: str, shared: dict, ids: str) -> int:
    """write_shared's ``INSERT ... SELECT`` (upserted) of the messages of key pattern
    ``key`` with the ``shared`` columns, to the attendees ``ids`` (`ids_text`); how
    many rows it wrote."""
    return db.session.execute(shared_insert(), {
        **key_values(key), **shared_params(shared), "ids": ids}).rowcount


def shared_params(shared: dict) -> dict:
    """The shared columns as the parameters of `shared_value`."""
    return {f"v_{name}": value for name, value in shared.items()}


# What a fan-out keeps of write_shared's values (the rest is the same for every message).
FANOUT_COLUMNS = ("kind", "session_id", "title", "body", "inbox_body", "text_values", "data",
                  "collapse_key", "priority", "due_at", "expires_at", "created_at")


def expand(limit: int = 20) -> int:
    """Write the messages of waiting fan-outs (models.OutboxFanout), a row per attendee
    as `write_shared` would have written them, and delete the fan-outs; how many
    messages were written. The dispatcher's claiming transaction runs it before it
    claims, taking the fan-outs with `outbox.take_waiting` (one another worker is
    expanding is skipped). An attendee erased meanwhile gets nothing."""
    written = 0
    for fanout in outbox.take_waiting(FANOUTS, limit, *FANOUTS.c):
        shared = new_message(fanout.key, fanout.due_at,
                             **{name: getattr(fanout, name) for name in FANOUT_COLUMNS})
        written += insert_shared(fanout.key, shared, fanout.attendee_ids)
    return written


def rekey(old: str, new: str, ids: list[int], shared: dict) -> set[int]:
    """The untried pending messages of key pattern ``old`` of these attendees become
    the messages of pattern ``new`` with these column values (``shared``, as
    `write_shared` would insert them), in one ``UPDATE``; the ids of the attendees whose
    message it did. Not an attendee whose new key another message holds already (a
    cancelled reminder at a time the session had before): writing that key refreshes
    that one.

    What an insert and a cancel would leave, without the new row: the message is the
    same as a new one (never tried: no inbox entry, no device has it, no error), under
    the same id; ``created_at`` is now when the key changes."""
    moved = old != new
    return set(db.session.scalars(rekey_statement(moved), {
        **{f"old_{name}": value for name, value in key_values(old).items()},
        **({f"new_{name}": value for name, value in key_values(new).items()} if moved
           else {}),
        **shared_params(shared), "ids": ids_text(ids)}))


# --- the statements of write_shared and rekey, built once per database -----------------

# The types of the shared columns' parameters (the rest are strings).
SHARED_TYPES = {"session_id": Integer, "inbox_body": Text, "text_values": JSON, "data": JSON,
                "attempts": Integer, "delivered_to": JSON, "due_at": UTCDateTime(),
                "next_attempt_at": UTCDateTime(), "expires_at": UTCDateTime(),
                "created_at": UTCDateTime()}
STATEMENTS: dict[tuple, object] = {}


def key_values(key: str) -> dict:
    """The parameters of `key_param` for a string ``key``."""
    before, after = key_parts(key)
    return {"key_before": before, "key_after": after}


def key_param(prefix: str, attendee_id):
    """`key_sql` with the key's parts as parameters (``<prefix>key_before``, ...)."""
    return (bindparam(f"{prefix}key_before", type_=String) + cast(attendee_id, String)
            + bindparam(f"{prefix}key_after", type_=String))


def shared_value(name: str):
    return bindparam(f"v_{name}", type_=SHARED_TYPES.get(name, String))


def built(name: tuple, build):
    """The statement ``name`` for the database in use, built once: building one of
    these costs about 1 ms, a publish runs a dozen."""
    cache_key = (db.session.get_bind().dialect.name, *name)
    statement = STATEMENTS.get(cache_key)
    if statement is None:
        statement = STATEMENTS[cache_key] = build()
    return statement


def shared_insert():
    """write_shared's ``INSERT ... SELECT`` of one language's rows from the attendees
    (the ids as ``ids``, the values as ``v_<column>``, the key as ``key_before`` and
    ``key_after``), upserted."""
    def build():
        people = Attendee.__table__
        chosen = select(key_param("", people.c.id), people.c.id,
                        *(shared_value(name) for name in SHARED_COLUMNS[2:])).where(
            people.c.id.in_(select(each_of(bindparam("ids", type_=String)))))
        return upsert_statement(dialect_insert(OUTBOX).from_select(SHARED_COLUMNS, chosen))
    return built(("insert",), build)


def rekey_statement(moved: bool):
    """rekey's ``UPDATE`` (the old key as ``old_key_before``/``old_key_after``, the new
    one likewise when ``moved``)."""
    def build():
        # each attendee's message of the old key, found through the unique index on
        # keys; the other terms spelt so that no planner goes in by status, kind or
        # session instead (every pending message, or all of the session's), as one
        # without statistics would: fresh after a bulk load, or SQLite without ANALYZE
        each = each_of(bindparam("ids", type_=String))
        where = [OUTBOX.c.key.in_(select(key_param("old_", each))),
                 Unindexed(OUTBOX.c.status) == "pending", OUTBOX.c.attempts == 0,
                 # of the same kind and session: those columns (and their index) stay
                 Unindexed(OUTBOX.c.kind) == shared_value("kind"),
                 Unindexed(OUTBOX.c.session_id).is_not_distinct_from(
                     shared_value("session_id"))]
        changes = {name: shared_value(name) for name in SHARED_COLUMNS[2:] if name not in (
            "kind", "session_id", "status", "attempts", "delivered_to", "created_at")}
        if moved:
            new_key = key_param("new_", OUTBOX.c.attendee_id)
            holder = OUTBOX.alias("holder")
            where.append(~exists().where(holder.c.key == new_key))
            changes.update(key=new_key, created_at=shared_value("created_at"))
        return OUTBOX.update().where(*where).values(changes).returning(OUTBOX.c.attendee_id)
    return built(("rekey", moved), build)


def upsert_statement(statement=None):
    """Insert a message, or refresh the one of the same key while it has not gone out.

    A refreshed message keeps its due time once it has been tried (its retry time
    stands), and a cancelled one that is wanted again is pending again. Core, on the
    table, executed once with every row: the database gets one executemany (or, given
    an ``INSERT ... SELECT``, the database makes the rows).
    """
    statement = dialect_insert(OUTBOX) if statement is None else statement
    new = statement.excluded
    untried = OUTBOX.c.attempts == 0
    return statement.on_conflict_do_update(
        index_elements=["key"],
        set_={
            **{name: new[name] for name in (
                "kind", "title", "body", "inbox_body", "text_values", "data",
                "collapse_key", "priority", "expires_at", "session_id",
            )},
            "status": "pending",
            "due_at": case((untried, new.due_at), else_=OUTBOX.c.due_at),
            "next_attempt_at": case((untried, new.next_attempt_at),
                                    else_=OUTBOX.c.next_attempt_at),
        },
        # spelled out: an IN list would be expanded per row, which executemany refuses
        where=or_(*(OUTBOX.c.status == status for status in OPEN)),
    )
