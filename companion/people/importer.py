"""Attendees from the organisers' CSV: checked row by row, then created or updated.

The file has the header ``email,name,organisation,country,roles``; ``roles`` are
separated by ``;``. Every bad row is reported with its line number and why, so that the
whole file can be fixed in one go. The same file imported twice changes nothing.
"""

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from marshmallow import Schema, ValidationError, fields, post_load, pre_load, validate
from sqlalchemy import func, select

from .. import auth
from ..extensions import db
from ..schedule.models import Event
from ..signals import agendas_changed
from ..text import no_control, one_line
from .models import ROLES, Attendee

COLUMNS = ("email", "name", "organisation", "country", "roles")


def cell(shortest: int, longest: int, **kwargs) -> fields.String:
    """A one-line cell without control characters: a NUL is a bad row like any other."""
    return fields.String(validate=[validate.Length(shortest, longest), no_control, one_line],
                         **kwargs)


class AttendeeRowSchema(Schema):
    email = fields.Email(required=True, validate=[validate.Length(max=254), no_control])
    name = cell(1, 200, required=True)
    organisation = cell(0, 200, allow_none=True)
    country = cell(0, 100, allow_none=True)
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)))

    @pre_load
    def tidy(self, row: dict, **kwargs) -> dict:
        """Trim cells, treat empty ones as missing, split the roles."""
        row = {name: (value or "").strip() for name, value in row.items()}
        row["email"] = row["email"].lower()
        for optional in ("organisation", "country"):
            row[optional] = row[optional] or None
        row["roles"] = [role.strip().lower() for role in row["roles"].split(";") if role.strip()]
        return {name: value for name, value in row.items() if value != ""}

    @post_load
    def order_roles(self, row: dict, **kwargs) -> dict:
        given = set(row.get("roles") or ["attendee"])
        row["roles"] = [role for role in ROLES if role in given]
        return row


@dataclass
class Problem:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # (email, access code) of each new attendee: the only time a code is seen in clear.
    codes: list[tuple[str, str]] = field(default_factory=list)


def describe(errors: dict) -> str:
    parts = []
    for name, messages in sorted(errors.items()):
        if isinstance(messages, dict):  # per list item, e.g. roles
            messages = [m for item in messages.values() for m in item]
        parts.append(f"{name}: {' '.join(messages)}")
    return "; ".join(parts)


def read_rows(lines: Iterable[str]) -> tuple[list[dict], list[Problem]]:
    """Check every row; returns the good ones (with their ``line``) and every problem."""
    reader = csv.reader(lines)
    header = [name.strip().lower() for name in next(reader, [])]
    if sorted(header) != sorted(COLUMNS):
        return [], [Problem(1, f"the header must be {','.join(COLUMNS)}")]
    schema = AttendeeRowSchema()
    rows, problems, seen = [], [], {}
    line = reader.line_num + 1
    for cells in reader:
        start, line = line, reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            problems.append(Problem(start, f"{len(cells)} fields where {len(header)} belong"))
            continue
        try:
            row = schema.load(dict(zip(header, cells)))
        except ValidationError as error:
            problems.append(Problem(start, describe(error.messages)))
            continue
        if row["email"] in seen:
            first = seen[row["email"]]
            problems.append(Problem(start, f"email: {row['email']} is on line {first} too"))
            continue
        seen[row["email"]] = start
        rows.append({**row, "line": start})
    return rows, problems


def find_attendee(event: Event, email: str) -> Attendee | None:
    return db.session.scalar(
        select(Attendee).where(
            Attendee.event_id == event.id, func.lower(Attendee.email) == email.lower()
        )
    )


def import_rows(event: Event, rows: Iterable[dict],
                progress: Callable[[Iterable], Iterator] = iter) -> Outcome:
    """Create or update the attendees of checked rows; the caller commits.

    New attendees get an access code (returned in clear once, stored hashed) and the
    reminders everyone has by default; existing ones keep their code and preferences,
    and are only touched if the file differs.
    """
    outcome = Outcome()
    created = []
    known = {attendee.email.lower(): attendee for attendee in db.session.scalars(
        select(Attendee).where(Attendee.event_id == event.id))}  # one query, not one a row
    for row in progress(rows):
        values = {name: row.get(name) for name in COLUMNS}
        attendee = known.get(values["email"].lower())
        if attendee is None:
            code = auth.new_access_code()
            attendee = Attendee(event=event, access_code_hash=auth.hash_access_code(code),
                                **values)
            db.session.add(attendee)
            known[values["email"].lower()] = attendee
            created.append(attendee)
            outcome.codes.append((values["email"], code))
            outcome.created += 1
            continue
        changed = {name: value for name, value in values.items()
                   if name != "email" and getattr(attendee, name) != value}
        for name, value in changed.items():
            setattr(attendee, name, value)
        if changed:
            outcome.updated += 1
        else:
            outcome.unchanged += 1
    db.session.flush()
    if created:
        agendas_changed.send(created)
    return outcome
