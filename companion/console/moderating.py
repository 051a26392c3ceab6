"""The moderator's phone view: their sessions and the pings they send."""

from flask import flash, redirect, request, url_for
from sqlalchemy import select

from ..extensions import db
from ..organising import pings
from ..organising.models import PING_TEMPLATES
from ..organising.schemas import PingInSchema
from ..schedule.models import Session, SessionPerson
from .forms import Refused, attempt, load
from .pages import ID, REFRESH, blp, is_organiser, me, once, page

PING_LABELS = {
    "on_in_5": "You are on in 5 minutes", "to_stage": "Please come to the stage",
    "two_minutes": "2 minutes left", "wrap_up": "Please wrap up",
}


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
