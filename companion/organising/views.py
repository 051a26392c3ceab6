"""Every route of organising: announcements (organisers), pings (moderators), acks."""

from functools import wraps

from flask.views import MethodView
from flask_smorest import Page

from ..auth import current_attendee, login_required, role_required
from ..extensions import MAX_ID
from ..idempotency import idempotent
from ..pagination import MAX_PAGE_SIZE, PAGE_SIZE, Blueprint
from ..schedule.operations import get_event
from . import announcements, pings
from .schemas import (
    AckSchema,
    AnnouncementChangeSchema,
    AnnouncementInSchema,
    AnnouncementSchema,
    PingInSchema,
    PingSchema,
)

blp = Blueprint(
    "organising", __name__, url_prefix="/api/v1",
    description="Organisers' announcements; moderators' pings to their speakers",
)
ID = f"int(max={MAX_ID})"


def organiser_of_event(view):
    """Signed in as an organiser of the event in the path (401, 403, 404 first)."""

    @role_required("organiser")
    @wraps(view)
    def wrapper(*args, slug, **kwargs):
        event = get_event(slug)
        announcements.check_organiser(event, current_attendee())
        return view(*args, event=event, **kwargs)

    return wrapper


def may_ping(view):
    """Signed in as a moderator of the session in the path, or an organiser."""

    @login_required
    @wraps(view)
    def wrapper(*args, session_id, **kwargs):
        session = pings.get_session(session_id)
        pings.check_may_ping(session, current_attendee())
        return view(*args, session=session, **kwargs)

    return wrapper


@blp.route("/events/<slug>/announcements")
class Announcements(MethodView):
    @organiser_of_event
    @blp.response(200, AnnouncementSchema(many=True))
    @blp.paginate(Page, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
    def get(self, event):
        """The event's announcements, newest first, with their delivery figures"""
        return announcements.reports(event)

    @organiser_of_event
    @idempotent
    @blp.arguments(AnnouncementInSchema)
    @blp.response(201, AnnouncementSchema)
    @blp.alt_response(200, schema=AnnouncementSchema, success=True,
                      description="dry_run: the counts only; nothing was sent or kept")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(429, response="TOO_MANY_REQUESTS")
    def post(self, values, event):
        """Announce to everyone or a chosen audience, now or at send_at (or count it)"""
        return announcements.create(event, current_attendee(), values)


@blp.route(f"/events/<slug>/announcements/<{ID}:announcement_id>")
class AnnouncementDetail(MethodView):
    @organiser_of_event
    @blp.response(200, AnnouncementSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, event, announcement_id):
        """One announcement with its delivery figures"""
        return announcements.report(event, announcements.get(event, announcement_id))

    @organiser_of_event
    @blp.arguments(AnnouncementChangeSchema)
    @blp.response(200, AnnouncementSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT", description="it has gone out already")
    def patch(self, values, event, announcement_id):
        """Change a scheduled announcement before it goes out"""
        return announcements.change(event, current_attendee(),
                                    announcement_id, values)

    @organiser_of_event
    @blp.response(204)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT", description="it has gone out already")
    def delete(self, event, announcement_id):
        """Cancel a scheduled announcement before it goes out"""
        announcements.cancel(event, current_attendee(), announcement_id)


@blp.route(f"/sessions/<{ID}:session_id>/pings")
class SessionPings(MethodView):
    @may_ping
    @blp.response(200, PingSchema(many=True))
    @blp.paginate(Page, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, session):
        """The session's pings, each speaker's delivery and acknowledgement"""
        return pings.listing(session)

    @may_ping
    @idempotent
    @blp.arguments(PingInSchema)
    @blp.response(201, PingSchema)
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT", description="the session has no speakers")
    @blp.alt_response(429, response="TOO_MANY_REQUESTS")
    def post(self, values, session):
        """Ping the session's speakers (a moderator of it, or an organiser)"""
        return pings.send(session, current_attendee(), values)


@blp.route(f"/me/pings/<{ID}:ping_id>/ack")
class AckPing(MethodView):
    @login_required
    @blp.response(200, AckSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, ping_id):
        """I saw the ping (a speaker); its sender is told"""
        return pings.acknowledge(current_attendee(), ping_id)
