"""Signing in to the console and out, switching events, the home page."""

from flask import flash, redirect, request, session, url_for

from .. import auth
from ..auth import limit_failed_logins
from ..people import operations as people
from .forms import Refused, attempt, number
from .pages import all_events, blp, console_sign_ins, is_organiser, page, signed_tokens


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
