"""The push side of announcements and pings (``companion.organising``).

Organising reaches this through its `Delivery` port (``companion.organising.delivery``),
plugged in by ``notifications.init_app``: companion never imports notifications. Each
announcement or ping is one `notify` whose key prefix is its origin
(``announcement:<id>``, ``ping:<id>``); its messages' statuses are its figures.
"""

from collections.abc import Sequence

from sqlalchemy import func, select, update

from companion.db import rows_in
from companion.extensions import db
from companion.organising.delivery import Figures
from companion.organising.models import Announcement, Ping
from companion.people.models import Attendee

from .models import BROADCASTS, OutboxMessage
from .notify import notify

# An announcement's priority as the organiser chose it -> the push's (kinds.PRIORITIES):
# high is high on Android and time-sensitive on iOS (apns-priority 10).
PRIORITY = {"normal": "normal", "high": "urgent"}
COUNTED = {"pending": "queued", "sending": "queued", "sent": "sent", "failed": "failed",
           "expired": "expired", "cancelled": "cancelled"}


def announce(announcement: Announcement, recipients: Sequence[Attendee]) -> int:
    values = {"title": announcement.title, "body": announcement.body,
              "texts": announcement.texts or {}}
    done = notify("announcement", recipients, values, key=announcement.origin,
                  due_at=announcement.send_at, priority=PRIORITY[announcement.priority],
                  data={"announcement_id": str(announcement.id)})
    return done.queued


def withdraw(origin: str) -> int:
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.origin == origin, OutboxMessage.kind.in_(BROADCASTS),
               OutboxMessage.status == "pending", OutboxMessage.attempts == 0)
        .values(status="cancelled"),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount


def figures(origins: Sequence[str], recipients: bool = False) -> dict[str, Figures]:
    """Counts by status of each origin's messages: one grouped query (per 5,000 origins)."""
    found = {origin: Figures() for origin in origins}
    counts = (
        select(OutboxMessage.origin, OutboxMessage.status, func.count(),
               func.coalesce(func.sum(OutboxMessage.tokens_pruned), 0),
               func.max(OutboxMessage.attempts))
        .where(OutboxMessage.kind.in_(BROADCASTS))  # the index on origin holds only those
        .group_by(OutboxMessage.origin, OutboxMessage.status)
    )
    for origin, status, count, pruned, attempts in rows_in(counts, OutboxMessage.origin,
                                                          list(found)):
        entry = found[origin]
        counter = COUNTED[status]
        setattr(entry, counter, getattr(entry, counter) + count)
        entry.tokens_pruned += pruned
        entry.started = entry.started or status not in ("pending", "cancelled") or attempts > 0
    if recipients:
        each = select(OutboxMessage.origin, OutboxMessage.attendee_id, OutboxMessage.status,
                      OutboxMessage.sent_at).where(OutboxMessage.kind.in_(BROADCASTS))
        for origin, attendee_id, status, sent_at in rows_in(each, OutboxMessage.origin,
                                                            list(found)):
            found[origin].by_recipient[attendee_id] = (status, sent_at)
    return found


def ping_values(ping: Ping) -> dict:
    values = {"title": ping.session.title, "session_id": ping.session_id}
    if ping.template:
        values["template"] = ping.template
    else:
        values["message"] = ping.message
    return values


def ping(ping: Ping, speakers: Sequence[Attendee]) -> int:
    """Now, urgent, for 5 minutes, never muted: the kind ``ping``."""
    done = notify("ping", speakers, ping_values(ping), key=ping.origin, due_at=ping.sent_at,
                  session_id=ping.session_id,
                  data={"session_id": str(ping.session_id), "ping_id": str(ping.id)})
    return done.queued


def acknowledged(ping: Ping, speaker: Attendee) -> int:
    """To the ping's sender (if they still exist): a speaker saw it."""
    if ping.sender is None:
        return 0
    values = {"title": ping.session.title, "session_id": ping.session_id,
              "name": speaker.name}
    done = notify("ping_ack", [ping.sender], values,
                  key=f"ping-ack:{ping.id}:{speaker.id}", session_id=ping.session_id,
                  data={"session_id": str(ping.session_id), "ping_id": str(ping.id),
                        "speaker_id": str(speaker.id)})
    return done.queued
