"""The agenda: the draft by day, editing a session, a session running late."""

from zoneinfo import ZoneInfo

from flask import flash, redirect, request, url_for

from ..schedule import changelog, delays, drafts, states
from ..schedule import operations as schedule
from ..schedule.models import Session
from ..schedule.schemas import DelaySchema, SessionPatchSchema
from .forms import Refused, attempt, from_local, ids, load, local_value, number, text_or_none
from .pages import ID, attendees_by_id, blp, me, not_found, once, organisers_only, page
from .release import told

LATE_CHOICES = (5, 10, 15)


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
        return not_found(refused)
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
        return not_found(refused)
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
