"""The draft's warnings (GET /events/{event}/schedule/draft and the console's release
page): two sessions in one room at once, a linked person in two places at once, a
session past the end of its event day. Warnings never stop a release."""

import re
import time as clock
from datetime import datetime, time, timedelta, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from companion.extensions import db
from companion.schedule import conflicts, drafts, states
from companion.schedule.operations import get_event
from companion.schedule.models import Session

API = "/api/v1/events/alliance-2020"
CODE = "7KQ4-MX2P-9DHT"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# Panel 1: 16:30-18:00 on Monday 30 March 2020 in Vienna (summer time).
PANEL_1 = ("2020-03-30T16:30:00+02:00", "2020-03-30T18:00:00+02:00")


@pytest.fixture
def who(conference, make_attendee, bearer):
    organiser = make_attendee(roles=["organiser"], name="Olga Organiser", code=CODE)
    speaker = make_attendee(roles=["speaker"], name="Sam Speaker")
    return {"organiser": organiser, "speaker": speaker, "headers": bearer(organiser)}


def key(session_key: str) -> int:
    return db.session.scalar(select(Session.id).where(Session.key == session_key))


def draft(client, who) -> dict:
    response = client.get(f"{API}/schedule/draft", headers=who["headers"])
    assert response.status_code == 200, response.json
    return response.json


def patch(client, who, session_id: int, **values):
    response = client.patch(f"{API}/sessions/{session_id}", json=values,
                            headers=who["headers"])
    assert response.status_code == 200, response.json
    return response.json


def of_kind(warnings: list[dict], kind: str) -> list[dict]:
    return [warning for warning in warnings if warning["kind"] == kind]


def test_the_seeded_agenda_back_to_back_has_no_warnings(client, who):
    # coffee break 1 ends as Panel 1 begins, in the same room: no overlap
    body = draft(client, who)
    assert body["warnings"] == []
    assert body["changes"] == []


def test_two_sessions_in_one_room_at_once(client, who):
    panel_1, panel_2 = key("panel-1"), key("panel-2")
    patch(client, who, panel_2, starts_at="2020-03-30T17:00:00+02:00",
          ends_at="2020-03-30T17:45:00+02:00")
    warnings = of_kind(draft(client, who)["warnings"], "room_overlap")
    assert [w["session_ids"] for w in warnings if panel_2 in w["session_ids"]] == [
        [panel_1, panel_2]]
    message = next(w["message"] for w in warnings if panel_2 in w["session_ids"])
    assert "Panel 1 – The scope and nature of the problem" in message
    assert "Mon 30 Mar 16:30–18:00" in message  # Vienna time, not UTC
    assert "Mon 30 Mar 17:00–17:45" in message and "Neuer Saal" in message

    # a cancelled session is in nobody's way
    patch(client, who, panel_2, status="cancelled")
    assert not any(panel_2 in w["session_ids"] for w in draft(client, who)["warnings"])


def test_a_speaker_in_two_places_at_once(client, who):
    speaker = who["speaker"].id
    panel_1 = key("panel-1")
    patch(client, who, panel_1, speakers=[speaker])
    side = client.post(f"{API}/sessions", headers=who["headers"], json={
        "kind": "side_event", "title": "Side event on shelters", "room_id": None,
        "starts_at": "2020-03-30T17:30:00+02:00", "ends_at": "2020-03-30T18:30:00+02:00",
        "moderators": [speaker]})
    assert side.status_code == 201, side.json
    warnings = draft(client, who)["warnings"]
    assert of_kind(warnings, "room_overlap") == []  # the side event has no room
    [warning] = of_kind(warnings, "person_overlap")
    assert warning["session_ids"] == [panel_1, side.json["id"]]
    assert "Sam Speaker" in warning["message"]
    assert "Side event on shelters" in warning["message"]
    assert "17:30–18:30" in warning["message"]

    # one after the other is fine
    patch(client, who, side.json["id"], starts_at="2020-03-30T18:00:00+02:00",
          ends_at="2020-03-30T19:00:00+02:00")
    assert of_kind(draft(client, who)["warnings"], "person_overlap") == []


def test_a_session_past_the_end_of_its_day_and_warnings_never_block(client, who):
    panel_4 = key("panel-4")
    state, _ = drafts.drafted_state(get_event("alliance-2020"), "session", panel_4)
    starts = states.instant(state["starts_at"])
    patch(client, who, panel_4, ends_at=(starts.replace(hour=22, minute=30)).isoformat(),
          force=True)  # 00:30 in Vienna the next morning
    warnings = of_kind(draft(client, who)["warnings"], "past_day_end")
    assert [w["session_ids"] for w in warnings] == [[panel_4]]
    assert "runs past the end of its day (Tue 31 Mar, which ends at 00:00)" in warnings[0][
        "message"]

    released = client.post(f"{API}/schedule/publish", json={"note": "Late night"},
                           headers=who["headers"])
    assert released.status_code == 201, released.json
    assert of_kind(draft(client, who)["warnings"], "past_day_end") == warnings


def test_the_day_ends_at_the_events_day_change():
    """A frab-style night: the day runs until 04:00, so 23:30-00:30 is within its day."""
    night = SimpleNamespace(timezone="Europe/Berlin", day_change=time(4))

    def state(starts: str, ends: str, title: str) -> dict:
        return {"title": title, "starts_at": starts, "ends_at": ends, "room_id": None,
                "status": "scheduled", "speakers": [], "moderators": []}

    sessions = {
        1: state("2026-12-27T22:30:00+00:00", "2026-12-27T23:30:00+00:00", "Late talk"),
        2: state("2026-12-28T02:30:00+00:00", "2026-12-28T03:30:00+00:00", "Too late"),
    }
    warnings = conflicts.draft_warnings(night, sessions, {})
    assert [(w["kind"], w["session_ids"]) for w in warnings] == [("past_day_end", [2])]
    assert "which ends at 04:00" in warnings[0]["message"]


def test_a_thousand_sessions_are_swept_not_compared_pairwise(app):
    """40 rooms, 1,000 sessions, a few hundred people: one sort each, well under a second."""
    event = SimpleNamespace(timezone="Europe/Brussels", day_change=None)
    start = datetime(2026, 2, 1, 8, 0, tzinfo=timezone.utc)
    sessions = {}
    for n in range(1000):
        room, slot = n % 40, n // 40
        starts = start + timedelta(minutes=30 * slot)
        sessions[n + 1] = {
            "title": f"Talk {n}", "room_id": room + 1, "status": "scheduled",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(minutes=30)).isoformat(),
            "speakers": [10_000 + n % 300], "moderators": []}
    rooms = {room + 1: {"name": f"Room {room}"} for room in range(40)}
    began = clock.perf_counter()
    warnings = conflicts.draft_warnings(event, sessions, rooms)
    elapsed = clock.perf_counter() - began
    # person n % 300 speaks in sessions n, n + 300, ...: slots 0, 7 or 8, ...: no clash
    assert of_kind(warnings, "room_overlap") == []
    assert elapsed < 1.0, elapsed


def test_the_release_page_lists_the_warnings_above_the_changelog(client, who):
    panel_1, panel_2 = key("panel-1"), key("panel-2")
    patch(client, who, panel_2, starts_at="2020-03-30T17:00:00+02:00",
          ends_at="2020-03-30T17:45:00+02:00")
    token = CSRF.search(client.get("/console/sign-in").text).group(1)
    assert client.post("/console/sign-in", data={
        "csrf_token": token, "email": who["organiser"].email,
        "access_code": CODE}).status_code == 302
    page = client.get("/console/release")
    assert page.status_code == 200
    text = page.text
    assert "Look at these first" in text
    assert text.index("Look at these first") < text.index("Changelog of version")
    assert "overlap in Neuer Saal" in text
    assert f'/console/sessions/{panel_1}"' in text and f'/console/sessions/{panel_2}"' in text
