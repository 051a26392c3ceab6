"""What the app gets of its inbox."""

from marshmallow import Schema, fields

from companion.timeutil import EventDateTime


class InboxQuerySchema(Schema):
    unread = fields.Boolean(
        metadata={"description": "true: only unread ones; false: only read ones"}
    )


class InboxNotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "reminder, ..."})
    title = fields.String()
    body = fields.String()
    data = fields.Dict(
        keys=fields.String(), values=fields.String(),
        metadata={"description": "What the push carried for the app: session_id, ..."},
    )
    created_at = EventDateTime(metadata={"description": "When it was pushed"})
    read_at = EventDateTime(allow_none=True)
