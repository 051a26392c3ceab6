"""Releasing the draft (with who would be told) and importing a new version of the
programme."""

from collections import Counter

from flask import flash, redirect, request, url_for
from sqlalchemy import select

from notifications import kinds
from notifications.notify import wants

from ..db import rows_in
from ..people.models import Attendee
from ..schedule import changelog, conflicts, drafts, importing, releasing, sources
from ..schedule.programme import SourceError
from ..schedule.schemas import PublishSchema
from .forms import Refused, attempt, load
from .pages import attendees_by_id, blp, me, once, organisers_only, page


def told(event, plan: changelog.Plan) -> dict[int, list[int]]:
    """By attendee a release of this plan would push to: the changed sessions it names
    (those affected, less those whom notifications would not tell: they muted the
    category of a schedule change, and neither speak nor moderate)."""
    affected = releasing.affected(event, plan)
    kind = kinds.get("schedule_change")
    asked = sorted(set(affected.sessions) - affected.always)
    muted = {attendee.id for (attendee,) in rows_in(select(Attendee), Attendee.id, asked)
             if not wants(attendee, kind)}
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
