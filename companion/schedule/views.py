"""Agenda routes: the public reads and exports (released schedule, polled, ETags), and
the organisers' edits, drafts and releases (see drafts.py and releasing.py)."""

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import abort
from sqlalchemy import bindparam, func, select

from ..auth import current_attendee, role_required
from ..config import public_url
from ..extensions import MAX_ID, db
from ..idempotency import idempotent
from ..pagination import Blueprint, paginate
from ..readcache import kept_per_version, read_row
from . import (changelog, conflicts, delays, drafts, exports, importing, operations, releasing,
               sources)
from .programme import SourceError
from .models import Event, ScheduleVersion
from .schemas import (
    ChangesQuerySchema,
    ChangesSinceSchema,
    DelaySchema,
    DraftRoomSchema,
    DraftSchema,
    DraftSessionSchema,
    EventSchema,
    ImportQuerySchema,
    ImportSchema,
    MoveSchema,
    PublishSchema,
    ReleaseSchema,
    RoomEditSchema,
    RoomPatchSchema,
    RoomSchema,
    SessionEditSchema,
    SessionPatchSchema,
    SessionQuerySchema,
    SessionSchema,
)

blp = Blueprint(
    "schedule", __name__, url_prefix="/api/v1/events",
    description="The agenda, rooms and exports of each event (public)",
)


# Built once: a request only binds the slug and runs them.
EVENTS_KEY = select(
    func.count(Event.id), func.max(Event.id), func.sum(Event.live_generation),
    select(func.count(ScheduleVersion.id)).scalar_subquery(),
)
EVENT_VERSION_KEY = select(
    Event.id, Event.live_generation, releasing.released_version(Event.id).scalar_subquery(),
).where(Event.slug == bindparam("slug"))


def events_key():
    """What the events list depends on: the events there are and every release."""
    return tuple(read_row(EVENTS_KEY))


def event_version_key(slug: str):
    """An event's id and released version, in one query (None: no such event)."""
    row = read_row(EVENT_VERSION_KEY, {"slug": slug})
    return None if row is None else tuple(row)


@blp.route("")
class Events(MethodView):
    @kept_per_version(events_key)
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
    @kept_per_version(event_version_key)
    @blp.etag
    @blp.arguments(SessionQuerySchema, location="query")
    @blp.response(200, SessionSchema(many=True))
    @paginate(blp)
    def get(self, query, slug):
        """The agenda, in time order; filter by local day and kind"""
        return operations.sessions_query(operations.get_event(slug), **query)

    @role_required("organiser")
    @blp.arguments(SessionEditSchema)
    @blp.response(201, DraftSessionSchema)
    def post(self, values, slug):
        """Add a session to the draft (organisers); released by the next publish"""
        event = organisers_event(slug)
        return drafts.create_session(event, current_attendee(), values)


@blp.route(f"/<slug>/sessions/<int(max={MAX_ID}):session_id>")
class SessionDetail(MethodView):
    @blp.etag
    @blp.response(200, SessionSchema)
    def get(self, slug, session_id):
        """One agenda item"""
        return operations.get_session(operations.get_event(slug), session_id)

    @role_required("organiser")
    @blp.arguments(SessionPatchSchema())
    @blp.response(200, DraftSessionSchema)
    def patch(self, values, slug, session_id):
        """Change a session in the draft (organisers); status cancelled cancels it"""
        event = organisers_event(slug)
        return drafts.update_session(event, current_attendee(), session_id, values)

    @role_required("organiser")
    @blp.response(204)
    def delete(self, slug, session_id):
        """Delete a session in the draft (organisers)"""
        event = organisers_event(slug)
        drafts.delete_session(event, current_attendee(), session_id)


@blp.route("/<slug>/rooms")
class Rooms(MethodView):
    @blp.etag
    @blp.response(200, RoomSchema(many=True))
    @paginate(blp)
    def get(self, slug):
        """Rooms of the venue; unknown details are null"""
        return operations.rooms_query(operations.get_event(slug))

    @role_required("organiser")
    @blp.arguments(RoomEditSchema)
    @blp.response(201, DraftRoomSchema)
    def post(self, values, slug):
        """Add a room to the draft (organisers)"""
        event = organisers_event(slug)
        return drafts.create_room(event, current_attendee(), values)


@blp.route(f"/<slug>/rooms/<int(max={MAX_ID}):room_id>")
class RoomDetail(MethodView):
    @blp.etag
    @blp.response(200, RoomSchema)
    def get(self, slug, room_id):
        """One room"""
        return operations.get_room(operations.get_event(slug), room_id)

    @role_required("organiser")
    @blp.arguments(RoomPatchSchema())
    @blp.response(200, DraftRoomSchema)
    def patch(self, values, slug, room_id):
        """Change a room in the draft (organisers): facilities, interpretation, ..."""
        event = organisers_event(slug)
        return drafts.update_room(event, current_attendee(), room_id, values)

    @role_required("organiser")
    @blp.response(204)
    def delete(self, slug, room_id):
        """Delete a room in the draft (organisers); refused while sessions use it"""
        event = organisers_event(slug)
        drafts.delete_room(event, current_attendee(), room_id)


# --- drafts and releases ------------------------------------------------------------

def organisers_event(slug: str) -> Event:
    """The event, when the caller is one of its organisers (403 otherwise)."""
    event = operations.get_event(slug)
    if current_attendee().event_id != event.id:
        abort(403, message="Only for organisers of this event")
    return event


@blp.route("/<slug>/schedule/draft")
class Draft(MethodView):
    @role_required("organiser")
    @blp.response(200, DraftSchema)
    def get(self, slug):
        """The pending edits, as the changelog publish would release, and what the
        organisers should look at first (organisers)"""
        event = organisers_event(slug)
        plan = changelog.draft_plan(event)
        warnings = conflicts.draft_warnings(event, drafts.draft_sessions(event),
                                            drafts.draft_rooms(event))
        return {"version": releasing.current_version(event), "changes": plan.changes,
                "edits": len(plan.sessions) + len(plan.rooms), "warnings": warnings}


@blp.route("/<slug>/schedule/publish")
class Publish(MethodView):
    @role_required("organiser")
    @idempotent
    @blp.arguments(PublishSchema)
    @blp.response(201, ReleaseSchema)
    @blp.alt_response(409, response="DEFAULT_ERROR", description="Nothing to release")
    def post(self, values, slug):
        """Release the draft as the next version; tells each affected attendee once"""
        event = organisers_event(slug)
        return releasing.publish(event, current_attendee(), values["note"])


@blp.route("/<slug>/schedule/import")
class Import(MethodView):
    @role_required("organiser")
    @idempotent
    @blp.arguments(ImportQuerySchema, location="query")
    @blp.response(200, ImportSchema)
    @blp.alt_response(422, response="DEFAULT_ERROR",
                      description="Not a schedule the import can use; nothing changed")
    @blp.doc(requestBody={"required": True, "content": {
        "application/xml": {"schema": {"type": "string"},
                            "example": "<schedule>...</schedule>"},
        "application/json": {"schema": {"type": "object"}}},
        "description": "A frab schedule XML, or a c3voc schedule.json (what pretalx "
                       "serves), or our conference JSON"})
    def post(self, query, slug):
        """Import a new version of the programme: its changes against the released
        agenda become the draft (answered with the changelog), or with publish=true are
        released at once. A file that changes nothing releases nothing."""
        event = organisers_event(slug)
        try:
            programme = sources.parse(request.get_data(cache=True), event.timezone)
            outcome = importing.import_programme(
                programme, event.slug, actor=current_attendee(),
                timezone_name=event.timezone, publish=query["publish"])
        except SourceError as error:
            abort(422, message=f"Not a schedule the import can use: {error}",
                  errors={"body": [error.message], **({"where": [error.where]}
                                                        if error.where else {})})
        version = outcome.version
        return {"version": version.number if version else releasing.current_version(event),
                "released": version is not None, "changes": outcome.changes,
                "notified": version.notified if version else 0,
                "warnings": outcome.warnings}


@blp.route(f"/<slug>/sessions/<int(max={MAX_ID}):session_id>/delay")
class Delay(MethodView):
    @role_required("organiser")
    @idempotent
    @blp.arguments(DelaySchema)
    @blp.response(201, ReleaseSchema)
    def post(self, values, slug, session_id):
        """Running late: move the session (and what follows in its room that day,
        breaks absorbing first); released at once, those affected told"""
        event = organisers_event(slug)
        session = operations.get_session(event, session_id)
        return delays.delay(event, current_attendee(), session, values["minutes"],
                              values["shift_following"], values["force"], values["note"])


@blp.route("/<slug>/schedule/move")
class Move(MethodView):
    @role_required("organiser")
    @blp.arguments(MoveSchema)
    @blp.response(201, ReleaseSchema)
    def post(self, values, slug):
        """Move the whole event by ``days`` (same local times) and/or online
        (``online_url`` on every session; null removes the links): one release"""
        event = organisers_event(slug)
        online = {"online_url": values["online_url"]} if "online_url" in values else {}
        return delays.move_event(event, current_attendee(), values["days"], online,
                                   values["note"])


@blp.route("/<slug>/schedule/versions")
class Versions(MethodView):
    @blp.etag
    @blp.response(200, ReleaseSchema(many=True))
    @paginate(blp)
    def get(self, slug):
        """Released versions, newest first, each with its changes"""
        return releasing.versions_query(operations.get_event(slug))


@blp.route("/<slug>/schedule/changes")
class ChangesSince(MethodView):
    @kept_per_version(event_version_key)
    @blp.etag
    @blp.arguments(ChangesQuerySchema, location="query")
    @blp.response(200, ChangesSinceSchema)
    def get(self, query, slug):
        """Only the sessions changed or removed since a version, and the current version"""
        event = operations.get_event(slug)
        version, sessions, removed = releasing.changes_since(event, query["since"])
        return {"version": version, "since": query["since"], "sessions": sessions,
                "removed": removed}


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
