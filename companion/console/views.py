"""Every route of the console (/console/...). Views stay thin: each one turns a form into
the API's input (forms.py) and calls the operation the API view calls.

Organisers reach every page; moderators reach their phone view (/console/moderate) and
the pings of their sessions; anybody else who signs in gets 403 on every page.

Roles are per event, and so is a sign-in: the cookie keeps one token per event signed
into (``tokens``, by event id) and the event the pages act on (``event``). Signing in to
another event is a sign-in of its own, with that event's access code; the switcher
offers the events signed into where that person organises or moderates. A token only
ever acts in its own event, and a form carries the event it was shown for: sent after a
switch (another tab), it is refused rather than applied to the other event.
"""

from collections import Counter
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
from werkzeug.datastructures import MultiDict

from .. import auth
from ..auth import limit_failed_logins
from ..extensions import MAX_ID, db
from ..idempotency import done_once, form_key
from ..organising import announcements, pings
from ..organising.audit import AuditEntry, entries_query
from ..organising.audit_views import AuditQuerySchema
from ..organising.models import ANNOUNCEMENT_PRIORITIES, PING_TEMPLATES
from ..organising.schemas import AnnouncementInSchema, PingInSchema
from ..people import operations as people
from ..people.models import ROLES, Attendee
from ..schedule import changelog, conflicts, delays, drafts, importing, releasing, sources, states
from ..schedule import operations as schedule
from ..schedule.models import LANGUAGES, Event, Session, SessionPerson
from ..schedule.programme import SourceError
from ..schedule.schemas import (
    FACILITY_KINDS,
    DelaySchema,
    PublishSchema,
    RoomPatchSchema,
    SessionPatchSchema,
)
from ..text import CONTROL
from . import csrf
from .forms import (
    Refused,
    attempt,
    from_local,
    ids,
    load,
    local_value,
    number,
    text_or_none,
)

blp = Blueprint("console", __name__, url_prefix="/console",
                template_folder="templates", static_folder="static")
ID = f"int(max={MAX_ID})"
CONSOLE_ROLES = ("organiser", "moderator")
PUBLIC = ("console.sign_in", "console.static")
SAFE = ("GET", "HEAD", "OPTIONS")
PING_LABELS = {
    "on_in_5": "You are on in 5 minutes", "to_stage": "Please come to the stage",
    "two_minutes": "2 minutes left", "wrap_up": "Please wrap up",
}
LATE_CHOICES = (5, 10, 15)
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


# --- signing in and out --------------------------------------------------------------

def sign_in_page(status: int = 200, email: str = "", chosen: str | None = None,
                 error: str | None = None):
    """The form; with several events, which one to sign in to comes first."""
    events = all_events()
    return page("sign_in.html", status, title="Sign in", email=email, error=error,
                events=events if len(events) > 1 else [], chosen=chosen)


def keep_sign_in(signed: people.SignIn) -> None:
    """This sign-in becomes the cookie's for its event, and the event the pages act on.
    Sign-ins to other events stay only when they are the same person's (same email);
    whatever is dropped or replaced is signed out."""
    kept = {}
    email = signed.attendee.email.lower()
    for event_key, token in signed_tokens().items():
        access = auth.find_live_token(token)
        if access is None:
            continue
        if event_key != str(signed.attendee.event_id) and \
                str(access.attendee.event_id) == event_key and \
                access.attendee.email.lower() == email:
            kept[event_key] = token
        else:
            auth.revoke_token(access)
    sent = session.get("sent", [])
    session.clear()
    session["tokens"] = {**kept, str(signed.attendee.event_id): signed.token}
    session["event"] = signed.attendee.event_id
    if sent:
        session["sent"] = sent
    session.permanent = False


@blp.route("/sign-in", methods=["GET", "POST"])
@limit_failed_logins
def sign_in():
    if request.method == "GET":
        return sign_in_page(chosen=request.args.get("event"))
    email = request.form.get("email", "")[:254]
    code = request.form.get("access_code", "")[:64]
    chosen = request.form.get("event", "")[:64] or None
    events = all_events()
    if len(events) > 1 and chosen not in {event.slug for event in events}:
        return sign_in_page(422, email, chosen, "Choose the event you sign in to.")
    if not email.strip() or not code.strip():
        return sign_in_page(422, email, chosen, "Give your email and your access code.")
    try:
        signed = attempt(people.sign_in, email, code, chosen)
    except Refused as refused:  # 401: limit_failed_logins counts it
        return sign_in_page(refused.status, email, chosen, refused.message)
    keep_sign_in(signed)
    return redirect(safe_next(request.args.get("next", "")))


def safe_next(target: str) -> str:
    """Where to go after signing in: a page of the console, else its home. A path with
    anything but printable ASCII (CR/LF would break the Location header) is not one."""
    if not target.startswith("/console/") or not target.isascii() \
            or not target.isprintable() or "\\" in target:
        return url_for("console.home")
    return target


@blp.route("/sign-out", methods=["POST"])
def sign_out():
    """Out of every event this browser is signed in to (a shared computer keeps none)."""
    for token in signed_tokens().values():
        access = auth.find_live_token(token)
        if access is not None:
            auth.revoke_token(access)
    session.clear()
    return redirect(url_for("console.sign_in"))


@blp.route("/switch", methods=["POST"])
def switch():
    """The pages act on another event signed into, where this person has a console role."""
    wanted = number(request.form.get("to", ""))
    for attendee in console_sign_ins():
        if attendee.event_id == wanted:
            session["event"] = attendee.event_id
            flash(f"The console now works on {attendee.event.name}.")
            return redirect(url_for("console.home"))
    return page("refused.html", 403, title="Not signed in there",
                message="Sign in to that event first, with its own access code.")


@blp.route("/")
def home():
    return redirect(url_for("console.agenda" if is_organiser() else "console.moderate"))


# --- the agenda ----------------------------------------------------------------------

def attendees_by_id() -> dict[int, Attendee]:
    return {a.id: a for a in db.session.scalars(
        select(Attendee).where(Attendee.event_id == me().event_id).order_by(Attendee.name))}


def pending_by_session(plan: changelog.Plan) -> dict[int, list[str]]:
    return {entry["session_id"]: [change["kind"] for change in entry["changes"]]
            for entry in plan.changes if entry["session_id"]}


@blp.route("/agenda")
@organisers_only
def agenda():
    event = me().event
    zone = ZoneInfo(event.timezone)
    sessions = drafts.draft_sessions(event)
    rooms = drafts.draft_rooms(event)
    plan = changelog.draft_plan(event)
    pending = pending_by_session(plan)
    days: dict = {}
    for session_id, state in sorted(sessions.items(),
                                    key=lambda item: (item[1]["starts_at"], item[0])):
        day = states.instant(state["starts_at"]).astimezone(zone).date()
        days.setdefault(day, []).append({
            "id": session_id, **state,
            "room": (rooms.get(state.get("room_id")) or {}).get("name"),
            "pending": pending.get(session_id, []),
        })
    removed = [entry for entry in plan.changes if entry["session_id"]
               and entry["session_id"] not in sessions]
    return page("agenda.html", title="Agenda", days=days, removed=removed,
                edits=len(plan.sessions) + len(plan.rooms), changes=len(plan.changes))


def session_form(session_id: int, state: dict, errors: dict | None = None,
                 values: dict | None = None, status: int = 200):
    event = me().event
    shown = {
        "title": state["title"],
        "starts_at": local_value(state["starts_at"], event.timezone),
        "ends_at": local_value(state["ends_at"], event.timezone),
        "room_id": state.get("room_id"), "online_url": state.get("online_url") or "",
        "speakers": state.get("speakers") or [], "moderators": state.get("moderators") or [],
        "cancelled": state.get("status") == "cancelled",
        **(values or {}),
    }
    return page("session.html", status, title=f"Edit: {state['title']}", id=session_id,
                state=state, form=shown, errors=errors or {},
                rooms=drafts.draft_rooms(event), people=attendees_by_id())


@blp.route(f"/sessions/<{ID}:session_id>", methods=["GET", "POST"])
@organisers_only
def edit_session(session_id):
    event = me().event
    try:
        state, _ = attempt(drafts.drafted_state, event, "session", session_id)
    except Refused as refused:
        return page("refused.html", refused.status, title="Not found", message=refused.message)
    if request.method == "GET":
        return session_form(session_id, state)
    form, errors = request.form, {}
    raw = {"title": form.get("title", "").strip(),
           "online_url": text_or_none(form, "online_url"),
           "status": "cancelled" if form.get("cancelled") else "scheduled",
           "speakers": ids(form, "speakers", errors),
           "moderators": ids(form, "moderators", errors)}
    room = form.get("room_id", "").strip()
    raw["room_id"] = number(room)
    if room and raw["room_id"] is None:
        errors["room_id"] = ["Choose a room of the list."]
    for name in ("starts_at", "ends_at"):
        try:
            raw[name] = from_local(form.get(name, ""), event.timezone)
        except ValueError as error:
            errors[name] = [str(error)]
    typed = {"title": raw["title"], "online_url": raw["online_url"] or "",
             "room_id": raw["room_id"], "speakers": raw["speakers"],
             "moderators": raw["moderators"], "cancelled": raw["status"] == "cancelled",
             "starts_at": form.get("starts_at", ""), "ends_at": form.get("ends_at", "")}
    try:
        if errors:
            raise Refused(422, "The request is not valid.", errors)
        values = load(SessionPatchSchema(), raw)
        changed = {name: value for name, value in values.items()
                   if (states.iso(value) if name in ("starts_at", "ends_at") else value)
                   != state.get(name)}
        if "starts_at" in changed:  # the form's end as shown: a lone start would move it
            changed["ends_at"] = values["ends_at"]
        if not changed:
            flash("Nothing changed.")
            return redirect(url_for("console.edit_session", session_id=session_id))
        attempt(drafts.update_session, event, me(), session_id, changed)
    except Refused as refused:
        return session_form(session_id, state, refused.errors or {"_schema": [refused.message]},
                            typed, status=refused.status)
    flash(f"Saved in the draft: {values.get('title', state['title'])}. "
          "Release it when the draft is ready.")
    return redirect(url_for("console.agenda") + f"#session-{session_id}")


def delay_preview(session_obj: Session, minutes: int, shift_following: bool):
    """What a delay would release, from the plan the delay itself would apply: its
    changes, how many people would be told, or why it would be refused. Writes nothing."""
    event = me().event
    the_plan = delays.plan_delay(event, session_obj, minutes, shift_following)
    try:
        attempt(delays.refuse_late, event, the_plan, False)
    except Refused as refused:
        return [], 0, refused.message
    return the_plan.changes, len(told(event, the_plan)), None


@blp.route(f"/sessions/<{ID}:session_id>/late", methods=["GET", "POST"])
@organisers_only
@once
def running_late(session_id):
    event = me().event
    try:
        session_obj = attempt(schedule.get_session, event, session_id)
    except Refused as refused:
        return page("refused.html", refused.status, title="Not found", message=refused.message)
    source = request.form if request.method == "POST" else request.args
    minutes = source.get("minutes", "")
    minutes = int(minutes) if minutes in {str(m) for m in LATE_CHOICES} else None
    shift = bool(source.get("shift_following"))
    if request.method == "POST" and minutes is not None:
        if request.form.get("starts_at") != states.iso(session_obj.starts_at):
            flash("This session has moved since the preview: nothing was changed. "
                  "Look at what would move again.")
            return redirect(url_for("console.running_late", session_id=session_id,
                                    minutes=minutes, shift_following=shift or None))
        try:
            values = load(DelaySchema(), {"minutes": minutes, "shift_following": shift})
            version = attempt(delays.delay, event, me(), session_obj, values["minutes"],
                              values["shift_following"], False, None)
        except Refused as refused:
            flash(refused.message)
            return redirect(url_for("console.running_late", session_id=session_id,
                                    minutes=minutes, shift_following=shift or None))
        flash(f"Released version {version.number}: {version.note}. "
              f"{version.notified} people told.")
        return redirect(url_for("console.agenda") + f"#session-{session_id}")
    title, starts = session_obj.title, session_obj.starts_at
    preview = delay_preview(session_obj, minutes, shift) if minutes else None
    return page("late.html", title=f"Running late: {title}", id=session_id,
                session_title=title, starts_at=starts, expected=states.iso(starts),
                minutes=minutes, shift=shift, choices=LATE_CHOICES, preview=preview)


# --- releasing the draft -----------------------------------------------------------

def told(event, plan: changelog.Plan) -> dict[int, list[int]]:
    """By attendee a release of this plan would push to: the changed sessions it names
    (those affected, less those who switched schedule changes off, unless they speak or
    moderate)."""
    affected = releasing.affected(event, plan)
    if not affected.sessions:
        return {}
    muted = {a.id for (a,) in db.session.execute(
        select(Attendee).where(Attendee.id.in_(list(affected.sessions))))
        if not (a.notify or {}).get("schedule_changes", True)} - affected.always
    return {attendee_id: session_ids for attendee_id, session_ids in affected.sessions.items()
            if attendee_id not in muted}


def notified_by_change(event, plan: changelog.Plan) -> dict[int, int]:
    """By changed session: how many people its release would push to."""
    counts: Counter = Counter()
    for session_ids in told(event, plan).values():
        counts.update(session_ids)
    return dict(counts)


@blp.route("/release", methods=["GET", "POST"])
@organisers_only
@once
def release():
    event = me().event
    plan = changelog.draft_plan(event)
    version = releasing.current_version(event) + 1
    counts = notified_by_change(event, plan)
    note = request.form.get("note", "")[:2000]
    warnings = conflicts.draft_warnings(event, drafts.draft_sessions(event),
                                        drafts.draft_rooms(event))
    context = {"title": "Release", "changes": plan.changes, "counts": counts,
               "version": version, "note": note, "people": attendees_by_id(),
               "warnings": warnings}
    if request.method == "GET":
        return page("release.html", **context)
    if request.form.get("version") != str(version):
        return page("release.html", 409, **context,
                    error="The schedule was released meanwhile: look at the draft again.")
    if not request.form.get("confirmed"):
        return page("release.html", **context, confirming=True)
    try:
        values = load(PublishSchema(), {"note": note.strip() or None})
        released = attempt(releasing.publish, event, me(), values["note"])
    except Refused as refused:
        return page("release.html", refused.status, **context, error=refused.message)
    flash(f"Released version {released.number}; {released.notified} people told.")
    return redirect(url_for("console.release"))


# --- importing a new version of the programme -----------------------------------------

@blp.route("/import", methods=["GET", "POST"])
@organisers_only
def import_programme():
    """A schedule file (frab XML, c3voc JSON, our JSON) into the draft; the Release page
    then shows its changelog before anything is released."""
    context = {"title": "Import a new version"}
    if request.method == "GET":
        return page("import.html", **context)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return page("import.html", 422, **context, error="Choose a schedule file.")
    event = me().event
    try:
        programme = sources.parse(upload.read(), event.timezone)
        outcome = attempt(importing.import_programme, programme, event.slug, actor=me(),
                          timezone_name=event.timezone)
    except SourceError as error:
        return page("import.html", 422, **context,
                    error=f"{upload.filename}: {error}. Nothing changed.")
    except Refused as refused:
        return page("import.html", refused.status, **context, error=refused.message)
    for warning in outcome.warnings:
        flash(f"Warning: {warning}")
    if not outcome.changes:
        flash(f"{upload.filename} changes nothing released: nothing to release.")
        return redirect(url_for("console.import_programme"))
    flash(f"{upload.filename}: its changes are in the draft. Review them and release.")
    return redirect(url_for("console.release"))


# --- announcements -----------------------------------------------------------------

def announcement_input(form) -> tuple[dict, dict]:
    """The form as POST /events/{event}/announcements' body, and errors found on the way."""
    errors: dict = {}
    raw: dict = {"title": form.get("title", ""), "body": form.get("body", ""),
                 "priority": form.get("priority", "normal")}
    if form.get("audience") == "chosen":
        audience = {"roles": form.getlist("roles"), "languages": form.getlist("languages"),
                    "sessions": ids(form, "sessions", errors)}
        raw["audience"] = {name: value for name, value in audience.items() if value}
    else:
        raw["audience"] = "all"
    texts = {}
    for language in LANGUAGES:
        text = {name: form.get(f"texts.{language}.{name}", "").strip()
                for name in ("title", "body")}
        text = {name: value for name, value in text.items() if value}
        if text:
            texts[language] = text
    if texts:
        raw["texts"] = texts
    if form.get("when") == "at":
        try:
            raw["send_at"] = from_local(form.get("send_at", ""), me().event.timezone)
        except ValueError as error:
            errors["send_at"] = [str(error)]
    return raw, errors


def announcement_page(status: int = 200, errors: dict | None = None, form=None):
    event = me().event
    return page("announcements.html", status, title="Announcements",
                reports=announcements.reports(event), errors=errors or {},
                form=form or MultiDict(), roles=ROLES, languages=LANGUAGES,
                priorities=ANNOUNCEMENT_PRIORITIES, sessions=event.sessions,
                sending=REFRESH)


@blp.route("/announcements", methods=["GET", "POST"])
@organisers_only
@once
def announcements_page():
    if request.method == "GET":
        return announcement_page()
    raw, errors = announcement_input(request.form)
    try:
        if errors:
            raise Refused(422, "The request is not valid.", errors)
        values = load(AnnouncementInSchema(), raw)
        report, _ = attempt(announcements.create, me().event, me(), values)
    except Refused as refused:
        return announcement_page(refused.status,
                                 refused.errors or {"_schema": [refused.message]},
                                 request.form)
    when = "now" if "send_at" not in raw else f"at {local_filter(report.send_at)}"
    reached = report.recipients - report.muted
    flash(f"Announcement {report.title!r} goes out {when} to {reached} "
          f"{'person' if reached == 1 else 'people'}.")
    return redirect(url_for("console.announcements_page"))


@blp.route(f"/announcements/<{ID}:announcement_id>/cancel", methods=["POST"])
@organisers_only
def cancel_announcement(announcement_id):
    try:
        attempt(announcements.cancel, me().event, me(), announcement_id)
    except Refused as refused:
        flash(refused.message)
    else:
        flash("Cancelled: none of its messages goes out.")
    return redirect(url_for("console.announcements_page"))


@blp.route("/announcements/count", methods=["POST"])
@organisers_only
def announcement_count():
    """The dry run, as the composer types: how many people it would reach."""
    raw, errors = announcement_input(request.form)
    raw["title"] = raw["title"].strip() or "-"
    raw["body"] = raw["body"].strip() or "-"
    raw["dry_run"] = True
    try:
        if errors:
            raise Refused(422, "The request is not valid.", errors)
        values = load(AnnouncementInSchema(), raw)
        report, _ = attempt(announcements.create, me().event, me(), values)
    except Refused as refused:
        return page("_count.html", 200, report=None, errors=refused.errors,
                    message=refused.message)
    return page("_count.html", report=report)


@blp.route("/announcements/list")
@organisers_only
def announcement_list():
    return page("_announcements.html", reports=announcements.reports(me().event),
                sending=REFRESH)


# --- the moderator's phone view -------------------------------------------------------

def my_sessions() -> list[Session]:
    query = select(Session).where(Session.event_id == me().event_id)
    if not is_organiser():
        query = query.join(SessionPerson).where(SessionPerson.attendee_id == me().id,
                                                SessionPerson.role == "moderator")
    return [s for s in db.session.scalars(query.order_by(Session.starts_at, Session.id))
            if s.speakers]


@blp.route("/moderate")
def moderate():
    return page("moderate.html", title="Moderate", sessions=my_sessions(),
                templates=PING_TEMPLATES, labels=PING_LABELS, refresh=REFRESH)


def pingable(session_id: int) -> Session:
    session_obj = attempt(pings.get_session, session_id)
    attempt(pings.check_may_ping, session_obj, me())
    return session_obj


def pings_fragment(session_obj: Session, status: int = 200, error: str | None = None):
    return page("_pings.html", status, session=session_obj,
                pings=pings.listing(session_obj), labels=PING_LABELS, refresh=REFRESH,
                error=error, sent=request.method == "POST")


@blp.route(f"/sessions/<{ID}:session_id>/pings", methods=["GET", "POST"])
@once
def session_pings(session_id):
    try:
        session_obj = pingable(session_id)
    except Refused as refused:
        return page("refused.html", refused.status, title="Refused", message=refused.message)
    if request.method == "GET":
        return pings_fragment(session_obj)
    raw = {}
    if request.form.get("template"):
        raw["template"] = request.form["template"]
    if request.form.get("message", "").strip():
        raw["message"] = request.form["message"][:1000]
    error = None
    try:
        values = load(PingInSchema(), raw)
        attempt(pings.send, session_obj, me(), values)
    except Refused as refused:
        error = refused.message + "".join(
            f" {message}" for messages in refused.errors.values() for message in messages)
    if request.headers.get("HX-Request"):
        return pings_fragment(session_obj, error=error)
    if error:
        flash(error)
    return redirect(url_for("console.moderate") + f"#session-{session_id}")


# --- the audit log --------------------------------------------------------------------

@blp.route("/audit")
@organisers_only
def audit():
    event = me().event
    raw, errors = {}, {}
    for name in ("action", "subject", "actor_id"):
        value = request.args.get(name, "").strip()
        if value:
            raw[name] = value
    for name in ("since", "until"):
        value = request.args.get(name, "").strip()
        if value:
            try:
                raw[name] = from_local(value, event.timezone)
            except ValueError as error:
                errors[name] = [str(error)]
    entries, status = [], 200
    try:
        if errors:
            raise Refused(422, "The request is not valid.", errors)
        filters = load(AuditQuerySchema(), raw)
        entries = db.session.scalars(entries_query(event, filters).limit(500)).all()
    except Refused as refused:
        errors, status = refused.errors, refused.status
    actions = db.session.scalars(select(AuditEntry.action).distinct()
                                 .where(AuditEntry.event_id == event.id)
                                 .order_by(AuditEntry.action)).all()
    actors = [a for a in attendees_by_id().values()
              if a.has_role("organiser") or a.has_role("moderator")]
    return page("audit.html", status, title="Audit log", entries=entries,
                errors=errors, args=request.args, actions=actions, actors=actors)


# --- rooms ------------------------------------------------------------------------------

@blp.route("/rooms")
@organisers_only
def rooms():
    plan = changelog.draft_plan(me().event)
    pending = {entry["room_id"] for entry in plan.changes if entry["room_id"]}
    return page("rooms.html", title="Rooms", rooms=drafts.draft_rooms(me().event),
                pending=pending)


ROOM_TEXTS = ("name", "building", "address", "floor", "accessibility", "directions",
              "map_url")
FACILITY_ROWS_FREE = 2


def room_input(form) -> tuple[dict, dict]:
    errors: dict = {}
    raw: dict = {name: text_or_none(form, name) for name in ROOM_TEXTS}
    raw["name"] = form.get("name", "").strip()
    capacity = form.get("capacity", "").strip()
    raw["capacity"] = number(capacity)
    if capacity and raw["capacity"] is None:
        errors["capacity"] = ["Give a whole number."]
    channels = [c.strip() for c in form.get("interpretation.channels", "").split(",")
                if c.strip()]
    languages = [c.strip() for c in form.get("interpretation.languages", "").split(",")
                 if c.strip()]
    raw["interpretation"] = ({"channels": channels, "languages": languages}
                             if channels or languages else None)
    rows = []
    for row in range(min(number(form.get("facility_rows", "")) or 0, 60)):
        rows.append({"kind": form.get(f"facilities.{row}.kind", ""),
                     "name": form.get(f"facilities.{row}.name", "").strip(),
                     "where": form.get(f"facilities.{row}.where", "").strip() or None})
    used = [row for row, facility in enumerate(rows) if facility["name"] or facility["where"]]
    raw["facilities"] = [rows[row] for row in used]
    raw["_rows"], raw["_used"] = rows, used
    return raw, errors


def form_row(name: str, used: list[int]) -> str:
    """facilities.N.kind of the list sent is facilities.M.kind of the form's rows."""
    parts = name.split(".")
    if parts[0] == "facilities" and len(parts) > 1 and parts[1].isdigit() \
            and int(parts[1]) < len(used):
        parts[1] = str(used[int(parts[1])])
    return ".".join(parts)


@blp.route(f"/rooms/<{ID}:room_id>", methods=["GET", "POST"])
@organisers_only
def edit_room(room_id):
    event = me().event
    try:
        state, _ = attempt(drafts.drafted_state, event, "room", room_id)
    except Refused as refused:
        return page("refused.html", refused.status, title="Not found", message=refused.message)
    errors, status, shown = {}, 200, dict(state)
    if request.method == "POST":
        raw, errors = room_input(request.form)
        rows, used = raw.pop("_rows"), raw.pop("_used")
        try:
            if errors:
                raise Refused(422, "The request is not valid.", errors)
            values = load(RoomPatchSchema(), raw)
            changed = {k: v for k, v in values.items() if v != state.get(k)}
            if changed:
                attempt(drafts.update_room, event, me(), room_id, changed)
                flash(f"Saved in the draft: {values['name']}. Release it when ready.")
            else:
                flash("Nothing changed.")
            return redirect(url_for("console.rooms"))
        except Refused as refused:
            errors, status = refused.errors or {"_schema": [refused.message]}, refused.status
            errors = {form_row(name, used): messages for name, messages in errors.items()}
            shown = {**raw, "facilities": rows}
    facilities = list(shown.get("facilities") or [])
    facilities += [{"kind": "other", "name": "", "where": ""}] * FACILITY_ROWS_FREE
    interpretation = shown.get("interpretation") or {}
    return page("room.html", status, title=f"Room: {state['name']}", id=room_id,
                room=shown, facilities=facilities, kinds=FACILITY_KINDS, errors=errors,
                channels=", ".join(interpretation.get("channels") or []),
                languages=", ".join(interpretation.get("languages") or []))
