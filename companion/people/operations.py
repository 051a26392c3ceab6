"""Sign-in, preferences and bookmarks: the work behind the /auth and /me views."""

from dataclasses import dataclass
from datetime import datetime

from flask_smorest import abort
from sqlalchemy import Select, func, select

from .. import auth
from ..db import upsert
from ..extensions import db
from ..schedule.models import Event, Session
from ..schedule.operations import get_session
from ..signals import agendas_changed
from ..timeutil import utcnow
from . import firebase
from .models import Attendee, Bookmark, default_notify


def normalise_email(email: str) -> str:
    return email.strip().lower()


@dataclass
class SignIn:
    token: str
    expires_at: datetime
    attendee: Attendee

    @property
    def timezone(self) -> str:
        return self.attendee.event.timezone


def attendees_by_email(email: str, event_slug: str | None = None) -> list[Attendee]:
    statement = select(Attendee).where(func.lower(Attendee.email) == normalise_email(email))
    if event_slug is not None:
        statement = statement.join(Event).where(Event.slug == event_slug)
    return db.session.scalars(statement.order_by(Attendee.id)).all()


def find_by_code(email: str, code: str, event_slug: str | None = None) -> Attendee | None:
    """The attendee with this email whose access code this is, if any.

    One email may be registered at several events; the code tells them apart.
    """
    # With nobody to check, check against nothing: a miss takes as long as a hit.
    for attendee in attendees_by_email(email, event_slug) or [None]:
        if auth.check_access_code(attendee, code):
            if auth.is_legacy_hash(attendee.access_code_hash):  # scrypt: rehash, committed
                attendee.access_code_hash = auth.hash_access_code(code)  # with the sign-in
            return attendee
    return None


def signed_in(attendee: Attendee) -> SignIn:
    token, access = auth.issue_token(attendee)
    return SignIn(token=token, expires_at=access.expires_at, attendee=attendee)


def sign_in(email: str, code: str, event_slug: str | None = None) -> SignIn:
    attendee = find_by_code(email, code, event_slug)
    if attendee is None:
        auth.unauthorised("Unknown email or access code")
    return signed_in(attendee)


def sign_in_with_firebase(id_token: str, event_slug: str | None = None) -> SignIn:
    """The attendee registered with the token's verified email."""
    email = firebase.verified_email(id_token)
    found = attendees_by_email(email, event_slug)
    if not found:
        auth.unauthorised("No attendee is registered with this email")
    if len(found) > 1:
        abort(409, message="This email is registered at several events: send event")
    return signed_in(found[0])


def sign_out() -> None:
    auth.revoke_token(auth.current_token())


def sign_out_everywhere(attendee: Attendee) -> int:
    """End every token of the attendee (this one too); how many were live."""
    return auth.revoke_all_tokens(attendee)


def update_preferences(attendee: Attendee, changes: dict) -> Attendee:
    """Apply a PATCH /me; notify categories merge into the current ones."""
    notify = changes.pop("notify", None)
    if notify is not None:
        attendee.notify = {**default_notify(), **(attendee.notify or {}), **notify}
    for name, value in changes.items():
        setattr(attendee, name, value)
    attendee.agenda_version = Attendee.agenda_version + 1  # /me/schedule's ETag changes
    db.session.flush()
    agendas_changed.send([attendee])  # lead time, language, mute: their reminders follow
    return attendee


def own_event(attendee: Attendee, slug: str | None) -> Event:
    """The attendee's event; asking for another one is a 404 (a token is per event)."""
    if slug is not None and slug != attendee.event.slug:
        abort(404, message=f"Event {slug!r} not found")
    return attendee.event


# --- bookmarks -------------------------------------------------------------------

def bookmarks_query(attendee: Attendee) -> Select:
    return (
        select(Bookmark)
        .where(Bookmark.attendee_id == attendee.id)
        .order_by(Bookmark.session_id)
    )



def choose_session(attendee: Attendee, session_id: int, following: bool) -> Bookmark:
    """Follow (true) or mute (false) a session of the attendee's event; idempotent."""
    session: Session = get_session(attendee.event, session_id)
    upsert(Bookmark, {"attendee_id": attendee.id, "session_id": session.id,
                      "following": following, "updated_at": utcnow()},
           keys=["attendee_id", "session_id"], update=["following", "updated_at"])
    attendee.agenda_version = Attendee.agenda_version + 1  # /me/schedule's ETag changes
    db.session.flush()
    agendas_changed.send([attendee], session_ids={session.id})
    return db.session.get(Bookmark, (attendee.id, session.id), populate_existing=True)
