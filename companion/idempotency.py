"""Requests done once: the ``Idempotency-Key`` header (IETF httpapi draft "The
Idempotency-Key HTTP Header Field") on the POSTs that push or release.

Phones retry on bad Wi-Fi and people click twice. With a key, the first request is done
and its answer kept; the same key from the same attendee within 24 hours gets that
answer again (same status and body) and does nothing more; the same key with another
request (method, path or body) is refused with 422.

The key's row is written FIRST, in the request's own transaction, and the answer into it
when the view has answered: it commits with the work or not at all (an error answer, a
crash or a lost connection leave no key behind, so a retry does the work). Two requests
with one key at one moment: on PostgreSQL the second one's INSERT waits on the first
one's row (the primary key) until that transaction ends, then finds the row and answers
what the first answered (after IDEMPOTENCY_WAIT seconds of waiting: 409). Never a second
execution. Expired keys of the caller are deleted when they send their next key.

The rows are the attendee's (a foreign key): their export holds them and their erasure
removes them; answers kept for others that name them are in their export (without the
answer) and go with their erasure (`on_attendee_exporting`, `on_attendees_erasing`).

On an API view it is one line, under the sign-in check (it needs the caller) and above
``@blp.arguments`` (documented as a header parameter)::

    @role_required("organiser")
    @idempotent
    @blp.arguments(PublishSchema)

The console's forms carry their key in a field of their own (``done_once``).
"""

import hashlib
import html
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from urllib.parse import urlencode

import orjson
from flask import current_app, request
from flask_smorest import Blueprint, abort
from sqlalchemy import ForeignKey, String, Text, delete, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Mapped, mapped_column

from .auth import current_attendee
from .db import dialect_insert, id_in
from .extensions import db
from .people.models import Attendee
from .signals import attendee_exporting, attendees_erasing
from .timeutil import UTCDateTime, utcnow

HEADER = "Idempotency-Key"
TTL = timedelta(hours=24)
# The draft's key is a Structured Field string ("..."); a bare one is taken too.
KEY = re.compile(r'"?([\x20-\x7e]{1,255}?)"?')
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL: lock_timeout ran out

PARAMETER = {
    "in": "header", "name": HEADER, "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "Any unique string, e.g. a fresh UUID per action (not per attempt). "
    "The same key from the same caller within 24 hours gets the first answer again "
    "(same status and body) and does nothing more; with another body it is a 422; "
    "while the first request with it is still in hand, a 409.",
}
_doc = Blueprint("idempotency-doc", __name__)


class IdempotencyKey(db.Model):
    """A key an attendee sent, with the answer their request got (kept 24 hours)."""

    __tablename__ = "idempotency_keys"

    attendee_id: Mapped[int] = mapped_column(
        ForeignKey("attendees.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of method, path, body
    # the answer; no status while its request is in hand (never seen by others: the
    # row commits with the answer)
    status: Mapped[int | None]
    content_type: Mapped[str | None] = mapped_column(String(255))
    location: Mapped[str | None] = mapped_column(String(2048))
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


def header_key() -> str | None:
    """The request's Idempotency-Key, if it sent one; 422 for one that cannot be."""
    value = request.headers.get(HEADER)
    if value is None:
        return None
    found = KEY.fullmatch(value.strip())
    if found is None:
        abort(422, message=f"{HEADER} must be 1 to 255 visible ASCII characters.",
              errors={HEADER: ["1 to 255 visible ASCII characters."]})
    return found.group(1)


def fingerprint() -> str:
    """What makes a request the same request: method, path and query, and body."""
    digest = hashlib.sha256(f"{request.method} {request.full_path}\n".encode())
    if request.mimetype in FORMS:  # read already: the fields, and any file's bytes
        digest.update(urlencode(sorted(request.form.items(multi=True))).encode())
        for name, upload in sorted(request.files.items(multi=True), key=lambda f: f[0]):
            digest.update(f"\n{name}={upload.filename}\n".encode())
            digest.update(upload.stream.read())
            upload.stream.seek(0)
    else:
        digest.update(request.get_data())
    return digest.hexdigest()


def claim(attendee_id: int, key: str, print_: str) -> IdempotencyKey | None:
    """Write the key's row first; None when it is ours to do, else the kept answer
    (409 while another request with it is in hand, 422 when it was another request)."""
    now = utcnow()
    db.session.execute(delete(IdempotencyKey).where(
        IdempotencyKey.attendee_id == attendee_id, IdempotencyKey.created_at <= now - TTL))
    insert = dialect_insert(IdempotencyKey).values(
        attendee_id=attendee_id, key=key, fingerprint=print_, created_at=now,
    ).on_conflict_do_nothing().returning(IdempotencyKey.key)
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    try:
        if postgresql:  # wait for a request in hand with this key, not forever
            wait = int(current_app.config["IDEMPOTENCY_WAIT"] * 1000)
            db.session.execute(text(f"SET LOCAL lock_timeout = {wait}"))
        ours = db.session.execute(insert).first()
        if postgresql:
            db.session.execute(text("SET LOCAL lock_timeout TO DEFAULT"))
    except OperationalError as error:
        if getattr(error.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        in_progress()
    if ours is not None:
        return None
    kept = db.session.scalar(select(IdempotencyKey).where(
        IdempotencyKey.attendee_id == attendee_id, IdempotencyKey.key == key,
    ).execution_options(populate_existing=True))
    if kept is None or kept.status is None:
        in_progress()
    if kept.fingerprint != print_:
        abort(422, message=f"This {HEADER} was used for another request: send a new key "
                           "for a new request.",
              errors={HEADER: ["Used for another request within 24 hours."]})
    return kept


def in_progress():
    abort(409, message=f"A request with this {HEADER} is still in progress; "
                       "ask again shortly.")


def keep(attendee_id: int, key: str, response) -> None:
    """The answer, into the key's row (an error answer rolls back with the row)."""
    if response.status_code >= 400:
        return
    db.session.execute(update(IdempotencyKey).where(
        IdempotencyKey.attendee_id == attendee_id, IdempotencyKey.key == key,
    ).values(status=response.status_code, content_type=response.content_type,
             location=response.headers.get("Location"), body=response.get_data(as_text=True)))


def replay(kept: IdempotencyKey):
    response = current_app.response_class(kept.body, status=kept.status,
                                          content_type=kept.content_type)
    if kept.location:
        response.headers["Location"] = kept.location
    return response


def done_once(view: Callable, key: Callable[[], str | None] = header_key,
              replayed: Callable[[], None] | None = None):
    """``view``, done once per key (``key()``: the request's, or None for none) and
    caller (``current_attendee()``); ``replayed()`` is called when an answer is replayed."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        given = key()
        if given is None:
            return view(*args, **kwargs)
        attendee_id = current_attendee().id
        kept = claim(attendee_id, given, fingerprint())
        if kept is not None:
            if replayed is not None:
                replayed()
            return replay(kept)
        response = current_app.make_response(view(*args, **kwargs))
        keep(attendee_id, given, response)
        return response

    return wrapper


def idempotent(view: Callable):
    """An API view done once per ``Idempotency-Key`` header and caller (see above)."""
    return _doc.doc(parameters=[PARAMETER])(done_once(view))


def form_key(field: str) -> Callable[[], str | None]:
    """The key a console form carries in ``field`` (none on a GET)."""
    def key() -> str | None:
        value = request.form.get(field, "").strip()[:255] if request.method == "POST" else ""
        return value or None

    return key


# --- export and erasure ----------------------------------------------------------------

def needles_of(attendee: Attendee) -> list[str]:
    """How a person's name and email look in a kept JSON or HTML answer."""
    found = []
    for value in (attendee.name, attendee.email):
        if value:
            found += [value, html.escape(value), orjson.dumps(value).decode()[1:-1]]
    return found


def kept_for_others_naming(ids: list[int]) -> list[tuple[int, str]]:
    """(attendee_id, key) of the answers kept for others of their event that name one
    of these attendees (their own rows go by their foreign key)."""
    people = db.session.scalars(select(Attendee).where(id_in(Attendee.id, ids))).all()
    needles = [needle for person in people for needle in needles_of(person)]
    others = db.session.execute(
        select(IdempotencyKey.attendee_id, IdempotencyKey.key, IdempotencyKey.body)
        .join(Attendee, Attendee.id == IdempotencyKey.attendee_id)
        .where(Attendee.event_id.in_(sorted({person.event_id for person in people})),
               ~id_in(IdempotencyKey.attendee_id, ids))
    ).all()
    return [(attendee_id, key) for attendee_id, key, body in others
            if body and any(needle in body for needle in needles)]


@attendee_exporting.connect
def on_attendee_exporting(attendee_id: int, **_) -> dict[str, list]:
    """Others' kept answers that name them: that they exist, not the answer (a copy of
    what the other was shown, which may name third persons too)."""
    rows = []
    for owner_id, key in kept_for_others_naming([attendee_id]):
        rows += db.session.execute(
            select(IdempotencyKey.attendee_id, IdempotencyKey.key, IdempotencyKey.status,
                   IdempotencyKey.created_at)
            .where(IdempotencyKey.attendee_id == owner_id, IdempotencyKey.key == key)).all()
    return {"idempotency_keys": rows}


@attendees_erasing.connect
def on_attendees_erasing(ids: list[int], **_) -> dict[str, int]:
    """Others' kept answers that name them go (a retry of one of those is done again)."""
    removed = 0
    for attendee_id, key in kept_for_others_naming(ids):
        removed += db.session.execute(delete(IdempotencyKey).where(
            IdempotencyKey.attendee_id == attendee_id, IdempotencyKey.key == key,
        )).rowcount
    return {"idempotency_keys": removed}
