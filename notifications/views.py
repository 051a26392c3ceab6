"""The in-app inbox routes: /me/notifications."""

from flask.views import MethodView

from companion.auth import current_attendee, login_required
from companion.extensions import MAX_ID
from companion.pagination import Blueprint, paginate

from . import inbox
from .schemas import InboxNotificationSchema, InboxQuerySchema

blp = Blueprint(
    "notifications", __name__, url_prefix="/api/v1/me/notifications",
    description="The signed-in attendee's inbox: everything pushed to them",
)


@blp.route("")
class MyNotifications(MethodView):
    @login_required
    @blp.arguments(InboxQuerySchema, location="query")
    @blp.response(200, InboxNotificationSchema(many=True))
    @paginate(blp)
    def get(self, query):
        """What was pushed to me, newest first"""
        return inbox.inbox_query(current_attendee(), query.get("unread"))


@blp.route(f"/<int(max={MAX_ID}):notification_id>/read")
class ReadNotification(MethodView):
    @login_required
    @blp.response(200, InboxNotificationSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, notification_id):
        """Mark a notification read"""
        return inbox.mark_read(current_attendee(), notification_id)
