"""The attendee's personal iCalendar feed, behind a secret URL they can revoke.

Calendar apps cannot send a bearer token, so the URL itself is the secret: the attendee's
id and an HMAC (keyed with SECRET_KEY) over the id and ``calendar_generation``. Bumping the
generation revokes every URL handed out so far. Nothing is stored but the generation.
"""

import base64
import hashlib
import hmac

from flask import current_app, url_for

from ..config import public_url
from ..extensions import MAX_ID, db
from ..schedule.exports import to_ical
from .models import Attendee
from .agenda import personal_schedule

def feed_token(attendee: Attendee) -> str:
    message = f"calendar:{attendee.id}:{attendee.calendar_generation}".encode()
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return f"{attendee.id}-{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"


def attendee_for_feed(token: str) -> Attendee | None:
    """The attendee whose current feed token this is; None for a forged or revoked one."""
    number = token.partition("-")[0]
    if not (number.isascii() and number.isdigit() and len(number) <= 10) or int(number) > MAX_ID:
        return None
    attendee = db.session.get(Attendee, int(number))
    if attendee is None or not hmac.compare_digest(feed_token(attendee), token):
        return None
    return attendee


def rotate_feed(attendee: Attendee) -> None:
    """Revoke the attendee's feed URL; a new one replaces it."""
    attendee.calendar_generation += 1


def feed_urls(attendee: Attendee) -> dict:
    url = public_url() + url_for("calendars.Feed", token=feed_token(attendee))
    return {"url": url, "webcal_url": "webcal://" + url.split("://", 1)[1]}


def personal_ics(attendee: Attendee) -> bytes:
    """The attendee's agenda as iCalendar, with an alarm at each reminder's lead time.

    The same calendar as the public ``schedule.ics`` (local times, TZID, VTIMEZONE),
    cut to the personal schedule.
    """
    event = attendee.event
    items = personal_schedule(attendee)
    return to_ical(
        event, [item.session for item in items],
        name=f"{event.name}: my agenda", uid=f"agenda-{attendee.id}@{event.slug}.companion",
        alarms={item.session.id: item.session.starts_at - item.reminder_at
                for item in items if item.reminder_at is not None},
    )
