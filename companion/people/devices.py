"""Phones registered for push: one row per push token, owned by one attendee at a time."""

from sqlalchemy import select

from ..db import upsert
from ..extensions import db
from ..timeutil import utcnow
from .models import Attendee, Device

# A sane cap: phones, tablets and browsers of one person. The least recently seen go first.
MAX_DEVICES = 10


def register_device(attendee: Attendee, token: str, platform: str,
                    language: str | None = None) -> tuple[Device, bool]:
    """Register or refresh a push token; returns the device and whether it is new.

    A token already registered to someone else moves to this attendee (the phone
    changed hands or signed in again): a token is never held twice.
    """
    created = db.session.scalar(select(Device.id).where(Device.token == token)) is None
    now = utcnow()
    upsert(Device, {"attendee_id": attendee.id, "token": token, "platform": platform,
                    "language": language, "created_at": now, "last_seen_at": now},
           keys=["token"], update=["attendee_id", "platform", "language", "last_seen_at"])
    stale = db.session.scalars(
        select(Device).where(Device.attendee_id == attendee.id)
        .order_by(Device.last_seen_at.desc(), Device.id.desc())
        .offset(MAX_DEVICES)
    ).all()
    for device in stale:
        db.session.delete(device)
    db.session.flush()
    device = db.session.scalar(
        select(Device).where(Device.token == token).execution_options(populate_existing=True)
    )
    return device, created


def drop_device(attendee: Attendee, token: str) -> None:
    """Forget the attendee's push token; someone else's stays (and nobody learns of it)."""
    device = db.session.scalar(
        select(Device).where(Device.token == token, Device.attendee_id == attendee.id)
    )
    if device is not None:
        db.session.delete(device)
