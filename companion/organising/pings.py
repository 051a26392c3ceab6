"""Moderators' pings: a short push to the speakers of their session, and their acks.

A ping may be sent by a moderator of the session (``session_people`` role moderator)
or by an organiser of its event, only to that session's speakers. It goes at once,
urgently, never muted, and is dropped (shown as expired) when it could not be delivered
within 5 minutes: the push kind ``ping``. Each sender may send ``PING_RATE_LIMIT``
(default 6 a minute) per session; beyond it, 429.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_smorest import abort
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..people.models import Attendee
from ..ratelimit import count_or_refuse
from ..schedule.models import Session, SessionPerson
from ..timeutil import utcnow
from .audit import record
from .delivery import delivery
from .models import Ping, PingRecipient

TTL = timedelta(minutes=5)  # the kind ``ping``'s time to live
ANSWER_WITHIN = timedelta(minutes=2)  # unacknowledged after this: flagged
# What the outbox status of a speaker's message means to the moderator.
SHOWN = {"pending": "queued", "sending": "sending", "sent": "delivered",
         "expired": "expired", "failed": "failed", "cancelled": "expired"}


def get_session(session_id: int) -> Session:
    session = db.session.get(Session, session_id)
    if session is None:
        abort(404, message=f"Session {session_id} not found")
    return session


def check_may_ping(session: Session, attendee: Attendee) -> None:
    """A moderator of this session, or an organiser of its event; else 403."""
    if attendee.event_id == session.event_id and attendee.has_role("organiser"):
        return
    moderates = db.session.scalar(select(SessionPerson.attendee_id).where(
        SessionPerson.session_id == session.id, SessionPerson.attendee_id == attendee.id,
        SessionPerson.role == "moderator"))
    if moderates is None:
        abort(403, message="Only for: moderators of this session, organisers")


def chosen_speakers(session: Session, ids: list[int] | None) -> list[Attendee]:
    speakers = session.speakers
    if not speakers:
        abort(409, message="This session has no speakers to ping.")
    if ids is None:
        return speakers
    known = {speaker.id: speaker for speaker in speakers}
    strangers = sorted(set(ids) - set(known))
    if strangers:
        abort(422, message="Pings go only to this session's speakers.",
              errors={"speakers": [f"{i} is not a speaker of this session."
                                   for i in strangers]})
    return [known[i] for i in sorted(set(ids))]


def check_rate(session: Session, sender: Attendee) -> None:
    """Count this ping against the sender's limit for the session; 429 beyond it."""
    count_or_refuse("PING_RATE_LIMIT", ("ping", str(sender.id), str(session.id)),
                    "Too many pings to this session; at most {limit}.")


def send(session: Session, sender: Attendee, values: dict) -> "PingView":
    """Send it (the caller checked `check_may_ping`); as the listing shows it."""
    speakers = chosen_speakers(session, values.get("speakers"))
    check_rate(session, sender)
    ping = Ping(session_id=session.id, sender_id=sender.id, template=values.get("template"),
                message=values.get("message"), sent_at=utcnow(),
                recipients=[PingRecipient(attendee_id=s.id) for s in speakers])
    db.session.add(ping)
    db.session.flush()
    delivery().ping(ping, speakers)
    record(session.event, sender, "ping.send", subject=f"session:{session.id}",
           after={"ping": ping.id, "template": ping.template, "message": ping.message,
                  "speakers": [s.id for s in speakers]}, recipients=len(speakers))
    return views([ping], session)[0]


def acknowledge(attendee: Attendee, ping_id: int) -> PingRecipient:
    """The speaker saw it; the first ack tells its sender, the next change nothing."""
    mine = db.session.get(PingRecipient, (ping_id, attendee.id))
    if mine is None:
        abort(404, message=f"Ping {ping_id} not found")
    if mine.acknowledged_at is None:
        mine.acknowledged_at = utcnow()
        delivery().acknowledged(mine.ping, attendee)
    return mine


@dataclass
class SpeakerView:
    attendee_id: int
    name: str
    language: str
    status: str
    delivered_at: datetime | None
    acknowledged_at: datetime | None
    timezone: str

    @property
    def delivered(self) -> bool:
        return self.status == "delivered"

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None


@dataclass
class PingView:
    ping: Ping
    speakers: list[SpeakerView]
    now: datetime

    def __getattr__(self, name):
        return getattr(self.ping, name)

    @property
    def timezone(self) -> str:
        return self.ping.timezone

    @property
    def expires_at(self) -> datetime:
        return self.ping.sent_at + TTL

    @property
    def acknowledged(self) -> bool:
        return any(speaker.acknowledged for speaker in self.speakers)

    @property
    def unacknowledged(self) -> bool:
        """Nobody acknowledged it within 2 minutes of its sending."""
        deadline = self.ping.sent_at + ANSWER_WITHIN
        return self.now >= deadline and not any(
            s.acknowledged_at is not None and s.acknowledged_at <= deadline
            for s in self.speakers)


def listing(session: Session) -> list[PingView]:
    """The session's pings, newest first, with each speaker's delivery and ack."""
    pings = list(db.session.scalars(
        select(Ping).where(Ping.session_id == session.id)
        .options(selectinload(Ping.recipients).selectinload(PingRecipient.attendee))
        .order_by(Ping.sent_at.desc(), Ping.id.desc())
    ))
    return views(pings, session)


def views(pings: list[Ping], session: Session) -> list[PingView]:
    figures = delivery().figures([ping.origin for ping in pings], recipients=True)
    now = utcnow()
    views = []
    for ping in pings:
        delivered = figures[ping.origin].by_recipient
        speakers = []
        for recipient in ping.recipients:
            status, sent_at = delivered.get(recipient.attendee_id, ("expired", None))
            speakers.append(SpeakerView(
                recipient.attendee_id, recipient.attendee.name, recipient.attendee.language,
                SHOWN.get(status, status), sent_at, recipient.acknowledged_at,
                session.event.timezone))
        views.append(PingView(ping, speakers, now))
    return views
