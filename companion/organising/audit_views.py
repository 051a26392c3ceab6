"""GET /events/{event}/audit: who did what to an event, when (organisers of the event).

Every organiser and moderator action writes its entry with `audit.record` in its own
transaction (edits, releases, delays, announcements, pings); this only reads them.
"""

from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, fields, validate

from ..auth import current_attendee, role_required
from ..extensions import MAX_ID
from ..pagination import Blueprint, paginate
from ..schedule.operations import get_event
from ..timeutil import EventDateTime
from .audit import entries_query

blp = Blueprint(
    "audit", __name__, url_prefix="/api/v1/events",
    description="The audit log of organisers' and moderators' actions (organisers)",
)


class AuditQuerySchema(Schema):
    action = fields.String(validate=validate.Length(1, 64),
                           metadata={"description": "e.g. session.update, schedule.publish"})
    actor_id = fields.Integer(validate=validate.Range(1, MAX_ID))
    subject = fields.String(validate=validate.Length(1, 255),
                            metadata={"description": "e.g. session:7, version:3"})
    since = fields.AwareDateTime(metadata={"description": "At or after (with offset)"})
    until = fields.AwareDateTime(metadata={"description": "Before (with offset)"})


class ActorSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class AuditEntrySchema(Schema):
    id = fields.Integer()
    action = fields.String()
    subject = fields.String(allow_none=True)
    actor = fields.Nested(ActorSchema, allow_none=True,
                          metadata={"description": "Null once that person is erased"})
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)
    recipients = fields.Integer(allow_none=True)
    at = EventDateTime()


@blp.route("/<slug>/audit")
class Audit(MethodView):
    @role_required("organiser")
    @blp.arguments(AuditQuerySchema, location="query")
    @blp.response(200, AuditEntrySchema(many=True))
    @paginate(blp)
    def get(self, query, slug):
        """Who did what, when: newest first; filter by action, actor, subject, time"""
        event = get_event(slug)
        if current_attendee().event_id != event.id:
            abort(403, message="Only for organisers of this event")
        return entries_query(event, query)
