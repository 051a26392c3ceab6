"""What pushes to others say about a person: in that person's export, and forgotten
when they are erased (companion.people.privacy asks through its signals).

A push that names someone other than its recipient carries that person's id in its
``data``, under the key `NAMED_BY` gives for its kind. When that person is erased, a
contact request or acceptance from them goes (nobody is left to answer or to write
to); a ping's acknowledgement stays with its moderator, written again without the
speaker's name or id ("A speaker has seen your ping about Panel 3."), pending or not.
"""

from collections import Counter

from sqlalchemy import and_, delete, or_, select

from companion.db import ID_CHUNK
from companion.extensions import db
from companion.schedule.models import Session
from companion.signals import attendee_exporting, attendees_erasing

from . import kinds
from .models import InboxNotification, OutboxMessage

# The key of ``data`` that holds the id of the person a kind's pushes name.
NAMED_BY = {"contact_request": "attendee_id", "contact_accepted": "attendee_id",
            "ping_ack": "speaker_id"}
# Kept for their recipient, without the name, when the person named is erased.
ANONYMISED = ("ping_ack",)
# What an export shows of a push to someone else: what it said, and when.
SAID = {OutboxMessage: ("id", "kind", "title", "body", "inbox_body", "created_at"),
        InboxNotification: ("id", "kind", "title", "body", "created_at")}


def naming(model, ids: list[int], of_kinds: tuple[str, ...] = tuple(NAMED_BY)):
    """Pushes of these kinds to others that name one of these attendees."""
    named = [str(attendee_id) for attendee_id in ids]
    return and_(
        or_(*(and_(model.kind == kind, model.data[NAMED_BY[kind]].as_string().in_(named))
              for kind in of_kinds)),
        model.attendee_id.not_in(ids),
    )


@attendee_exporting.connect
def on_attendee_exporting(attendee_id: int, **_) -> dict[str, list]:
    """The pushes to others that name them: what those said, by table."""
    return {model.__tablename__: db.session.execute(
        select(*(model.__table__.c[name] for name in SAID[model]))
        .where(naming(model, [attendee_id])).order_by(model.id)).all()
        for model in SAID}


@attendees_erasing.connect
def on_attendees_erasing(ids: list[int], **_) -> dict[str, int]:
    """Anonymise the acknowledgements they gave, delete the other pushes naming them."""
    changed = Counter()
    gone = tuple(kind for kind in NAMED_BY if kind not in ANONYMISED)
    for start in range(0, len(ids), ID_CHUNK):
        part = ids[start:start + ID_CHUNK]
        changed.update(anonymise(part))
        for model in SAID:
            result = db.session.execute(delete(model).where(naming(model, part, gone)))
            changed[model.__tablename__] += result.rowcount
    return dict(changed)


def anonymise(ids: list[int]) -> Counter:
    """Write the pushes naming them again in their recipient's language, without them."""
    changed = Counter()
    for message in db.session.scalars(select(OutboxMessage).where(
            naming(OutboxMessage, ids, ANONYMISED))):
        spec = kinds.get(message.kind)
        values = {name: value for name, value in (message.text_values or {}).items()
                  if name not in spec.personal}
        texts = kinds.render(message.kind, message.attendee.language, values)
        named = message.data[NAMED_BY[message.kind]]
        message.title, message.body, message.inbox_body = (
            texts.title, texts.body, texts.inbox_body)
        message.text_values = values
        message.data = without_name(message)
        message.key = f"{message.key.removesuffix(f':{named}')}:erased-{message.id}"
        changed["push_outbox.text_values"] += 1
    for entry in db.session.scalars(select(InboxNotification).where(
            naming(InboxNotification, ids, ANONYMISED))):
        title = db.session.scalar(select(Session.title).where(
            Session.id == int(entry.data.get("session_id") or 0)))
        if title is None:  # its session is gone: nothing left to say it about
            db.session.delete(entry)
            changed["inbox_notifications"] += 1
            continue
        texts = kinds.render(entry.kind, entry.attendee.language, {"title": title})
        entry.body = texts.inbox_body or texts.body
        entry.data = without_name(entry)
        changed["inbox_notifications.body"] += 1
    db.session.flush()
    return changed


def without_name(row) -> dict:
    return {key: value for key, value in row.data.items() if key != NAMED_BY[row.kind]}
