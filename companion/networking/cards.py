"""What leaves the app as files: the card's QR image (segno) and contacts as vCard."""

import hashlib
import io

import segno
import vobject
from flask import current_app
from itsdangerous import URLSafeTimedSerializer

from .models import Contact

QR_SCALE = 8  # pixels (PNG) or units (SVG) per module: sharp on a phone screen
MIMETYPES = {"svg": "image/svg+xml", "png": "image/png"}
# An image loader fetches the card's image URL at once; a copied or logged one soon stops.
IMAGE_URL_SECONDS = 300


def qr_image(code: str, kind: str) -> bytes:
    """The code as a QR image; medium error correction survives a scratched screen."""
    out = io.BytesIO()
    qr = segno.make_qr(code, error="m")
    if kind == "svg":
        qr.save(out, kind="svg", scale=QR_SCALE, border=4, xmldecl=False,
                title="Contact card")
    else:
        qr.save(out, kind="png", scale=QR_SCALE, border=4)
    return out.getvalue()


def image_signer() -> URLSafeTimedSerializer:
    """Signs the card's image URLs (with SECRET_KEY, as the calendar feed's): an image
    loader cannot send a bearer token, so the URL is the credential, for a few minutes."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="contact-card-image")


def code_digest(code: str) -> str:
    """Names a card code in a URL without showing it: a rotated code voids its URLs."""
    return hashlib.sha256(code.encode()).hexdigest()[:22]


def image_token(attendee_id: int, code: str) -> str:
    return image_signer().dumps([attendee_id, code_digest(code)])


def split_name(name: str) -> vobject.vcard.Name:
    """N as phones want it: the last word as family name, the rest as given names."""
    given, _, family = name.strip().rpartition(" ")
    return vobject.vcard.Name(family=family, given=given)


def vcard(contact: Contact, uid: str) -> vobject.base.Component:
    """One contact: their public profile, and email, phone and links only if shared."""
    person = contact.contact
    card = vobject.vCard()
    card.add("uid").value = uid
    card.add("fn").value = person.name
    card.add("n").value = split_name(person.name)
    if person.organisation:
        card.add("org").value = [person.organisation]
    if person.title:
        card.add("title").value = person.title
    if person.share_email:
        email = card.add("email")
        email.value = person.email
        email.type_param = "INTERNET"
    if person.share_phone and person.phone:
        card.add("tel").value = person.phone
    if person.share_links:
        for link in person.links or []:
            card.add("url").value = link
    return card


def vcards(contacts: list[Contact], event_slug: str) -> str:
    return "".join(
        vcard(contact, f"{event_slug}-attendee-{contact.contact_id}@alliance-companion")
        .serialize()
        for contact in contacts
    )
