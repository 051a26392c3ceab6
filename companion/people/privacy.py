"""Each attendee's own data: everything held about them (GDPR Art. 15/20), their erasure
(Art. 17), and the purge of an event's personal data some days after it ended.

What belongs to a person is found from the schema itself: every table with a foreign
key to ``attendees.id``. A table added later is exported and erased without a change
here. What other tables say about a person without such a key: the audit log's
``subject``; the lists of speakers and moderators in drafts, changelogs and audit
entries (`LISTS`), from which an erasure takes them out; and the pushes to others that
name them (pushes; answers kept for their Idempotency-Keys), handed over by the
receivers of ``companion.signals.attendee_exporting`` and ``attendees_erasing``. Only anonymous counts survive (``privacy_counts``).

An export never tells another person's decisions about them: not the blocks (whether
one was stored says whether the id blocked exists, and others' blocks are theirs), nor
that a request of theirs was declined (it shows as pending, as it does to them).
"""

from collections import Counter
from datetime import date, datetime, timedelta

import click
from flask.cli import AppGroup
from flask_smorest import abort
from sqlalchemy import Table, Text, cast, delete, func, or_, select, true, update

from ..db import ID_CHUNK
from ..extensions import db
from ..networking.models import Block, Contact, ContactRequest, PrivacyCount
from ..organising.audit import AuditEntry
from ..schedule.models import DraftEdit, Event, ScheduleVersion
from ..schedule.operations import find_event
from ..signals import attendee_exporting, attendees_erasing
from ..timeutil import utcnow
from .models import Attendee

# Never handed out, even to their owner: hashes of secrets, and derived search text.
WITHHELD = {"access_code_hash", "token_hash", "search_text"}
# Never in an export: see the module's notes.
NOT_EXPORTED = {Block.__table__.name}
ATTENDEES: Table = Attendee.__table__
# JSON columns listing attendees by id as speakers and moderators: session states (the
# draft's, the audit's before and after, a ping's speakers) and changelogs.
LISTS = (DraftEdit.state, AuditEntry.before, AuditEntry.after, ScheduleVersion.changes)
ROLES = ("speakers", "moderators")
ROLE_CHANGES = ("speakers_changed", "moderators_changed")
# Up to this many ids, the rows that may list them are sieved by their JSON text.
SIEVE = 50


def attendee_columns(table: Table) -> list:
    return [column for column in table.columns
            if any(key.column is ATTENDEES.c.id for key in column.foreign_keys)]


def kept_without_them(column) -> bool:
    """A reference that outlives the person as null (``ON DELETE SET NULL``): the row is
    someone else's, such as an announcement they wrote. The audit log is the exception:
    what a person did and what was done about them go with them."""
    return (column.table is not AuditEntry.__table__
            and any(key.ondelete == "SET NULL" for key in column.foreign_keys))


def personal_tables() -> list[tuple[Table, list]]:
    """Every table that refers to attendees, and its columns that do: parents first."""
    found = []
    for table in db.metadata.sorted_tables:
        columns = attendee_columns(table)
        if columns and table is not ATTENDEES:
            found.append((table, columns))
    return found


def about(ids: list[int], columns: list):
    return or_(*(column.in_(ids) for column in columns))


def rows_about(table: Table, columns: list, ids: list[int]):
    """The rows of ``table`` that go with these people (the audit log: by or about them)."""
    if table is AuditEntry.__table__:
        return audit_about(ids)
    owned = [column for column in columns if not kept_without_them(column)]
    return about(ids, owned) if owned else None


def audit_about(ids: list[int]):
    """Audit entries by them or about them (subject ``attendee:<id>``)."""
    return or_(AuditEntry.actor_id.in_(ids),
               AuditEntry.subject.in_([f"attendee:{attendee_id}" for attendee_id in ids]))


def chunks(ids: list[int]):
    for start in range(0, len(ids), ID_CHUNK):
        yield ids[start:start + ID_CHUNK]


def unlisted(value, ids: set[int]):
    """``value`` (a JSON column of `LISTS`) without these attendees in its lists of
    speakers and moderators, and in a changelog's changes of them."""
    if isinstance(value, list):
        return [unlisted(item, ids) for item in value]
    if not isinstance(value, dict):
        return value
    lists = ROLES + (("old", "new") if value.get("kind") in ROLE_CHANGES else ())
    return {key: [i for i in item if i not in ids]
            if key in lists and isinstance(item, list) else unlisted(item, ids)
            for key, item in value.items()}


def listing(column, ids: list[int], event_id: int) -> list:
    """The rows of ``column``'s table in the event that list one of these attendees."""
    sieve = (or_(*(cast(column, Text).like(f"%{i}%") for i in ids)) if len(ids) <= SIEVE
             else true())
    table = column.table
    rows = db.session.execute(select(table).where(table.c.event_id == event_id,
                                                  column.is_not(None), sieve))
    return [row for row in rows
            if unlisted(row._mapping[column.name], set(ids)) != row._mapping[column.name]]


def unlist(ids: list[int], event_id: int, write: bool) -> Counter:
    """Take these attendees out of the lists of `LISTS` (or only count, unless
    ``write``): a draft that still named them could not be released."""
    counts = Counter()
    for column in LISTS:
        table = column.table
        for row in listing(column, ids, event_id):
            if write:
                db.session.execute(update(table).where(
                    *(key == row._mapping[key.name] for key in table.primary_key.columns)
                ).values({column.name: unlisted(row._mapping[column.name], set(ids))}))
            counts[f"{table.name}.{column.name}"] += 1
    return counts


# --- export ---------------------------------------------------------------------------

def plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def row_dict(row) -> dict:
    return {name: plain(value) for name, value in row._mapping.items() if name not in WITHHELD}


def as_told(table: Table, row: dict, attendee_id: int) -> dict:
    """A row as its owner may see it: a request of theirs that was declined, pending."""
    if (table is ContactRequest.__table__ and row["requester_id"] == attendee_id
            and row["status"] == "declined"):
        return {**row, "status": "pending", "answered_at": None}
    return row


def export(attendee: Attendee) -> dict:
    """Everything held about the attendee, table by table, as JSON-ready data."""
    me = db.session.execute(select(ATTENDEES).where(ATTENDEES.c.id == attendee.id)).one()
    tables = {}
    for table, columns in personal_tables():
        if table.name in NOT_EXPORTED:
            continue
        condition = (audit_about([attendee.id]) if table is AuditEntry.__table__
                     else about([attendee.id], columns))
        tables[table.name] = [as_told(table, row_dict(row), attendee.id)
                              for row in db.session.execute(select(table).where(condition))]
    for column in LISTS:
        rows = tables.setdefault(column.table.name, [])
        for row in map(row_dict, listing(column, [attendee.id], attendee.event_id)):
            if row not in rows:
                rows.append(row)
    for _, found in attendee_exporting.send(attendee.id):
        for name, rows in (found or {}).items():
            tables.setdefault(name, []).extend(map(row_dict, rows))
    return {
        "exported_at": utcnow().isoformat(),
        "event": attendee.event.slug,
        "attendee": row_dict(me),
        "tables": tables,
    }


# --- erasure --------------------------------------------------------------------------

def count_personal(ids: list[int], event: Event) -> Counter:
    """How many rows an erasure of ``ids`` removes (or clears), by table: a dry run."""
    counts = Counter()
    for part in chunks(ids):
        counts.update(unlist(part, event.id, write=False))
        for table, columns in personal_tables():
            condition = rows_about(table, columns, part)
            if condition is not None:
                counts[table.name] += db.session.scalar(
                    select(func.count()).select_from(table).where(condition))
            for column in filter(kept_without_them, columns):
                counts[f"{table.name}.{column.name}"] += db.session.scalar(
                    select(func.count()).select_from(table).where(column.in_(part)))
        counts["attendees"] += len(part)
    return +counts


def erase(ids: list[int], event: Event, counter: str) -> Counter:
    """Remove these attendees of ``event`` and every row about them; returns the rows
    removed by table (and, as ``table.column``, references to them cleared in rows that
    stay). Adds their number (and their contacts') to the anonymous counts. Nothing
    commits here."""
    removed = Counter()
    if not ids:
        return removed
    for _, extra in attendees_erasing.send(ids):
        removed.update(extra or {})
    for part in chunks(ids):
        contacts = db.session.scalar(
            select(func.count()).select_from(Contact).where(Contact.owner_id.in_(part))
        )
        removed["contacts (anonymous count)"] += contacts
        removed.update(unlist(part, event.id, write=True))
        # Children before parents; both databases alike (SQLite enforces no cascades).
        for table, columns in reversed(personal_tables()):
            for column in filter(kept_without_them, columns):
                result = db.session.execute(
                    update(table).where(column.in_(part)).values({column.name: None}))
                removed[f"{table.name}.{column.name}"] += result.rowcount
            condition = rows_about(table, columns, part)
            if condition is not None:
                removed[table.name] += db.session.execute(delete(table).where(condition)).rowcount
        result = db.session.execute(
            delete(Attendee).where(Attendee.id.in_(part), Attendee.event_id == event.id)
            .execution_options(synchronize_session=False)
        )
        removed["attendees"] += result.rowcount
    if removed["session_people"]:  # the agenda named them: kept answers go stale
        event.live_generation = (event.live_generation or 0) + 1
    add_count(event, counter, removed["attendees"])
    add_count(event, "contacts_erased", removed.pop("contacts (anonymous count)"))
    return +removed


def add_count(event: Event, name: str, by: int) -> None:
    if not by:
        return
    found = db.session.get(PrivacyCount, (event.id, name))
    if found is None:
        db.session.add(PrivacyCount(event_id=event.id, name=name, count=by))
    else:
        db.session.execute(update(PrivacyCount)
                           .where(PrivacyCount.event_id == event.id, PrivacyCount.name == name)
                           .values(count=PrivacyCount.count + by))


def check_confirmation(attendee: Attendee, confirm: str) -> None:
    if confirm.strip().casefold() != attendee.email.strip().casefold():
        abort(422, message="Confirm with your email address.",
              errors={"confirm": ["Not your email address."]})


def erase_attendee(attendee: Attendee, confirm: str) -> Counter:
    """DELETE /me: the attendee and everything about them, confirmed by their email."""
    check_confirmation(attendee, confirm)
    return erase([attendee.id], attendee.event, "attendees_erased")


# --- purge ----------------------------------------------------------------------------

def purge(event: Event, after_days: int, dry_run: bool, today: date | None = None) -> Counter:
    """Every attendee of an event that ended at least ``after_days`` days ago, and all
    about them; ``dry_run`` only counts. Refused (ValueError) before that day."""
    today = today or utcnow().date()
    if today < event.ends_on + timedelta(days=after_days):
        raise ValueError(
            f"{event.slug} ended on {event.ends_on.isoformat()}: {after_days} days after it "
            f"is {(event.ends_on + timedelta(days=after_days)).isoformat()}"
        )
    ids = db.session.scalars(
        select(Attendee.id).where(Attendee.event_id == event.id).order_by(Attendee.id)
    ).all()
    return count_personal(ids, event) if dry_run else erase(ids, event, "attendees_purged")


privacy = AppGroup("privacy", help="Personal data: purge after an event.")


@privacy.command("purge")
@click.option("--event", "slug", required=True, help="Slug of the event, e.g. alliance-2020.")
@click.option("--after-days", type=click.IntRange(0, 36500), required=True,
              help="Only if the event ended at least this many days ago.")
@click.option("--dry-run", is_flag=True, help="Count what would be removed; remove nothing.")
def purge_command(slug, after_days, dry_run):
    """Remove the personal data of an event that ended N days ago."""
    event = find_event(slug)
    if event is None:
        raise click.BadParameter(f"no event {slug!r}", param_hint="--event")
    try:
        counts = purge(event, after_days, dry_run)
    except ValueError as refused:
        raise click.ClickException(f"Not yet: {refused}") from None
    if not dry_run:
        db.session.commit()
    verb = "would remove" if dry_run else "removed"
    rows = ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
    click.echo(f"{slug}: {verb} {rows or 'nothing'}")
