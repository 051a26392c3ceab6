"""What every page of the console shares: the one blueprint (``blp``, its routes in the
area modules beside this: signing_in, agenda, release, announcing, moderating,
audit_log, rooms), who is signed in, the gate every request passes, forms done once,
and rendering. Views stay thin: each one turns a form into the API's input (forms.py)
and calls the operation the API view calls.

Organisers reach every page; moderators reach their phone view (/console/moderate) and
the pings of their sessions; anybody else who signs in gets 403 on every page.

Roles are per event, and so is a sign-in: the cookie keeps one token per event signed
into (``tokens``, by event id) and the event the pages act on (``event``). Signing in to
another event is a sign-in of its own, with that event's access code; the switcher
offers the events signed into where that person organises or moderates. A token only
ever acts in its own event, and a form carries the event it was shown for: sent after a
switch (another tab), it is refused rather than applied to the other event.
"""

from functools import wraps
from uuid import uuid4
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError
from sqlalchemy import func, select

from .. import auth
from ..extensions import MAX_ID, db
from ..idempotency import done_once, form_key
from ..people.models import Attendee
from ..schedule import states
from ..schedule.models import Event
from ..text import CONTROL
from . import csrf

blp = Blueprint("console", __name__, url_prefix="/console",
                template_folder="templates", static_folder="static")
ID = f"int(max={MAX_ID})"
CONSOLE_ROLES = ("organiser", "moderator")
PUBLIC = ("console.sign_in", "console.static")
SAFE = ("GET", "HEAD", "OPTIONS")
# How often the pages that watch something ask again (milliseconds, for htmx).
REFRESH = "every 2s"
# Each rendered form that pushes or releases carries a fresh key of its own in this
# field (templates: ``once()``): sent twice, it is done once (companion/idempotency.py).
ONCE_FIELD = "idempotency_key"


# --- who is here -------------------------------------------------------------------

def signed_tokens() -> dict[str, str]:
    """The cookie's tokens by event id (as text: the cookie is JSON)."""
    tokens = session.get("tokens")
    return {key: token for key, token in tokens.items() if isinstance(token, str)} \
        if isinstance(tokens, dict) else {}


def live_sign_in(event_key: str, token: str):
    """The token's live access, if it is one of this event's attendees."""
    access = auth.find_live_token(token)
    if access is None or str(access.attendee.event_id) != event_key:
        return None
    return access


def signed_in() -> Attendee | None:
    """The attendee signed in to the event the pages act on, while the token is live."""
    event_key = str(session.get("event"))
    token = signed_tokens().get(event_key)
    access = live_sign_in(event_key, token) if token else None
    if access is None:
        return None
    g.access_token, g.attendee = access, access.attendee
    return access.attendee


def console_sign_ins() -> list[Attendee]:
    """The events to switch between: each one's attendee signed in with this cookie,
    where they organise or moderate (the same person: the same email)."""
    found = []
    for event_key, token in signed_tokens().items():
        access = live_sign_in(event_key, token)
        if access is None:
            continue
        attendee = access.attendee
        if attendee.email.lower() == me().email.lower() and any(
                attendee.has_role(role) for role in CONSOLE_ROLES):
            found.append(attendee)
    return sorted(found, key=lambda a: (a.event.starts_on, a.event_id))


def all_events() -> list[Event]:
    return list(db.session.scalars(select(Event).order_by(Event.starts_on, Event.id)))


@blp.context_processor
def events_of_the_header():
    """For base.html: what the switcher offers, and whether there are events to sign
    in to besides (functions: only pages that show a header pay for them)."""
    return {"console_sign_ins": console_sign_ins, "event_count": lambda: db.session.scalar(
        select(func.count(Event.id)))}


def me() -> Attendee:
    return g.attendee


def is_organiser() -> bool:
    return me().has_role("organiser")


@blp.before_request
def gate():
    # Nothing of another request's: the test suite runs requests in one app context,
    # where g (Flask-WTF caches the CSRF token there) would outlive a request.
    for name in ("csrf_token", "attendee", "access_token"):
        g.pop(name, None)
    if request.endpoint == "console.import_programme":  # a schedule file, before the form is read
        request.max_content_length = current_app.config["IMPORT_MAX_CONTENT_LENGTH"]
    if request.method not in SAFE:
        csrf.protect()  # CSRFError (400) without a valid token
        if any(CONTROL.search(key + "".join(values)) for key, values in request.form.lists()):
            return page("refused.html", 422, title="Not accepted",
                        message="Control characters are not accepted (NUL among them).")
    if request.endpoint in PUBLIC:
        return None
    if signed_in() is None:
        if request.headers.get("HX-Request"):
            return "", 401, {"HX-Redirect": url_for("console.sign_in")}
        target = request.full_path if request.query_string else request.path
        return redirect(url_for("console.sign_in",
                                next=target if request.method == "GET" else None))
    if not any(me().has_role(role) for role in CONSOLE_ROLES) and request.endpoint not in (
            "console.switch", "console.sign_out"):
        return page("forbidden.html", 403, title="Not for you")
    shown_for = request.form.get("console_event") or request.headers.get("X-Console-Event")
    if request.method not in SAFE and shown_for is not None \
            and shown_for != str(me().event_id):
        return page("refused.html", 409, title="Another event",
                    message=f"That page was open for another event; the console now works "
                            f"on {me().event.name}. Nothing was changed: open the page "
                            "again and send it from there.")
    return None


# Only our own files; htmx needs no eval and no inline style (see base.html's htmx-config).
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


@blp.after_request
def headers(response):
    """Before the app's own (companion/http.py keeps what is set here): the console's
    policy, and a Referer on its own forms, which Flask-WTF checks over HTTPS."""
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    if request.endpoint != "console.static":
        response.headers["Cache-Control"] = "no-store"
    return response


def replayed():
    flash("This form was sent already: it was done once, nothing more was done.")


def once(view):
    """A form's POST done once per key it carries (a double submit, a resend)."""
    return done_once(view, key=form_key(ONCE_FIELD), replayed=replayed)


@blp.app_template_global()
def idempotency_key() -> str:
    """A fresh key for a form that pushes or releases."""
    return uuid4().hex


def organisers_only(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not is_organiser():
            return page("forbidden.html", 403, title="Only for organisers")
        return view(*args, **kwargs)

    return wrapper


@blp.errorhandler(CSRFError)
def csrf_refused(error):
    return page("refused.html", 400, title="Form refused",
                message=f"{error.description} Reload the page and try again.")


@blp.errorhandler(429)
def too_many(error):
    return page("refused.html", 429, title="Too many attempts", message=error.description)


@blp.app_template_filter("local")
def local_filter(value, fmt: str = "%a %d %b %H:%M") -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = states.instant(value)
    return value.astimezone(ZoneInfo(me().event.timezone)).strftime(fmt)


def page(template: str, status: int = 200, **context):
    return render_template(f"console/{template}", **context), status


def not_found(refused):
    """The page of an item the operation did not find (`forms.Refused`)."""
    return page("refused.html", refused.status, title="Not found", message=refused.message)


def attendees_by_id() -> dict[int, Attendee]:
    return {a.id: a for a in db.session.scalars(
        select(Attendee).where(Attendee.event_id == me().event_id).order_by(Attendee.name))}
