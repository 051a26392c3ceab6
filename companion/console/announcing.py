"""Announcements: writing, counting the audience live, cancelling, the list."""

from flask import flash, redirect, request, url_for
from werkzeug.datastructures import MultiDict

from ..organising import announcements
from ..organising.models import ANNOUNCEMENT_PRIORITIES
from ..organising.schemas import AnnouncementInSchema
from ..people.models import ROLES
from ..schedule.models import LANGUAGES
from .forms import Refused, attempt, from_local, ids, load
from .pages import ID, REFRESH, blp, local_filter, me, once, organisers_only, page


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


def announce(raw: dict, errors: dict):
    """The announcement of the form (a dry run when ``raw`` says so); `Refused` when
    the form or the API refuses it."""
    if errors:
        raise Refused(422, "The request is not valid.", errors)
    values = load(AnnouncementInSchema(), raw)
    report, _ = attempt(announcements.create, me().event, me(), values)
    return report


@blp.route("/announcements", methods=["GET", "POST"])
@organisers_only
@once
def announcements_page():
    if request.method == "GET":
        return announcement_page()
    raw, errors = announcement_input(request.form)
    try:
        report = announce(raw, errors)
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
        report = announce(raw, errors)
    except Refused as refused:
        return page("_count.html", 200, report=None, errors=refused.errors,
                    message=refused.message)
    return page("_count.html", report=report)


@blp.route("/announcements/list")
@organisers_only
def announcement_list():
    return page("_announcements.html", reports=announcements.reports(me().event),
                sending=REFRESH)
