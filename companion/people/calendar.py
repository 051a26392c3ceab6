"""The attendee's personal iCalendar feed, behind a secret URL they can revoke.

Calendar apps cannot send a bearer token, so the URL itself is the secret: the attendee's
id and an HMAC (keyed with SECRET_KEY) over the id and ``calendar_generation``. Bumping the
generation revokes every URL handed out so far. Nothing is stored but the generation.
"""

import base64
import hashlib
import hmac

from flask import current_app, url_for
from icalendar import Alarm, Calendar
from icalendar import Event as CalendarEvent

from ..extensions import MAX_ID, db
from ..timeutil import utcnow
from .models import Attendee
from .schedule import personal_schedule

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
    db.session.commit()


def feed_urls(attendee: Attendee) -> dict:
    path = url_for("calendars.Feed", token=feed_token(attendee))
    base = current_app.config.get("PUBLIC_URL", "").rstrip("/")
    url = base + path if base else url_for("calendars.Feed", token=feed_token(attendee),
                                           _external=True)
    return {"url": url, "webcal_url": "webcal://" + url.split("://", 1)[1]}


def personal_ics(attendee: Attendee) -> bytes:
    """The attendee's agenda as iCalendar, with an alarm at each reminder's lead time.

    Times are written in UTC (``...Z``): every calendar app reads those the same way,
    whereas generated VTIMEZONE rules are misread by some parsers.
    """
    event = attendee.event
    calendar = Calendar()
    calendar.add("prodid", "-//OSCE Alliance companion//personal agenda//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"{event.name}: my agenda")
    calendar.add("x-wr-timezone", event.timezone)
    stamp = utcnow()
    for item in personal_schedule(attendee):
        session = item.session
        entry = CalendarEvent()
        entry.add("uid", session.uid)
        entry.add("dtstamp", stamp)
        entry.add("dtstart", session.starts_at)
        entry.add("dtend", session.ends_at)
        entry.add("summary", session.title)
        if session.description:
            entry.add("description", session.description)
        if session.room is not None:
            entry.add("location", session.room.name)
        entry.add("status", "CANCELLED" if session.status == "cancelled" else "CONFIRMED")
        if item.reminder_at is not None:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", session.title)
            alarm.add("trigger", item.reminder_at - session.starts_at)
            entry.add_component(alarm)
        calendar.add_component(entry)
    return calendar.to_ical()
