"""The agenda as the phone app sees it: the contract's fields, times in the event's zone."""

from datetime import date

from marshmallow import Schema, ValidationError, fields, validate

from ..extensions import MAX_ID
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


FACILITY_KINDS = (
    "entrance", "registration_desk", "cloakroom", "cafeteria", "interpretation_receivers",
    "wifi", "first_aid", "accessible_entrance", "toilets", "other",
)


class InterpretationSchema(Schema):
    channels = fields.List(
        fields.String(validate=validate.Length(1, 50)), validate=validate.Length(max=20),
        metadata={"description": "Receiver channels, e.g. [\"1\", \"2\"]"},
    )
    languages = fields.List(
        fields.String(validate=validate.Length(2, 8)), validate=validate.Length(max=20),
        metadata={"description": "Languages interpreted, in the order of the channels"},
    )


class FacilitySchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(FACILITY_KINDS))
    name = fields.String(required=True, validate=validate.Length(1, 200))
    where = fields.String(allow_none=True, validate=validate.Length(max=500),
                          metadata={"description": "How to find it"})


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
    facilities = fields.List(fields.Nested(FacilitySchema), allow_none=True)


class RoomRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class PersonSchema(Schema):
    """What the public agenda shows of a speaker or moderator: never contact data."""

    id = fields.Integer(allow_none=True, metadata={
        "description": "The attendee's id; null for a person an imported schedule names "
                       "who is not linked to an attendee"})
    name = fields.String()
    organisation = fields.String(allow_none=True)


class SessionSchema(Schema):
    id = fields.Integer()
    guid = fields.String(metadata={
        "description": "Stable across versions and sources: an imported session's frab/"
                       "c3voc guid"})
    kind = fields.String(validate=validate.OneOf(SESSION_KINDS))
    title = fields.String()
    description = fields.String(allow_none=True)
    topics = fields.List(fields.String())
    starts_at = EventDateTime()
    ends_at = EventDateTime()
    room = fields.Nested(RoomRefSchema, allow_none=True)
    speakers = fields.List(fields.Nested(PersonSchema), attribute="speakers_shown")
    moderators = fields.List(fields.Nested(PersonSchema))
    status = fields.String(validate=validate.OneOf(SESSION_STATUSES))
    online_url = fields.String(allow_none=True,
                               metadata={"description": "A stream or meeting link, or null"})
    language = fields.String(allow_none=True, metadata={
        "description": "The language it is held in, when the programme says"})


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


# --- organisers' edits (drafts until released) --------------------------------------

def text(maximum: int, **kwargs) -> fields.String:
    return fields.String(validate=validate.Length(1, maximum), **kwargs)


def ids_field(description: str) -> fields.List:
    return fields.List(fields.Integer(strict=True, validate=validate.Range(1, MAX_ID)),
                       validate=validate.Length(max=50),
                       metadata={"description": description})


def link_field() -> fields.String:
    return fields.String(allow_none=True, validate=[
        validate.Length(max=500), validate.URL(schemes={"https", "http"}),
    ], metadata={"description": "A stream or meeting link (http or https), or null"})


class StrictBool(fields.Boolean):
    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("Not a boolean: send true or false.")
        return value


class SessionEditSchema(Schema):
    """A session as an organiser writes it (POST: kind, title, starts_at and ends_at are
    required; PATCH: any of them). Times need an offset."""

    kind = fields.String(required=True, validate=validate.OneOf(SESSION_KINDS))
    title = text(300, required=True)
    description = fields.String(allow_none=True, validate=validate.Length(max=20000))
    topics = fields.List(fields.String(validate=validate.Length(1, 100)),
                         validate=validate.Length(max=30))
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    room_id = fields.Integer(strict=True, allow_none=True, validate=validate.Range(1, MAX_ID))
    status = fields.String(validate=validate.OneOf(SESSION_STATUSES),
                           metadata={"description": "scheduled, or cancelled"})
    online_url = link_field()
    speakers = ids_field("Attendee ids of the speakers, in order")
    speaker_names = fields.List(text(200), validate=validate.Length(max=50), metadata={
        "description": "Speakers by name only (an imported schedule's people not linked "
                       "to an attendee); linking one: add the id to speakers, drop the name"})
    moderators = ids_field("Attendee ids of the moderators, in order")
    language = fields.String(allow_none=True, validate=validate.Length(max=35))
    force = StrictBool(load_default=False, metadata={
        "description": "Accept times outside the event's days"})


class SessionPatchSchema(SessionEditSchema):
    """What PATCH changes: any fields of a session (use as ``SessionPatchSchema(partial=True)``)."""

    starts_at = fields.AwareDateTime(required=True, metadata={
        "description": "Sent alone, moves the session and keeps its length; to change the "
                       "length, send ends_at too"})
    ends_at = fields.AwareDateTime(required=True, metadata={
        "description": "Sent alone, changes the length; the session starts as before"})


class DraftSessionSchema(Schema):
    """A session as the next release will have it."""

    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    description = fields.String(allow_none=True)
    topics = fields.List(fields.String())
    starts_at = EventDateTime()
    ends_at = EventDateTime()
    room_id = fields.Integer(allow_none=True)
    status = fields.String()
    online_url = fields.String(allow_none=True)
    guid = fields.String()
    language = fields.String(allow_none=True)
    speakers = fields.List(fields.Integer())
    speaker_names = fields.List(fields.String())
    moderators = fields.List(fields.Integer())
    released = fields.Boolean(metadata={"description": "False until a release adds it"})


class RoomEditSchema(Schema):
    name = text(200, required=True)
    building = fields.String(allow_none=True, validate=validate.Length(max=200))
    address = fields.String(allow_none=True, validate=validate.Length(max=300))
    floor = fields.String(allow_none=True, validate=validate.Length(max=50))
    capacity = fields.Integer(strict=True, allow_none=True, validate=validate.Range(0, 100000))
    accessibility = fields.String(allow_none=True, validate=validate.Length(max=5000))
    interpretation = fields.Nested(InterpretationSchema, allow_none=True)
    directions = fields.String(allow_none=True, validate=validate.Length(max=5000))
    map_url = link_field()
    facilities = fields.List(fields.Nested(FacilitySchema), allow_none=True,
                             validate=validate.Length(max=50))


class RoomPatchSchema(RoomEditSchema):
    """What PATCH changes: any fields of a room (``RoomPatchSchema(partial=True)``)."""


class DraftRoomSchema(RoomSchema):
    released = fields.Boolean(metadata={"description": "False until a release adds it"})


class ChangeSchema(Schema):
    kind = fields.String(metadata={"description": (
        "added, removed, cancelled, uncancelled, moved, retimed, room_changed, retitled, "
        "description_changed, speakers_changed, moderators_changed, online_link_changed, "
        "details_changed (kind or topics); for rooms room_added, room_removed, "
        "room_changed (with the fields)")})
    old = fields.Raw(allow_none=True)
    new = fields.Raw(allow_none=True)


class ChangelogEntrySchema(Schema):
    session_id = fields.Integer(allow_none=True)
    room_id = fields.Integer(allow_none=True)
    title = fields.String(metadata={"description": "The session's title, or the room's name"})
    changes = fields.List(fields.Nested(ChangeSchema))


class WarningSchema(Schema):
    kind = fields.String(metadata={"description": (
        "room_overlap (two scheduled sessions in one room at once), person_overlap (a "
        "linked speaker or moderator in two sessions at once), past_day_end (a session "
        "ending after its event day ends)")})
    session_ids = fields.List(fields.Integer())
    message = fields.String(metadata={
        "description": "Names the sessions and their local times"})


class DraftSchema(Schema):
    version = fields.Integer(metadata={"description": "The version released now"})
    edits = fields.Integer(metadata={"description": "Sessions and rooms edited"})
    changes = fields.List(fields.Nested(ChangelogEntrySchema))
    warnings = fields.List(fields.Nested(WarningSchema), metadata={"description": (
        "What the schedule as the next release would have it should make organisers "
        "look twice; never blocks a release")})


class PublishSchema(Schema):
    note = fields.String(load_default=None, allow_none=True,
                         validate=validate.Length(max=2000))


class ReleaseSchema(Schema):
    version = fields.Integer(attribute="number")
    note = fields.String(allow_none=True)
    released_at = EventDateTime()
    changes = fields.List(fields.Nested(ChangelogEntrySchema))
    notified = fields.Integer(metadata={"description": "Pushes queued for this release"})


class ImportQuerySchema(Schema):
    publish = fields.Boolean(load_default=False, metadata={
        "description": "Release the changes at once (with the edits waiting in the draft)"})


class ImportSchema(Schema):
    """What an import did: released (``version`` the new one), or left in the draft."""

    version = fields.Integer(metadata={"description": "The version released now"})
    released = fields.Boolean(metadata={"description": "Whether this import made a release"})
    changes = fields.List(fields.Nested(ChangelogEntrySchema), metadata={
        "description": "The release's changelog, or the draft's (empty: the file changes "
                       "nothing released, and nothing was released)"})
    notified = fields.Integer(metadata={"description": "Pushes queued for the release"})
    warnings = fields.List(fields.String(), metadata={
        "description": "What strays from the schedule formats but did not stop the import"})


class ChangesQuerySchema(Schema):
    since = fields.Integer(required=True, validate=validate.Range(0, MAX_ID),
                           metadata={"description": "The version the phone has"})


class ChangesSinceSchema(Schema):
    version = fields.Integer(metadata={"description": "The current version"})
    since = fields.Integer()
    sessions = fields.List(fields.Nested(SessionSchema),
                           metadata={"description": "Sessions changed since, as they are now"})
    removed = fields.List(fields.Integer(), metadata={"description": "Ids of removed sessions"})


class DelaySchema(Schema):
    minutes = fields.Integer(required=True, strict=True, validate=validate.Range(1, 720))
    shift_following = StrictBool(load_default=False, metadata={
        "description": "Also move what follows in that room that day (breaks absorb first)"})
    force = StrictBool(load_default=False, metadata={
        "description": "Accept a session pushed past midnight"})
    note = fields.String(load_default=None, allow_none=True,
                         validate=validate.Length(max=2000))


class MoveSchema(Schema):
    """Move the whole event by days, and/or online; one release."""

    days = fields.Integer(load_default=0, strict=True, validate=validate.Range(-3650, 3650))
    online_url = link_field()
    note = fields.String(load_default=None, allow_none=True,
                         validate=validate.Length(max=2000))
