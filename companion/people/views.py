"""Sign-in and the attendee's own data (/me): every route of the people area.

Every /me route acts on the caller only: no id in the path names another attendee.
"""

import json
from functools import lru_cache, wraps

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Page, abort
from sqlalchemy import bindparam, select

from ..auth import bearer_token, current_attendee, hash_token, limit_failed_logins, login_required
from ..extensions import MAX_ID
from ..pagination import MAX_PAGE_SIZE, PAGE_SIZE, Blueprint, paginate
from ..readcache import read_row
from ..schedule.models import Event
from ..schedule.releasing import released_version
from ..timeutil import utcnow
from . import calendar, devices, operations, privacy
from .agenda import kept_release, released_agenda
from .models import AccessToken, Attendee
from .schemas import (
    BookmarkSchema,
    CalendarSchema,
    DeviceSchema,
    EraseSchema,
    ExportSchema,
    FirebaseLoginSchema,
    LoginSchema,
    PreferencesSchema,
    ProfileSchema,
    ScheduleItemSchema,
    ScheduleQuerySchema,
    SignInSchema,
)

auth_blp = Blueprint(
    "auth", __name__, url_prefix="/api/v1/auth",
    description="Sign-in with email and access code; bearer tokens",
)
me_blp = Blueprint(
    "me", __name__, url_prefix="/api/v1/me",
    description="The signed-in attendee's profile, preferences, agenda and bookmarks",
)
calendars_blp = Blueprint(
    "calendars", __name__, url_prefix="/api/v1/calendars",
    description="Personal iCalendar feeds, at secret URLs (no token: calendar apps can't send one)",
)


@auth_blp.route("/login")
class Login(MethodView):
    @limit_failed_logins
    @auth_blp.arguments(LoginSchema)
    @auth_blp.response(200, SignInSchema)
    @auth_blp.alt_response(401, response="UNAUTHORIZED")
    def post(self, credentials):
        """Exchange email and access code for a bearer token"""
        return operations.sign_in(
            credentials["email"], credentials["access_code"], credentials.get("event")
        )


@auth_blp.route("/firebase")
class FirebaseLogin(MethodView):
    @limit_failed_logins
    @auth_blp.arguments(FirebaseLoginSchema)
    @auth_blp.response(200, SignInSchema)
    @auth_blp.alt_response(401, response="UNAUTHORIZED")
    @auth_blp.alt_response(404, response="NOT_FOUND", description="Firebase is not configured")
    def post(self, credentials):
        """Exchange a Firebase ID token (verified email) for a bearer token"""
        return operations.sign_in_with_firebase(credentials["id_token"], credentials.get("event"))


@auth_blp.route("/logout")
class Logout(MethodView):
    @login_required
    @auth_blp.response(204)
    def post(self):
        """End this token"""
        operations.sign_out()


@auth_blp.route("/logout-all")
class LogoutAll(MethodView):
    @login_required
    @auth_blp.response(204)
    def post(self):
        """End every token of mine: sign out on every phone"""
        operations.sign_out_everywhere(current_attendee())


@me_blp.route("")
class Me(MethodView):
    @login_required
    @me_blp.response(200, ProfileSchema)
    def get(self):
        """My profile and preferences"""
        return current_attendee()

    @login_required
    @me_blp.arguments(PreferencesSchema)
    @me_blp.response(200, ProfileSchema)
    def patch(self, changes):
        """Change my preferences"""
        return operations.update_preferences(current_attendee(), changes)

    @login_required
    @me_blp.arguments(EraseSchema, location="query")
    @me_blp.response(204)
    def delete(self, query):
        """Erase me: my profile, contacts, requests, devices, tokens, inbox; irreversible"""
        privacy.erase_attendee(current_attendee(), query["confirm"])


@me_blp.route("/export")
class MyExport(MethodView):
    @login_required
    @me_blp.response(200, ExportSchema)
    def get(self):
        """Everything held about me, as JSON (GDPR Art. 15 and 20)"""
        return privacy.export(current_attendee())


# What an attendee's agenda depends on, found from their bearer token in one query
# (built once): the live token's attendee and event, the event's live tables and released
# version, the attendee's own choices (agenda_version, bumped by bookmarks and
# preferences), and what their reminder times are made of.
AGENDA_KEY = (
    select(
        AccessToken.attendee_id.label("id"), Attendee.event_id, Event.live_generation,
        released_version(Attendee.event_id).scalar_subquery().label("version"),
        Attendee.agenda_version, Event.slug, Attendee.reminder_minutes, Attendee.notify,
    )
    .join(Attendee, Attendee.id == AccessToken.attendee_id)
    .join(Event, Event.id == Attendee.event_id)
    .where(AccessToken.token_hash == bindparam("token_hash"),
           AccessToken.revoked_at.is_(None), AccessToken.expires_at > bindparam("now"))
)


def agenda_key():
    """This request's ``AGENDA_KEY`` row (None: no live token), read once per request."""
    environ = request.environ
    if "companion.agenda_key" not in environ:
        token = bearer_token()
        environ["companion.agenda_key"] = None if token is None else read_row(
            AGENDA_KEY, {"token_hash": hash_token(token), "now": utcnow()})
    return environ["companion.agenda_key"]


def agenda_etag_data(key) -> list:
    """What the agenda's ETag is made of: its version counters and the query."""
    return ["schedule", key.id, key.event_id, key.live_generation, key.version,
            key.agenda_version, sorted(request.args.items(multi=True))]


def agenda_items(key):
    return released_agenda(key, key_release(key))


def key_release(key):
    return kept_release(key.event_id, key.live_generation, key.version)


# Made once: a schema instance (its fields copied and bound) cost as much as the dump.
AGENDA_ITEM = ScheduleItemSchema()
# Distinct items kept per release: sessions x reasons x reminder leads x overlaps.
MAX_ITEM_DUMPS = 4096


def dumped_items(release, items) -> list[dict]:
    """The items' dumps, each kept with its release: an item is its session, reasons,
    reminder time and overlaps, which thousands of agendas share, so each combination
    is dumped once (marshmallow was a fifth of an agenda's CPU)."""
    kept = release.item_dumps
    dumps = []
    for item in items:
        made_of = (item.session.id, frozenset(item.reasons), item.reminder_at,
                   tuple(item.overlaps))
        dump = kept.get(made_of)
        if dump is None:
            dump = AGENDA_ITEM.dump(item)
            if len(kept) < MAX_ITEM_DUMPS:
                kept[made_of] = dump
        dumps.append(dump)
    return dumps


@lru_cache(maxsize=64)
def first_page_header(count: int) -> str:
    """X-Pagination of a first page of ``count`` items, as ``me_blp.paginate`` writes it."""
    return json.dumps(me_blp.metadata_of(1, PAGE_SIZE, count))


def served_from_versions(view):
    """The phone's usual request (no query, or its own ``event``) answered from the token's
    ``AGENDA_KEY`` row, before the ORM is touched: a current ETag is a 304 after that one
    query; otherwise the agenda is made of the release's kept sessions and one query for
    the attendee's choices. The same items and schema as the view below, which answers
    every other query (pages), and whose ``login_required`` answers a token without a key.
    """

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = agenda_key()
        if key is None or not request.args.keys() <= {"event"} \
                or request.args.get("event", key.slug) != key.slug:
            return view(*args, **kwargs)
        etag = me_blp.etag_of(agenda_etag_data(key))  # as set_etag hashes it
        if etag in request.if_none_match:
            response = Response(status=304)
        else:
            release = key_release(key)
            items = released_agenda(key, release)
            response = current_app.json.response(dumped_items(release, items[:PAGE_SIZE]))
            response.headers[me_blp.PAGINATION_HEADER_NAME] = first_page_header(len(items))
        response.set_etag(etag)
        return response

    return wrapper


@me_blp.route("/schedule")
class MySchedule(MethodView):
    @served_from_versions
    @login_required
    @me_blp.etag
    @me_blp.arguments(ScheduleQuerySchema, location="query")
    @me_blp.response(200, ScheduleItemSchema(many=True))
    @me_blp.paginate(Page, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
    def get(self, query):
        """My agenda in time order, with when each reminder comes"""
        operations.own_event(current_attendee(), query.get("event"))
        key = agenda_key()
        if key is None:  # the token ended since login_required found it
            abort(401, message="The token is unknown, expired or signed out")
        me_blp.set_etag(agenda_etag_data(key))
        return agenda_items(key)


@me_blp.route("/bookmarks")
class MyBookmarks(MethodView):
    @login_required
    @me_blp.response(200, BookmarkSchema(many=True))
    @paginate(me_blp)
    def get(self):
        """My choices: sessions followed, and muted ones"""
        return operations.bookmarks_query(current_attendee())


@me_blp.route(f"/bookmarks/<int(max={MAX_ID}):session_id>")
class MyBookmark(MethodView):
    @login_required
    @me_blp.response(200, BookmarkSchema)
    def put(self, session_id):
        """Follow a session (it joins my agenda)"""
        return operations.choose_session(current_attendee(), session_id, following=True)

    @login_required
    @me_blp.response(204)
    def delete(self, session_id):
        """Unfollow a session; one that is on everyone's agenda is muted for me"""
        operations.choose_session(current_attendee(), session_id, following=False)


@me_blp.route("/devices")
class MyDevices(MethodView):
    @login_required
    @me_blp.arguments(DeviceSchema)
    @me_blp.response(201, DeviceSchema)
    @me_blp.alt_response(200, schema=DeviceSchema, success=True,
                         description="The token was registered already; refreshed")
    def post(self, registration):
        """Register this phone's push token (again: idempotent)"""
        device, created = devices.register_device(current_attendee(), **registration)
        return device, 201 if created else 200


@me_blp.route("/devices/<path:token>")
class MyDevice(MethodView):
    @login_required
    @me_blp.response(204)
    def delete(self, token):
        """Stop pushes to this phone"""
        devices.drop_device(current_attendee(), token)


@me_blp.route("/calendar")
class MyCalendar(MethodView):
    @login_required
    @me_blp.response(200, CalendarSchema)
    def get(self):
        """The secret URL of my calendar feed, to subscribe to in a calendar app"""
        return calendar.feed_urls(current_attendee())

    @login_required
    @me_blp.response(200, CalendarSchema)
    def post(self):
        """Replace my feed URL with a new one (the old one stops working)"""
        calendar.rotate_feed(current_attendee())
        return calendar.feed_urls(current_attendee())

    @login_required
    @me_blp.response(204)
    def delete(self):
        """Revoke my feed URL"""
        calendar.rotate_feed(current_attendee())


@calendars_blp.route("/<token>.ics")
class Feed(MethodView):
    @calendars_blp.response(200, {"type": "string"}, content_type="text/calendar")
    @calendars_blp.alt_response(404, response="NOT_FOUND")
    def get(self, token):
        """An attendee's agenda as iCalendar, with alarms at their reminder times"""
        attendee = calendar.attendee_for_feed(token)
        if attendee is None:
            abort(404, message="No such calendar (the link may have been replaced)")
        return Response(calendar.personal_ics(attendee), mimetype="text/calendar",
                        headers={"Cache-Control": "private, max-age=300"})
