"""The public agenda, as served, against the concept note it comes from."""

import json
import re
from datetime import datetime
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).resolve().parents[2] / "shared"
BASE = "/api/v1/events/alliance-2020"


def concept_note() -> str:
    return (DATA / "concept_note.txt").read_text("utf-8")


def note_agenda():
    """(day, start, end, title) of every agenda line of the concept note."""
    items, day = [], None
    for line in concept_note().splitlines():
        heading = re.match(r"Day \d: \w+ (\d+) March", line)
        if heading:
            day = f"2020-03-{int(heading.group(1)):02d}"
            continue
        m = re.match(r"(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s+(.+)", line)
        if m and day:
            start, end, text = m.groups()
            title = re.split(r" (?=In order to)|–\s*Side-events", text)[0].strip()
            items.append((day, f"{int(start[:-3]):02d}{start[-3:]}",
                          f"{int(end[:-3]):02d}{end[-3:]}", title))
    return items


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("**", "").replace("*", ""))


def test_vendored_copies_match_shared():
    if not SHARED.is_dir():
        pytest.skip("no ../shared beside this clone")
    assert (DATA / "concept_note.txt").read_bytes() == (
        SHARED / "seed/000_f98e4d640773ad60.txt").read_bytes()
    for name in ("schedule.xml.xsd", "schedule.schema.json"):
        assert (DATA / name).read_bytes() == (SHARED / "schemas" / name).read_bytes()


def test_agenda_matches_concept_note_item_by_item(client, conference):
    expected = note_agenda()
    assert len(expected) == 12
    served = client.get(f"{BASE}/sessions").json
    got = []
    for s in served:
        start = datetime.fromisoformat(s["starts_at"])
        end = datetime.fromisoformat(s["ends_at"])
        got.append((start.date().isoformat(), start.strftime("%H:%M"),
                    end.strftime("%H:%M"), s["title"]))
    assert got == expected
    assert expected[0] == ("2020-03-30", "11:00", "14:30", "Registration")
    assert expected[-1] == ("2020-03-31", "16:30", "17:00", "Closing remarks")


def test_panels_carry_their_descriptions_and_topics_word_for_word(client, conference):
    note = flat(concept_note())
    panels = client.get(f"{BASE}/sessions", query_string={"kind": "panel"}).json
    assert [p["title"][:7] for p in panels] == ["Panel 1", "Panel 2", "Panel 3", "Panel 4"]
    for panel in panels:
        assert len(panel["description"]) > 400
        assert flat(panel["description"]) in note
        assert len(panel["topics"]) >= 2
        section = note[note.index(panel["title"]):]
        covered = section[section.index("Topics to be covered:"):][:900]
        for topic in panel["topics"]:
            assert topic in covered, topic
    assert panels[0]["topics"] == [
        "the state of affairs",
        "lack of prioritization of prosecution",
        "obstacles (bottlenecks) contributing to low prosecution rates and inadequate sentencing",
        "requalification under other offences",
    ]


def test_kinds_of_the_agenda(client, conference):
    kinds = [s["kind"] for s in client.get(f"{BASE}/sessions").json]
    assert kinds == ["registration", "opening", "keynote", "break", "panel", "networking",
                     "panel", "break", "panel", "lunch", "panel", "closing"]
    lunch = client.get(f"{BASE}/sessions", query_string={"kind": "lunch"}).json[0]
    assert lunch["description"] == "Side-events (tbc) to be held during the lunch break."


def test_panel_1_is_in_summer_time(client, conference):
    """Summer time began on 29 March 2020: Vienna is +02:00, not +01:00."""
    panel = client.get(f"{BASE}/sessions", query_string={"kind": "panel"}).json[0]
    assert panel["starts_at"] == "2020-03-30T16:30:00+02:00"
    assert panel["ends_at"] == "2020-03-30T18:00:00+02:00"
    assert panel["room"]["name"] == "Neuer Saal"
    assert panel["status"] == "scheduled"
    assert set(panel) >= {"id", "kind", "title", "description", "topics", "starts_at",
                          "ends_at", "room", "speakers", "moderators", "status"}


def test_session_detail_and_404(client, conference):
    first = client.get(f"{BASE}/sessions").json[0]
    assert client.get(f"{BASE}/sessions/{first['id']}").json == first
    response = client.get(f"{BASE}/sessions/999999")
    assert response.status_code == 404
    assert response.json["message"] == "Session 999999 not found"
    assert client.get("/api/v1/events/nope/sessions").status_code == 404
    # an id no database column can hold is simply not there
    assert client.get(f"{BASE}/sessions/{2**63}").status_code == 404
    assert client.get(f"{BASE}/rooms/{2**63}").status_code == 404


def test_filter_by_local_day(client, conference):
    day2 = client.get(f"{BASE}/sessions", query_string={"day": "2020-03-31"}).json
    assert [s["starts_at"][:10] for s in day2] == ["2020-03-31"] * 6
    assert client.get(f"{BASE}/sessions", query_string={"day": "2020-04-01"}).json == []
    assert client.get(f"{BASE}/sessions", query_string={"day": "31/03"}).status_code == 422


def test_time_filters_take_any_offset_and_reject_naive(client, conference):
    after = client.get(f"{BASE}/sessions",
                       query_string={"ends_after": "2020-03-31T12:00:00Z"}).json
    # 12:00 UTC is 14:00 in Vienna: lunch (until 14:45), panel 4 and closing remain.
    assert [s["kind"] for s in after] == ["lunch", "panel", "closing"]
    naive = client.get(f"{BASE}/sessions", query_string={"ends_after": "2020-03-31T12:00:00"})
    assert naive.status_code == 422
    assert naive.json["code"] == 422
    assert "ends_after" in naive.json["errors"]["query"]


def test_unknown_kind_is_422(client, conference):
    response = client.get(f"{BASE}/sessions", query_string={"kind": "party"})
    assert response.status_code == 422
    assert "kind" in response.json["errors"]["query"]


@pytest.mark.parametrize("path", [
    "/sessions", "/rooms", "", "/sessions?kind=panel",
])
def test_polled_reads_carry_etags(client, conference, path):
    first = client.get(BASE + path)
    etag = first.headers["ETag"]
    again = client.get(BASE + path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert client.get(BASE + path, headers={"If-None-Match": '"other"'}).status_code == 200


def test_etag_changes_when_the_agenda_changes(app, client, conference):
    """The live tables change only by a release (releases.py); the kept answer follows."""
    from companion.extensions import db
    from companion.schedule import drafts, releasing, states

    etag = client.get(f"{BASE}/sessions").headers["ETag"]
    session = conference.sessions[4]
    state = {**states.session_state(session), "status": "cancelled"}
    drafts.put_draft(conference, "session", session.id, state)
    db.session.commit()
    assert client.get(f"{BASE}/sessions", headers={"If-None-Match": etag}).status_code == 304
    releasing.publish(conference, None, "Cancelled")
    db.session.commit()
    response = client.get(f"{BASE}/sessions", headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response.json[4]["status"] == "cancelled"


def test_collections_are_paginated(client, conference):
    response = client.get(f"{BASE}/sessions", query_string={"page": 2, "page_size": 5})
    assert len(response.json) == 5
    assert '"total": 12' in response.headers["X-Pagination"]
    too_big = client.get(f"{BASE}/sessions", query_string={"page_size": 100000})
    assert too_big.status_code == 422
    # far past the end: empty, not an OFFSET overflow in the database
    beyond = client.get(f"{BASE}/sessions", query_string={"page": 10**20})
    assert beyond.status_code == 200
    assert beyond.json == []


PAGINATION_KEYS = {"total", "total_pages", "first_page", "last_page", "page",
                   "previous_page", "next_page"}


@pytest.mark.parametrize("query,expected", [
    ({"page_size": 5}, (12, 3, 1, None, 2)),
    ({"page": 2, "page_size": 5}, (12, 3, 2, 1, 3)),
    ({"page": 3, "page_size": 5}, (12, 3, 3, 2, None)),
    ({"page": 9, "page_size": 5}, (12, 3, 9, 3, None)),  # past the end
    ({"ends_after": "2030-01-01T00:00:00Z"}, (0, 1, 1, None, None)),  # empty: one empty page
    ({"ends_after": "2030-01-01T00:00:00Z", "page": 2}, (0, 1, 2, 1, None)),
])
def test_x_pagination_has_the_same_keys_on_every_page(client, conference, query, expected):
    response = client.get(f"{BASE}/sessions", query_string=query)
    assert response.status_code == 200
    meta = json.loads(response.headers["X-Pagination"])
    assert set(meta) == PAGINATION_KEYS
    assert (meta["total"], meta["total_pages"], meta["page"], meta["previous_page"],
            meta["next_page"]) == expected
    assert (meta["first_page"], meta["last_page"]) == (1, meta["total_pages"])


def test_an_empty_list_of_ones_own_has_every_pagination_key(client, make_attendee, bearer):
    response = client.get("/api/v1/me/bookmarks", headers=bearer(make_attendee()))
    assert response.json == []
    assert json.loads(response.headers["X-Pagination"]) == {
        "total": 0, "total_pages": 1, "first_page": 1, "last_page": 1, "page": 1,
        "previous_page": None, "next_page": None}


def test_room_details_are_never_invented(client, conference):
    rooms = client.get(f"{BASE}/rooms").json
    assert len(rooms) == 1
    room = rooms[0]
    assert room["name"] == "Neuer Saal"
    assert room["building"] == "Hofburg Congress Center"
    assert room["address"] == "Heldenplatz, 1014 Vienna"
    assert room["directions"] == "Entrance from Heldenplatz"
    for unknown in ("capacity", "floor", "accessibility", "interpretation", "map_url"):
        assert room[unknown] is None
    assert client.get(f"{BASE}/rooms/{room['id']}").json == room
    assert client.get(f"{BASE}/rooms/424242").status_code == 404


def test_event_info(client, conference):
    events = client.get("/api/v1/events").json
    assert [e["slug"] for e in events] == ["alliance-2020"]
    event = client.get(BASE).json
    assert event["name"] == "20th Conference of the Alliance against Trafficking in Persons"
    assert event["subtitle"] == "Ending Impunity"
    assert event["starts_on"] == "2020-03-30"
    assert event["ends_on"] == "2020-03-31"
    assert event["timezone"] == "Europe/Vienna"
    assert event["venue"] == "Hofburg (Neuer Saal), Vienna"
    assert event["languages"] == ["en", "fr", "de", "it", "ru", "es"]
    assert event["hashtags"] == ["#CTHB20"]
    assert event["twitter"] == "@osce_cthb"
    assert event["url"] == "http://www.osce.org/event/alliance20"
