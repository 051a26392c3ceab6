"""Public agenda routes: events, sessions, rooms. All are read-only and polled by phones."""

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from ..extensions import db
from ..pagination import paginate
from . import operations
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


@blp.route("/<slug>/sessions/<int:session_id>")
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


@blp.route("/<slug>/rooms/<int:room_id>")
class RoomDetail(MethodView):
    @blp.etag
    @blp.response(200, RoomSchema)
    def get(self, slug, room_id):
        """One room"""
        return operations.get_room(operations.get_event(slug), room_id)
