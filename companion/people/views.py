"""Sign-in and the attendee's own data (/me): every route of the people area.

Every /me route acts on the caller only: no id in the path names another attendee.
"""

from flask.views import MethodView
from flask_smorest import Blueprint, Page

from ..auth import current_attendee, limit_failed_logins, login_required
from ..pagination import MAX_PAGE_SIZE, PAGE_SIZE, paginate
from . import operations
from .schedule import personal_schedule
from .schemas import (
    BookmarkSchema,
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
# Ids beyond a 32-bit integer cannot exist; the database would reject them (500).
MAX_ID = 2**31 - 1

me_blp = Blueprint(
    "me", __name__, url_prefix="/api/v1/me",
    description="The signed-in attendee's profile, preferences, agenda and bookmarks",
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


@auth_blp.route("/logout")
class Logout(MethodView):
    @login_required
    @auth_blp.response(204)
    def post(self):
        """End this token"""
        operations.sign_out()


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
        operations.own_event(attendee, query.get("event"))
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
