"""Sign-in and the attendee's own data (/me): every route of the people area.

Every /me route acts on the caller only: no id in the path names another attendee.
"""

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint, Page, abort

from ..auth import current_attendee, limit_failed_logins, login_required
from ..extensions import MAX_ID
from ..pagination import MAX_PAGE_SIZE, PAGE_SIZE, paginate
from ..schedule.releases import current_version
from . import calendar, devices, operations, privacy
from .agenda import personal_schedule
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


@me_blp.route("/schedule")
class MySchedule(MethodView):
    @login_required
    @me_blp.etag
    @me_blp.arguments(ScheduleQuerySchema, location="query")
    @me_blp.response(200, ScheduleItemSchema(many=True))
    @me_blp.paginate(Page, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
    def get(self, query):
        """My agenda in time order, with when each reminder comes"""
        attendee = current_attendee()
        event = operations.own_event(attendee, query.get("event"))
        # The agenda is a function of the released schedule, the attendee's own choices
        # (agenda_version) and the query: a current ETag is answered 304 from these,
        # before anything is built.
        me_blp.set_etag([
            "schedule", attendee.id, event.id, event.live_generation, current_version(event),
            attendee.agenda_version, sorted(request.args.items(multi=True)),
        ])
        return personal_schedule(attendee)


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
