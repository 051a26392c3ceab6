"""What the app sends and gets for networking: profiles as others see them, cards,
contacts with only the details their owners share, requests and blocks."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..extensions import MAX_ID
from ..timeutil import EventDateTime
from .models import VIAS

CODE_LENGTH = 64
CARD_FORMATS = ("json", "svg", "png")


class PublicProfileSchema(Schema):
    """What a listed attendee shows to everyone of the event: no way to reach them."""

    id = fields.Integer()
    name = fields.String()
    title = fields.String(allow_none=True)
    organisation = fields.String(allow_none=True)
    country = fields.String(allow_none=True)
    bio = fields.String(allow_none=True)
    topics = fields.List(fields.String())
    languages_spoken = fields.List(fields.String())


class DirectoryQuerySchema(Schema):
    q = fields.String(
        validate=validate.Length(max=200),
        metadata={"description": "Words that start words of the name, organisation, "
                                 "country or topics (all must match)"},
    )


def shared(field: str, flag: str):
    """The contact's ``field`` if they ticked ``flag``; null otherwise."""
    def value(contact):
        person = contact.contact
        return getattr(person, field) if getattr(person, flag) else None

    return value


class ContactSchema(Schema):
    """A contact: their profile, and email, phone and links where they chose to share."""

    id = fields.Integer(attribute="contact_id")
    name = fields.String(attribute="contact.name")
    title = fields.String(attribute="contact.title", allow_none=True)
    organisation = fields.String(attribute="contact.organisation", allow_none=True)
    country = fields.String(attribute="contact.country", allow_none=True)
    bio = fields.String(attribute="contact.bio", allow_none=True)
    topics = fields.List(fields.String(), attribute="contact.topics")
    languages_spoken = fields.List(fields.String(), attribute="contact.languages_spoken")
    email = fields.Function(shared("email", "share_email"), allow_none=True,
                            metadata={"description": "Null unless they share it"})
    phone = fields.Function(shared("phone", "share_phone"), allow_none=True,
                            metadata={"description": "Null unless they share it"})
    links = fields.Function(shared("links", "share_links"), allow_none=True,
                            metadata={"description": "Null unless they share them"})
    via = fields.String(validate=validate.OneOf(VIAS),
                        metadata={"description": "card: a scanned card; request: accepted"})
    created_at = EventDateTime(metadata={"description": "When the two connected"})


class ConnectSchema(Schema):
    """Exactly one: a scanned card's code, or an attendee id from the directory."""

    code = fields.String(validate=validate.Length(1, CODE_LENGTH))
    attendee_id = fields.Integer(strict=True, validate=validate.Range(1, MAX_ID))

    @validates_schema
    def one_of_them(self, data, **kwargs):
        if ("code" in data) == ("attendee_id" in data):
            raise ValidationError("Send either code or attendee_id.", "_schema")


class ConnectedSchema(Schema):
    status = fields.String(
        validate=validate.OneOf(("connected", "requested")),
        metadata={"description": "connected: contacts now; requested: waiting for them"},
    )
    contact = fields.Nested(ContactSchema, allow_none=True)


class ContactRequestSchema(Schema):
    id = fields.Integer()
    requester = fields.Nested(PublicProfileSchema, metadata={"description": "Who asks"})
    created_at = EventDateTime()


class BlockSchema(Schema):
    attendee_id = fields.Integer(required=True, strict=True,
                                 validate=validate.Range(1, MAX_ID))


class CardQuerySchema(Schema):
    format = fields.String(
        validate=validate.OneOf(CARD_FORMATS),
        metadata={"description": "json (default), or the QR image as svg or png; "
                                 "without it, Accept: image/svg+xml or image/png chooses"},
    )


class CardSchema(Schema):
    code = fields.String(metadata={"description": "What the QR image encodes; show it, "
                                                  "the other scans it"})
    svg_url = fields.String(metadata={"description": "The QR image as SVG at a signed URL "
                                                     "(no token needed) valid for 5 minutes"})
    png_url = fields.String(metadata={"description": "The QR image as PNG at a signed URL "
                                                     "(no token needed) valid for 5 minutes"})
