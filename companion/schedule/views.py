"""Public agenda routes: events, sessions, rooms, exports. All are read-only and polled."""

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from ..config import public_url
from ..extensions import MAX_ID, db
from ..pagination import paginate
from . import exports, operations
from .models import Event
from .schemas import EventSchema, RoomSchema, SessionQuerySchema, SessionSchema

blp = Blueprint(
    "schedule", __name__, url_prefix="/api/v1/events",
    description="The agenda, rooms and exports of each event (public)",
)


@blp.route("")
class Events(MethodView):
    @blp.etag
    @blp.response(200, EventSchema(many=True))
    @paginate(blp)
    def get(self):
        """Events served by this backend"""
        return select(Event).order_by(Event.starts_on, Event.id)


@blp.route("/<slug>")
class EventDetail(MethodView):
    @blp.etag
    @blp.response(200, EventSchema)
    def get(self, slug):
        """One event's information"""
        return operations.get_event(slug)


@blp.route("/<slug>/sessions")
class Sessions(MethodView):
    @blp.etag
    @blp.arguments(SessionQuerySchema, location="query")
    @blp.response(200, SessionSchema(many=True))
    @paginate(blp)
    def get(self, query, slug):
        """The agenda, in time order; filter by local day and kind"""
        return operations.sessions_query(operations.get_event(slug), **query)


@blp.route(f"/<slug>/sessions/<int(max={MAX_ID}):session_id>")
class SessionDetail(MethodView):
    @blp.etag
    @blp.response(200, SessionSchema)
    def get(self, slug, session_id):
        """One agenda item"""
        return operations.get_session(operations.get_event(slug), session_id)


@blp.route("/<slug>/rooms")
class Rooms(MethodView):
    @blp.etag
    @blp.response(200, RoomSchema(many=True))
    @paginate(blp)
    def get(self, slug):
        """Rooms of the venue; unknown details are null"""
        return operations.rooms_query(operations.get_event(slug))


@blp.route(f"/<slug>/rooms/<int(max={MAX_ID}):room_id>")
class RoomDetail(MethodView):
    @blp.etag
    @blp.response(200, RoomSchema)
    def get(self, slug, room_id):
        """One room"""
        return operations.get_room(operations.get_event(slug), room_id)


# --- exports -------------------------------------------------------------------------

def exported(slug: str):
    """The event and all its sessions; answers 304 first when the client has them."""
    event = operations.get_event(slug)
    sessions = db.session.scalars(operations.sessions_query(event)).all()
    blp.set_etag([exports.schedule_version(event, sessions), public_url(), request.path])
    return event, sessions


def document(body, mimetype: str, filename: str):
    response = current_app.response_class(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@blp.route("/<slug>/schedule.ics")
class ScheduleCalendar(MethodView):
    @blp.etag
    @blp.response(200, {"type": "string"}, content_type="text/calendar",
                  description="iCalendar (RFC 5545) with the event's VTIMEZONE")
    def get(self, slug):
        """The agenda as a calendar to subscribe to; cancelled sessions are STATUS:CANCELLED"""
        event, sessions = exported(slug)
        return document(exports.to_ical(event, sessions), "text/calendar",
                        f"{event.slug}-schedule.ics")


@blp.route("/<slug>/schedule.xml")
class ScheduleFrab(MethodView):
    @blp.etag
    @blp.response(200, {"type": "string"}, content_type="application/xml",
                  description="frab-compatible schedule.xml (c3voc schema)")
    def get(self, slug):
        """The agenda for schedule apps (frab XML); cancelled sessions are left out"""
        event, sessions = exported(slug)
        return document(exports.to_xml(event, sessions, public_url()), "application/xml",
                        f"{event.slug}-schedule.xml")


@blp.route("/<slug>/schedule.json")
class ScheduleC3voc(MethodView):
    @blp.etag
    @blp.response(200, {"type": "object", "description": f"See {exports.C3VOC_SCHEMA}"},
                  content_type="application/json",
                  description="c3voc schedule.json, as frab and pretalx publish it")
    def get(self, slug):
        """The agenda for schedule apps (c3voc JSON); cancelled sessions are left out"""
        event, sessions = exported(slug)
        return document(exports.to_json(event, sessions, public_url()), "application/json",
                        f"{event.slug}-schedule.json")
