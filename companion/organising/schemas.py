"""What organisers and moderators send and get: announcements and pings."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..extensions import MAX_ID
from ..people.models import ROLES
from ..schedule.models import LANGUAGES
from ..text import one_line
from ..timeutil import EventDateTime
from .models import ANNOUNCEMENT_PRIORITIES, PING_TEMPLATES

MAX_SESSIONS = 100
MAX_SPEAKERS = 50
TITLE = validate.Length(min=1, max=200)
BODY = validate.Length(min=1, max=1000)


def not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be blank.")


class AudienceSchema(Schema):
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)),
                        validate=validate.Length(min=1, max=len(ROLES)))
    sessions = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID)),
        validate=validate.Length(min=1, max=MAX_SESSIONS),
        metadata={"description": "those who have any of these sessions on their agenda: "
                  "followers, its speakers and moderators, and for a session on "
                  "everyone's agenda everyone who did not unfollow it"},
    )
    languages = fields.List(fields.String(validate=validate.OneOf(LANGUAGES)),
                            validate=validate.Length(min=1, max=len(LANGUAGES)))
    in_room_at = EventDateTime(
        metadata={"description": "those whose agenda has a session running then"}
    )

    @validates_schema
    def something(self, data, **kwargs):
        if not data:
            raise ValidationError('Name at least one of roles, sessions, languages, '
                                  'in_room_at; or send "all".')


AUDIENCE_DOC = {
    "description": 'Everyone ("all"), or those matching every part given',
    "oneOf": [
        {"type": "string", "enum": ["all"]},
        {"type": "object", "additionalProperties": False, "minProperties": 1, "properties": {
            "roles": {"type": "array", "maxItems": len(ROLES),
                      "items": {"type": "string", "enum": list(ROLES)}},
            "sessions": {"type": "array", "maxItems": MAX_SESSIONS,
                         "items": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                         "description": AudienceSchema().fields["sessions"]
                         .metadata["description"]},
            "languages": {"type": "array", "maxItems": len(LANGUAGES),
                          "items": {"type": "string", "enum": list(LANGUAGES)}},
            "in_room_at": {"type": "string", "format": "date-time",
                           "description": "those whose agenda has a session running then"},
        }},
    ],
}


class AudienceField(fields.Field):
    """``"all"`` or an `AudienceSchema` object; kept as JSON (times in the event's zone)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value == "all":
            return "all"
        if not isinstance(value, dict):
            raise ValidationError('Send "all" or an object.')
        loaded = AudienceSchema().load(value)  # its errors nest under "audience"
        if "in_room_at" in loaded:
            loaded["in_room_at"] = loaded["in_room_at"].isoformat()
        return loaded

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class TextSchema(Schema):
    title = fields.String(validate=[TITLE, one_line])
    body = fields.String(validate=BODY)

    @validates_schema
    def something(self, data, **kwargs):
        if not data:
            raise ValidationError("Give a title, a body or both.")


class AnnouncementChangeSchema(Schema):
    """A change to a scheduled announcement: any of its fields."""

    title = fields.String(validate=[TITLE, one_line, not_blank])
    body = fields.String(validate=[BODY, not_blank])
    audience = AudienceField(metadata=AUDIENCE_DOC)
    send_at = EventDateTime(metadata={"description": "when it goes out; default now"})
    priority = fields.String(
        validate=validate.OneOf(ANNOUNCEMENT_PRIORITIES),
        metadata={"description": "high: high priority on Android, time-sensitive on iOS"},
    )
    texts = fields.Dict(
        keys=fields.String(validate=validate.OneOf(LANGUAGES)),
        values=fields.Nested(TextSchema),
        metadata={"description": "the organisers' own words per language; others read "
                  "the main title and body (never machine-translated)"},
    )


class AnnouncementInSchema(AnnouncementChangeSchema):
    title = fields.String(required=True, validate=[TITLE, one_line, not_blank])
    body = fields.String(required=True, validate=[BODY, not_blank])
    audience = AudienceField(required=True, metadata=AUDIENCE_DOC)
    dry_run = fields.Boolean(load_default=False,
                             metadata={"description": "only count recipients; send nothing"})


class FiguresMixin(Schema):
    recipients = fields.Integer(metadata={"description": "people in the audience"})
    with_device = fields.Integer(metadata={"description": "of them, with a phone registered"})
    muted = fields.Integer(metadata={"description": "of them, with announcements switched "
                                     "off: they get nothing"})
    queued = fields.Integer(metadata={"description": "messages still to go"})
    sent = fields.Integer()
    failed = fields.Integer()
    expired = fields.Integer(metadata={"description": "not delivered within 24 hours"})
    tokens_pruned = fields.Integer(
        metadata={"description": "device tokens FCM no longer knew, forgotten while sending"}
    )


class AnnouncementSchema(FiguresMixin):
    id = fields.Integer(allow_none=True, metadata={"description": "null for a dry run"})
    dry_run = fields.Boolean()
    status = fields.String(metadata={"description": "draft (dry run), scheduled, sending, "
                                     "sent or cancelled"})
    title = fields.String()
    body = fields.String()
    texts = fields.Dict(keys=fields.String(), values=fields.Nested(TextSchema))
    audience = AudienceField(metadata=AUDIENCE_DOC)
    priority = fields.String()
    send_at = EventDateTime()
    author_id = fields.Integer(allow_none=True)
    created_at = EventDateTime(allow_none=True)
    updated_at = EventDateTime(allow_none=True)
    cancelled_at = EventDateTime(allow_none=True)


class PingInSchema(Schema):
    template = fields.String(validate=validate.OneOf(PING_TEMPLATES), metadata={
        "description": "on_in_5 (you are on in 5 minutes), to_stage (please come to the "
        "stage), two_minutes (2 minutes left), wrap_up (please wrap up)"})
    message = fields.String(validate=[validate.Length(min=1, max=140), not_blank],
                            metadata={"description": "the sender's own words"})
    speakers = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID)),
        validate=validate.Length(min=1, max=MAX_SPEAKERS),
        metadata={"description": "attendee ids, each a speaker of the session; "
                  "default all of them"},
    )

    @validates_schema
    def one_of_them(self, data, **kwargs):
        if ("template" in data) == ("message" in data):
            raise ValidationError("Send either a template or a message.", "template")


class PingSpeakerSchema(Schema):
    attendee_id = fields.Integer()
    name = fields.String()
    language = fields.String()
    status = fields.String(metadata={"description": "queued, sending, delivered, expired "
                                     "(not delivered within 5 minutes: dropped), failed"})
    delivered = fields.Boolean()
    delivered_at = EventDateTime(allow_none=True)
    acknowledged = fields.Boolean()
    acknowledged_at = EventDateTime(allow_none=True)


class PingSchema(Schema):
    id = fields.Integer()
    session_id = fields.Integer()
    sender_id = fields.Integer(allow_none=True)
    template = fields.String(allow_none=True)
    message = fields.String(allow_none=True)
    sent_at = EventDateTime()
    expires_at = EventDateTime()
    speakers = fields.List(fields.Nested(PingSpeakerSchema))
    acknowledged = fields.Boolean(metadata={"description": "by at least one speaker"})
    unacknowledged = fields.Boolean(metadata={
        "description": "flagged: nobody acknowledged it within 2 minutes"})


class AckSchema(Schema):
    ping_id = fields.Integer()
    session_id = fields.Integer()
    acknowledged_at = EventDateTime()
