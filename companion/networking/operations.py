"""Directory, contact cards, contacts, requests and blocks: the work behind the views.

Consent first: nobody is listed, searchable or reachable by id unless they turned
``directory_visible`` on, and anyone blocked either way is treated as if they did not
exist. A request to such a person runs the very same query as one to an unknown id and
gets the very same 404, so an answer never tells whether someone is registered.
"""

import hmac
import re
import secrets
from dataclasses import dataclass

from flask_smorest import abort
from itsdangerous import BadData, SignatureExpired
from sqlalchemy import Select, and_, delete, exists, literal_column, or_, select, update

from ..db import dialect_insert
from ..extensions import db
from ..people.models import Attendee
from ..ratelimit import count_or_refuse
from ..schedule.models import Event
from ..signals import contact_accepted, contact_requested
from ..timeutil import utcnow
from . import cards
from .models import Block, Contact, ContactRequest, fold

# 24 URL-safe characters, 144 random bits: not guessable, short enough for a small QR.
CODE_BYTES = 18
MAX_TERMS = 8
NOT_FOUND = "Attendee not found"
NO_CARD = "No such contact card (it may have been replaced)"


# --- who may see whom -------------------------------------------------------------

def blocked_between(attendee_id: int, other_id):
    """True when either of the two blocked the other (``other_id``: a value or column)."""
    return exists().where(or_(
        and_(Block.blocker_id == attendee_id, Block.blocked_id == other_id),
        and_(Block.blocker_id == other_id, Block.blocked_id == attendee_id),
    ))


def listed_to(attendee: Attendee) -> Select:
    """The attendees of ``attendee``'s event that they may find: listed, not blocked."""
    return select(Attendee).where(
        Attendee.event_id == attendee.event_id,
        Attendee.directory_visible.is_(True),
        Attendee.id != attendee.id,
        ~blocked_between(attendee.id, Attendee.id),
    )


# --- directory --------------------------------------------------------------------

def search_terms(q: str | None) -> list[str]:
    """The words of a query, folded as the search text is; punctuation is no word."""
    return re.findall(r"[^\W_]+", fold(q or ""))[:MAX_TERMS]


def matches(terms: list[str]):
    """Every term starts a word of the search text: PostgreSQL's full-text search there,
    a LIKE on word starts elsewhere (SQLite)."""
    column = Attendee.search_text
    if db.session.get_bind().dialect.name == "postgresql":
        simple = literal_column("'simple'::regconfig")
        # Terms are letters and digits only: nothing in them reads as tsquery syntax.
        query = " & ".join(f"'{term}':*" for term in terms)
        return func_tsvector(simple, column).op("@@")(func_tsquery(simple, query))
    words = literal_column("' '") + column
    return and_(*(words.like(f"% {term}%") for term in terms))


def func_tsvector(config, column):
    return db.func.to_tsvector(config, db.func.coalesce(column, ""))


def func_tsquery(config, query: str):
    return db.func.to_tsquery(config, query)


def directory_query(attendee: Attendee, event: Event, q: str | None = None) -> Select:
    statement = listed_to(attendee).where(Attendee.event_id == event.id)
    terms = search_terms(q)
    if terms:
        statement = statement.where(matches(terms))
    return statement.order_by(Attendee.name, Attendee.id)


# --- contact card -----------------------------------------------------------------

def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


def card_code(attendee: Attendee) -> str:
    """The attendee's card code, made on first use."""
    if attendee.contact_code is None:
        attendee.contact_code = new_code()
        db.session.flush()
    return attendee.contact_code


def rotate_card(attendee: Attendee) -> str:
    """A new code; the old one stops working at once."""
    attendee.contact_code = new_code()
    db.session.flush()
    return attendee.contact_code


def card_code_for_image(token: str) -> str:
    """The card code a signed image URL shows (``cards.image_token``); 404 once the URL
    expired, its code was rotated, or it was not signed here."""
    try:
        attendee_id, digest = cards.image_signer().loads(token,
                                                         max_age=cards.IMAGE_URL_SECONDS)
    except SignatureExpired:
        abort(404, message="This image link has expired; GET /me/contact-card gives a new one")
    except BadData:
        abort(404, message=NO_CARD)
    code = db.session.scalar(select(Attendee.contact_code).where(Attendee.id == attendee_id))
    if code is None or not hmac.compare_digest(cards.code_digest(code), digest):
        abort(404, message=NO_CARD)
    return code


# --- contacts ---------------------------------------------------------------------

@dataclass
class Outcome:
    status: str  # connected or requested
    contact: Contact | None = None


def count_attempt(attendee: Attendee) -> None:
    """Every scan and request counts, found or not: 429 past CONTACT_REQUEST_LIMIT."""
    count_or_refuse("CONTACT_REQUEST_LIMIT", ("contact-requests", str(attendee.id)),
                    "Too many contact requests; try again later")


def contact_of(attendee: Attendee, other_id: int) -> Contact | None:
    return db.session.get(Contact, (attendee.id, other_id))


def connect(attendee: Attendee, other: Attendee, via: str) -> Contact:
    """Both ways at once; already connected stays as it was."""
    now = utcnow()
    statement = dialect_insert(Contact).values([
        {"owner_id": attendee.id, "contact_id": other.id, "via": via, "created_at": now},
        {"owner_id": other.id, "contact_id": attendee.id, "via": via, "created_at": now},
    ]).on_conflict_do_nothing()
    db.session.execute(statement)
    # Whatever either had asked the other is answered by this.
    db.session.execute(
        update(ContactRequest)
        .where(or_(and_(ContactRequest.requester_id == attendee.id,
                        ContactRequest.recipient_id == other.id),
                   and_(ContactRequest.requester_id == other.id,
                        ContactRequest.recipient_id == attendee.id)),
               ContactRequest.status != "accepted")
        .values(status="accepted", answered_at=now)
    )
    return contact_of(attendee, other.id)


def connect_by_code(attendee: Attendee, code: str) -> Outcome:
    """A scanned card: the two are contacts at once (showing the card was the consent)."""
    count_attempt(attendee)
    other = db.session.scalar(select(Attendee).where(
        Attendee.contact_code == code,
        Attendee.event_id == attendee.event_id,
        ~blocked_between(attendee.id, Attendee.id),
    ))
    if other is None:
        abort(404, message=NO_CARD)
    if other.id == attendee.id:
        abort(422, message="This is your own card.", errors={"code": ["This is your own card."]})
    return Outcome("connected", connect(attendee, other, via="card"))


def reachable(attendee: Attendee, other_id: int) -> Attendee | None:
    """The attendee ``other_id`` if ``attendee`` may ask them: listed in the directory,
    or already in touch (a contact, or a request from them); None for anyone else.

    One query whatever the reason, so hidden, blocked and unknown cost and answer alike.
    """
    in_touch = or_(
        Attendee.directory_visible.is_(True),
        exists().where(Contact.owner_id == attendee.id, Contact.contact_id == Attendee.id),
        exists().where(ContactRequest.requester_id == Attendee.id,
                       ContactRequest.recipient_id == attendee.id,
                       ContactRequest.status == "pending"),
    )
    return db.session.scalar(select(Attendee).where(
        Attendee.id == other_id,
        Attendee.event_id == attendee.event_id,
        in_touch,
        ~blocked_between(attendee.id, Attendee.id),
    ))


def request_contact(attendee: Attendee, other_id: int) -> Outcome:
    """Ask someone from the directory; they are told, and it waits for their answer.

    Asking someone who already asked you connects you both. Asking again, or asking
    someone who declined, changes nothing and is answered as the first time.
    """
    count_attempt(attendee)
    other = reachable(attendee, other_id)
    if other is None:
        abort(404, message=NOT_FOUND)
    if other.id == attendee.id:
        abort(422, message="You cannot ask yourself.",
              errors={"attendee_id": ["This is your own id."]})
    existing = contact_of(attendee, other.id)
    if existing is not None:
        return Outcome("connected", existing)
    theirs = db.session.scalar(select(ContactRequest).where(
        ContactRequest.requester_id == other.id, ContactRequest.recipient_id == attendee.id,
        ContactRequest.status == "pending",
    ))
    if theirs is not None:
        return Outcome("connected", accept(theirs))
    request_id = db.session.scalar(
        dialect_insert(ContactRequest)
        .values(requester_id=attendee.id, recipient_id=other.id, status="pending",
                created_at=utcnow())
        .on_conflict_do_nothing()
        .returning(ContactRequest.id)
    )
    if request_id is not None:  # a new request: the recipient hears of it
        contact_requested.send(db.session.get(ContactRequest, request_id))
    return Outcome("requested")


def contacts_query(attendee: Attendee) -> Select:
    return (select(Contact).join(Contact.contact)
            .where(Contact.owner_id == attendee.id)
            .order_by(Attendee.name, Attendee.id))


def all_contacts(attendee: Attendee) -> list[Contact]:
    return db.session.scalars(contacts_query(attendee)).all()


# --- requests ---------------------------------------------------------------------

def requests_query(attendee: Attendee) -> Select:
    """Requests waiting for the attendee's answer, oldest first."""
    return (select(ContactRequest)
            .where(ContactRequest.recipient_id == attendee.id,
                   ContactRequest.status == "pending")
            .order_by(ContactRequest.created_at, ContactRequest.id))


def pending_request(attendee: Attendee, request_id: int) -> ContactRequest:
    found = db.session.scalar(requests_query(attendee).where(ContactRequest.id == request_id))
    if found is None:
        abort(404, message="Contact request not found")
    return found


def accept(request: ContactRequest) -> Contact:
    """The recipient accepts: contacts both ways, and the requester hears of it."""
    contact = connect(request.recipient, request.requester, via="request")
    db.session.refresh(request)
    contact_accepted.send(request)
    return contact


def answer_request(attendee: Attendee, request_id: int, accepted: bool) -> Contact | None:
    request = pending_request(attendee, request_id)
    if accepted:
        return accept(request)
    # Declined: the requester is never told, and asking again changes nothing.
    request.status = "declined"
    request.answered_at = utcnow()
    return None


# --- blocks -----------------------------------------------------------------------

def block(attendee: Attendee, other_id: int) -> None:
    """Block someone of the event: whatever linked the two goes, and neither finds the
    other again. Unknown ids are accepted alike (an answer never says who exists)."""
    if other_id == attendee.id:
        abort(422, message="You cannot block yourself.",
              errors={"attendee_id": ["This is your own id."]})
    other_id = db.session.scalar(select(Attendee.id).where(
        Attendee.id == other_id, Attendee.event_id == attendee.event_id,
    ))
    if other_id is None:
        return
    db.session.execute(
        dialect_insert(Block)
        .values(blocker_id=attendee.id, blocked_id=other_id, created_at=utcnow())
        .on_conflict_do_nothing()
    )
    between = {(attendee.id, other_id), (other_id, attendee.id)}
    db.session.execute(delete(Contact).where(or_(*(
        and_(Contact.owner_id == a, Contact.contact_id == b) for a, b in between
    ))))
    db.session.execute(delete(ContactRequest).where(or_(*(
        and_(ContactRequest.requester_id == a, ContactRequest.recipient_id == b)
        for a, b in between
    ))))


def unblock(attendee: Attendee, other_id: int) -> None:
    db.session.execute(delete(Block).where(Block.blocker_id == attendee.id,
                                           Block.blocked_id == other_id))
