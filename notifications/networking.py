"""Pushes of the networking area.

``contact_request`` and ``contact_accepted`` name the other person only in the inbox
(kinds.py): the lock screen says "New contact request". Both carry the other's id in
``data`` (``attendee_id``), which is also how an export or an erasure finds them in
others' inboxes (notifications/privacy.py).
"""

from companion.signals import contact_accepted, contact_requested

from .notify import Notified, notify


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
