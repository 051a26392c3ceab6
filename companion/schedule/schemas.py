"""The agenda as the phone app sees it: the contract's fields, times in the event's zone."""

from datetime import date

from marshmallow import Schema, fields, validate

from ..timeutil import EventDateTime
from .models import SESSION_KINDS, SESSION_STATUSES


class EventSchema(Schema):
    slug = fields.String()
    name = fields.String()
    subtitle = fields.String(allow_none=True)
    tagline = fields.String(allow_none=True)
    organiser = fields.String(allow_none=True)
    starts_on = fields.Date()
    ends_on = fields.Date()
    timezone = fields.String(metadata={"description": "IANA time zone, e.g. Europe/Vienna"})
    venue = fields.String(allow_none=True)
    languages = fields.List(fields.String())
    hashtags = fields.List(fields.String())
    twitter = fields.String(allow_none=True)
    url = fields.String(allow_none=True)


class InterpretationSchema(Schema):
    channels = fields.List(fields.String())
    languages = fields.List(fields.String())


class RoomSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    building = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    floor = fields.String(allow_none=True)
    capacity = fields.Integer(allow_none=True)
    accessibility = fields.String(allow_none=True)
    interpretation = fields.Nested(InterpretationSchema, allow_none=True)
    directions = fields.String(allow_none=True)
    map_url = fields.String(allow_none=True)


class RoomRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class PersonSchema(Schema):
    """What the public agenda shows of a speaker or moderator: never contact data."""

    id = fields.Integer()
    name = fields.String()
    organisation = fields.String(allow_none=True)


class SessionSchema(Schema):
    id = fields.Integer()
    kind = fields.String(validate=validate.OneOf(SESSION_KINDS))
    title = fields.String()
    description = fields.String(allow_none=True)
    topics = fields.List(fields.String())
    starts_at = EventDateTime()
    ends_at = EventDateTime()
    room = fields.Nested(RoomRefSchema, allow_none=True)
    speakers = fields.List(fields.Nested(PersonSchema))
    moderators = fields.List(fields.Nested(PersonSchema))
    status = fields.String(validate=validate.OneOf(SESSION_STATUSES))


class SessionQuerySchema(Schema):
    # A day whose midnight in any zone is still a datetime: no overflow at the ends.
    day = fields.Date(validate=validate.Range(date(2, 1, 1), date(9998, 12, 31)),
                      metadata={"description": "Local day of the event, YYYY-MM-DD"})
    kind = fields.String(validate=validate.OneOf(SESSION_KINDS))
    ends_after = fields.AwareDateTime(
        metadata={"description": "Only sessions still running after this instant (with offset)"}
    )
    starts_before = fields.AwareDateTime(
        metadata={"description": "Only sessions starting before this instant (with offset)"}
    )
