"""Pushes of the networking area, and forgetting them when a person is erased.

``contact_request`` and ``contact_accepted`` name the other person only in the inbox
(kinds.py): the lock screen says "New contact request". Both carry the other's id in
``data`` (``attendee_id``), which is also how an erasure finds them in others' inboxes.
"""

from sqlalchemy import delete

from companion.db import ID_CHUNK
from companion.extensions import db
from companion.signals import attendees_erasing, contact_accepted, contact_requested

from .models import InboxNotification, OutboxMessage
from .notify import Notified, notify

KINDS = ("contact_request", "contact_accepted")


@contact_requested.connect
def on_contact_requested(request, **_) -> Notified:
    requester = request.requester
    return notify("contact_request", [request.recipient], {"name": requester.name},
                  key=f"contact-request:{request.id}",
                  data={"request_id": str(request.id), "attendee_id": str(requester.id)})


@contact_accepted.connect
def on_contact_accepted(request, **_) -> Notified:
    recipient = request.recipient
    return notify("contact_accepted", [request.requester], {"name": recipient.name},
                  key=f"contact-accepted:{request.id}",
                  data={"request_id": str(request.id), "attendee_id": str(recipient.id)})


@attendees_erasing.connect
def on_attendees_erasing(ids: list[int], **_) -> dict[str, int]:
    """Delete the networking pushes to anyone that name one of these attendees."""
    removed = {"inbox_notifications": 0, "push_outbox": 0}
    for start in range(0, len(ids), ID_CHUNK):
        named = [str(attendee_id) for attendee_id in ids[start:start + ID_CHUNK]]
        for model in (InboxNotification, OutboxMessage):
            result = db.session.execute(delete(model).where(
                model.kind.in_(KINDS), model.data["attendee_id"].as_string().in_(named),
            ))
            removed[model.__tablename__] += result.rowcount
    return removed
