"""The in-app inbox: everything pushed to an attendee, to read again in the app."""

from flask_smorest import abort
from sqlalchemy import Select, select

from companion.extensions import db
from companion.people.models import Attendee
from companion.timeutil import utcnow

from .models import InboxNotification


def inbox_query(attendee: Attendee, unread: bool | None = None) -> Select:
    """Newest first; ``unread`` true or false keeps only those (un)read."""
    statement = (
        select(InboxNotification)
        .where(InboxNotification.attendee_id == attendee.id)
        .order_by(InboxNotification.created_at.desc(), InboxNotification.id.desc())
    )
    if unread is not None:
        read = InboxNotification.read_at.is_not(None)
        statement = statement.where(~read if unread else read)
    return statement


def mark_read(attendee: Attendee, notification_id: int) -> InboxNotification:
    """Mark one of the attendee's notifications read; reading again changes nothing."""
    item = db.session.scalar(
        select(InboxNotification).where(
            InboxNotification.id == notification_id,
            InboxNotification.attendee_id == attendee.id,
        )
    )
    if item is None:
        abort(404, message=f"Notification {notification_id} not found")
    if item.read_at is None:
        item.read_at = utcnow()
    return item
