"""From HTML forms to the API's own input, and the API's refusals back to form fields.

The console validates nothing itself: a form becomes the JSON the API would receive,
loaded by the API's schema; an operation's refusal (``flask_smorest.abort``) comes back
as messages under the fields it names, shown next to them.
"""

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from marshmallow import Schema, ValidationError
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends and shows
YEARS = (1970, 2200)  # beyond these, arithmetic on times could overflow


class Refused(Exception):
    """The API would have answered 4xx: a message and messages by field."""

    def __init__(self, status: int, message: str, errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or {}


def flatten(errors, prefix: str = "") -> dict[str, list[str]]:
    """Marshmallow's nested messages as {"facilities.0.name": [...]}."""
    if isinstance(errors, list | tuple):
        if all(isinstance(e, str) for e in errors):
            return {prefix or "_schema": list(errors)}
        flat: dict[str, list[str]] = {}
        for index, item in enumerate(errors):
            flat.update(flatten(item, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    if isinstance(errors, dict):
        flat = {}
        for key, value in errors.items():
            flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix or "_schema": [str(errors)]}


def load(schema: Schema, data: dict) -> dict:
    try:
        return schema.load(data)
    except ValidationError as error:
        raise Refused(422, "The request is not valid.", flatten(error.messages)) from None


def attempt(operation: Callable, *args, **kwargs):
    """Call an operation; its abort(4xx) becomes `Refused` (a 5xx is not caught)."""
    try:
        return operation(*args, **kwargs)
    except HTTPException as error:
        if error.code is None or error.code >= 500:
            raise
        data = getattr(error, "data", None) or {}
        errors = data.get("errors") or data.get("messages") or {}
        message = data.get("message") or error.description or error.name
        raise Refused(error.code, message, flatten(errors) if errors else {}) from None


def local_value(value: datetime | str | None, zone: str) -> str:
    """A stored instant as the value of a datetime-local input in the event's zone."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(ZoneInfo(zone)).strftime(LOCAL_FORMAT)


def from_local(text: str, zone: str) -> str:
    """A datetime-local value, read in the event's zone, as ISO 8601 with its offset."""
    try:
        naive = datetime.strptime(text.strip()[:40], LOCAL_FORMAT)
    except ValueError:
        raise ValueError("Give a date and time, e.g. 2020-03-30T16:30.") from None
    if not YEARS[0] <= naive.year <= YEARS[1]:
        raise ValueError(f"Give a year from {YEARS[0]} to {YEARS[1]}.")
    return naive.replace(tzinfo=ZoneInfo(zone)).isoformat()


def ids(form: MultiDict, name: str, errors: dict) -> list[int]:
    values = []
    for raw in form.getlist(name)[:100]:
        if raw.strip():
            try:
                values.append(int(raw))
            except ValueError:
                errors.setdefault(name, []).append(f"Not a number: {raw[:20]!r}.")
    return values


def text_or_none(form: MultiDict, name: str) -> str | None:
    value = form.get(name, "").strip()
    return value or None


def number(text: str) -> int | None:
    """A whole number typed in a form (bounded: a 5000-digit one is not one), else None."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else None
