"""What the phone app sends and gets about its attendee: the contract's fields, strictly typed."""

import re

from babel import negotiate_locale
from marshmallow import Schema, ValidationError, fields, validate

from notifications.kinds import FALLBACK
from notifications.kinds import LANGUAGES as CATALOGUES

from ..auth import current_attendee
from ..schedule.models import LANGUAGES, Event
from ..schedule.schemas import SessionSchema
from ..timeutil import EventDateTime
from .models import PLATFORMS, ROLES
from .agenda import REASONS, KeptSession


class StrictBoolean(fields.Boolean):
    """Only JSON true or false: no "yes", 1 or "on" for a preference."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("Not a boolean: send true or false.")
        return value


class SortedList(fields.List):
    """A list dumped in sorted order, so that sets render the same every time (ETags)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize(None if value is None else sorted(value), attr, obj, **kwargs)


def language_field(**kwargs) -> fields.String:
    return fields.String(validate=validate.OneOf(LANGUAGES), **kwargs)


# A BCP 47 tag's shape (RFC 5646: at most 35 characters is enough for any), with Android's
# Locale.toString() underscore too.
LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*")
LONGEST_TAG = 35


def served_languages(event: Event) -> list[str]:
    """The event's languages that the pushes have a catalogue of, the event's first first."""
    return [language for language in event.languages if language in CATALOGUES] or [FALLBACK]


def nearest_language(event: Event, tag: str) -> str:
    """The served language nearest a phone's locale (``en-GB`` -> ``en``), else the first."""
    served = served_languages(event)
    matched = negotiate_locale([tag.replace("_", "-")], served, sep="-")
    return served[0] if matched is None else matched.lower()


class PhoneLanguage(fields.String):
    """A phone's locale as BCP 47 (``en-GB``, ``fr-CA``), loaded as the nearest language the
    caller's event serves: the answer says which. Only in /me schemas, which are loaded
    after ``login_required`` has found the caller."""

    def __init__(self, **kwargs):
        description = kwargs.pop("metadata", {}).get("description", "")
        super().__init__(metadata={
            "description": f"{description}A BCP 47 tag (en-GB, fr-CA), matched to the nearest "
                           "language the event serves; one it does not serve gets the event's "
                           "first language. The answer carries the language matched.",
            "example": "en-GB", "pattern": f"^{LANGUAGE_TAG.pattern}$", "maxLength": LONGEST_TAG,
        }, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        tag = super()._deserialize(value, attr, data, **kwargs)
        if len(tag) > LONGEST_TAG or not LANGUAGE_TAG.fullmatch(tag):
            raise ValidationError("Not a language tag: send BCP 47, such as en or en-GB.")
        return nearest_language(current_attendee().event, tag)


class Word(fields.String):
    """One of a few words, in any case (``Android`` is ``android``)."""

    def __init__(self, choices: tuple[str, ...], **kwargs):
        metadata = {"description": "Case-insensitive", **kwargs.pop("metadata", {})}
        super().__init__(validate=validate.OneOf(choices), metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        return super()._deserialize(value, attr, data, **kwargs).lower()


def event_field(description: str) -> fields.String:
    return fields.String(validate=validate.Length(1, 64), metadata={"description": description})


class NotifySchema(Schema):
    """Which kinds of push the attendee wants; each is on unless turned off."""

    reminders = StrictBoolean()
    schedule_changes = StrictBoolean()
    announcements = StrictBoolean()
    networking = StrictBoolean()


class ProfileSchema(Schema):
    """The attendee's own profile and preferences (only ever shown to them)."""

    id = fields.Integer()
    event = fields.String(attribute="event.slug")
    email = fields.String()
    name = fields.String()
    organisation = fields.String(allow_none=True)
    country = fields.String(allow_none=True)
    language = language_field()
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)))
    reminder_minutes = fields.Integer(
        metadata={"description": "Minutes before a session that its reminder comes"}
    )
    notify = fields.Nested(NotifySchema)
    directory_visible = fields.Boolean(
        metadata={"description": "Listed in the event's directory for networking"}
    )
    # the networking profile
    title = fields.String(allow_none=True)
    bio = fields.String(allow_none=True)
    topics = fields.List(fields.String())
    languages_spoken = fields.List(fields.String())
    phone = fields.String(allow_none=True)
    links = fields.List(fields.String())
    share_email = fields.Boolean(metadata={"description": "My contacts see my email"})
    share_phone = fields.Boolean(metadata={"description": "My contacts see my phone"})
    share_links = fields.Boolean(metadata={"description": "My contacts see my links"})


def text_field(longest: int, **kwargs) -> fields.String:
    return fields.String(allow_none=True, validate=validate.Length(max=longest), **kwargs)


class PreferencesSchema(Schema):
    """What PATCH /me may change; omitted fields stay as they are."""

    language = PhoneLanguage()
    # At least 1: a reminder expires when its session starts, so at 0 it could never go out.
    reminder_minutes = fields.Integer(strict=True, validate=validate.Range(1, 120))
    notify = fields.Nested(NotifySchema)
    directory_visible = StrictBoolean()
    # the networking profile: shown as directory_visible and the share_* ticks allow
    title = text_field(100)
    organisation = text_field(200)
    country = text_field(100)
    bio = text_field(1000)
    topics = fields.List(
        fields.String(validate=validate.Length(1, 80)), validate=validate.Length(max=20),
        metadata={"description": "Topics of interest (the panels' topics are a good list)"},
    )
    languages_spoken = fields.List(
        fields.String(validate=validate.Regexp(r"^[a-z]{2,3}$",
                                               error="An ISO 639 code, such as en.")),
        validate=validate.Length(max=12),
    )
    phone = text_field(40, metadata={"description": "Shared only if share_phone"})
    links = fields.List(
        fields.Url(schemes={"http", "https"}, validate=validate.Length(max=300)),
        validate=validate.Length(max=5),
        metadata={"description": "Web pages; shared only if share_links"},
    )
    share_email = StrictBoolean()
    share_phone = StrictBoolean()
    share_links = StrictBoolean()


class LoginSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(1, 254))
    access_code = fields.String(required=True, validate=validate.Length(1, 64))
    event = event_field("Slug of the event, when the email is registered at several")


class FirebaseLoginSchema(Schema):
    id_token = fields.String(
        required=True, validate=validate.Length(1, 8192),
        metadata={"description": "A Firebase ID token of an account with a verified email"},
    )
    event = event_field("Slug of the event, when the email is registered at several")


class SignInSchema(Schema):
    token = fields.String(metadata={"description": "Send as Authorization: Bearer <token>"})
    expires_at = EventDateTime()
    attendee = fields.Nested(ProfileSchema)


class BookmarkSchema(Schema):
    session_id = fields.Integer()
    following = fields.Boolean(
        metadata={"description": "true: followed; false: muted (off the personal agenda)"}
    )


class ScheduleQuerySchema(Schema):
    event = event_field("Slug of the event; the attendee's own by default")


class AgendaSession(fields.Nested):
    """A session of an agenda item: one kept from its release is served as it was dumped
    then (companion/people/agenda.py, ``kept_release``); documented as SessionSchema."""

    def _serialize(self, nested_obj, attr, obj, **kwargs):
        if isinstance(nested_obj, KeptSession):
            return nested_obj.dump
        return super()._serialize(nested_obj, attr, obj, **kwargs)


class ScheduleItemSchema(Schema):
    session = AgendaSession(SessionSchema)
    reasons = SortedList(
        fields.String(validate=validate.OneOf(REASONS)),
        metadata={"description": "Why it is on the agenda: followed, own role, or for everyone"},
    )
    reminder_at = EventDateTime(
        allow_none=True,
        metadata={"description": "When the reminder comes; null when reminders are off "
                                 "or the session is cancelled"},
    )
    overlaps = fields.List(
        fields.Integer(),
        metadata={"description": "Ids of other sessions on this agenda at the same time"},
    )


class DeviceSchema(Schema):
    token = fields.String(required=True, validate=validate.Length(1, 512))
    platform = Word(PLATFORMS, required=True)
    language = PhoneLanguage(
        allow_none=True,
        metadata={"description": "Language of the pushes to this phone; "
                                 "null or omitted: the attendee's language. "},
    )
    last_seen_at = EventDateTime(dump_only=True)


class CalendarSchema(Schema):
    url = fields.String(metadata={"description": "Secret iCalendar feed of the personal agenda"})
    webcal_url = fields.String(metadata={"description": "The same feed for calendar apps"})


class EraseSchema(Schema):
    confirm = fields.String(
        required=True, validate=validate.Length(1, 254),
        metadata={"description": "My email address, to confirm the erasure"},
    )


class ExportSchema(Schema):
    exported_at = fields.String()
    event = fields.String()
    attendee = fields.Dict(metadata={"description": "My own record (secrets' hashes left out)"})
    tables = fields.Dict(
        keys=fields.String(), values=fields.List(fields.Dict()),
        metadata={"description": "Every row about me, by table"},
    )
