"""Rooms: the draft's rooms and editing one."""

from flask import flash, redirect, request, url_for

from ..schedule import changelog, drafts
from ..schedule.schemas import FACILITY_KINDS, RoomPatchSchema
from .forms import Refused, attempt, load, number, text_or_none
from .pages import ID, blp, me, not_found, organisers_only, page


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
        return not_found(refused)
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
