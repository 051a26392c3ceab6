"""Any conference through one door: `events import`, `POST .../schedule/import` and the
console's Import page bring a programme in as a new event (its first release) or as a new
version of one (a draft, or a release with its pushes to exactly those affected)."""

import copy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from companion import auth
from companion.extensions import db
from companion.people.models import Attendee, Bookmark, Device
from companion.schedule.models import ScheduleVersion
from notifications.models import OutboxMessage

SLUG = "summit-2026"
API = f"/api/v1/events/{SLUG}"

PROGRAMME = {
    "event": {"slug": "summit", "name": "Summit on Justice", "starts_on": "2026-03-28",
              "ends_on": "2026-03-29", "timezone": "Europe/Vienna",
              "languages": ["en", "fr"], "reminder_kinds": []},
    "rooms": [{"key": "hall", "name": "Great Hall"}, {"key": "annex", "name": "Annex"}],
    "sessions": [
        {"key": "opening", "kind": "opening", "date": "2026-03-28", "starts": "09:00",
         "ends": "09:30", "room": "hall", "title": "Opening"},
        {"key": "talk-a", "kind": "talk", "date": "2026-03-28", "starts": "10:00",
         "ends": "11:00", "room": "hall", "title": "Talk A"},
        {"key": "talk-b", "kind": "talk", "date": "2026-03-28", "starts": "10:00",
         "ends": "11:00", "room": "annex", "title": "Talk B"},
        # the day after the switch to summer time (29 March 2026)
        {"key": "workshop", "kind": "workshop", "date": "2026-03-29", "starts": "09:00",
         "ends": "12:00", "room": "annex", "title": "Workshop"},
    ],
}


def second_version() -> dict:
    data = copy.deepcopy(PROGRAMME)
    talk_a, talk_b = data["sessions"][1], data["sessions"][2]
    talk_a.update(starts="11:30", ends="12:30")            # moved
    talk_b["title"] = "Talk B: revised"                    # retitled
    del data["sessions"][3]                                 # the workshop vanishes
    return data


@pytest.fixture
def write(tmp_path):
    def write(data: dict, name: str = "programme.json") -> str:
        path = tmp_path / name
        path.write_text(json.dumps(data), encoding="utf-8")
        return str(path)
    return write


@pytest.fixture
def imported(runner, write):
    result = runner.invoke(args=["events", "import", write(PROGRAMME), "--event", SLUG])
    assert result.exit_code == 0, result.output
    return result


def sessions_by_title(client) -> dict:
    return {s["title"]: s for s in client.get(f"{API}/sessions").json}


def person(roles=("attendee",), device=True, **fields) -> Attendee:
    event_id = db.session.scalar(select(ScheduleVersion.event_id).limit(1).order_by(
        ScheduleVersion.id.desc()))
    count = db.session.scalar(select(func.count()).select_from(Attendee))
    attendee = Attendee(event_id=event_id, email=f"p{count}@example.org",
                        name=f"Person {count}", roles=list(roles), **fields)
    db.session.add(attendee)
    db.session.flush()
    if device:
        db.session.add(Device(attendee_id=attendee.id, token=f"fid-{attendee.id}",
                              platform="android"))
    db.session.commit()
    return attendee


def follow(attendee, session_id):
    db.session.add(Bookmark(attendee_id=attendee.id, session_id=session_id))
    db.session.commit()


def told(attendee) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage.body).where(
        OutboxMessage.kind == "schedule_change", OutboxMessage.attendee_id == attendee.id)))


def headers(attendee) -> dict:
    token, _ = auth.issue_token(attendee)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def versions(client) -> list[int]:
    return [v["version"] for v in client.get(f"{API}/schedule/versions").json]


def test_a_new_slug_makes_the_event_as_its_first_release(imported, client, conference):
    assert f"{SLUG}: created version 1 (6 changes" in imported.output
    assert {e["slug"] for e in client.get("/api/v1/events").json} == {"alliance-2020", SLUG}
    event = client.get(API).json
    assert (event["name"], event["timezone"]) == ("Summit on Justice", "Europe/Vienna")
    sessions = sessions_by_title(client)
    assert sessions["Talk A"]["kind"] == "talk" and sessions["Workshop"]["kind"] == "workshop"
    assert sessions["Talk A"]["starts_at"] == "2026-03-28T10:00:00+01:00"
    assert sessions["Workshop"]["starts_at"] == "2026-03-29T09:00:00+02:00"  # summer time
    assert sessions["Talk A"]["room"]["name"] == "Great Hall"
    assert all(len(s["guid"]) == 36 for s in sessions.values())
    assert versions(client) == [1]


def test_a_second_version_released_tells_exactly_those_affected(imported, runner, write,
                                                                client):
    sessions = sessions_by_title(client)
    moved, retitled, gone, same = (person(), person(), person(), person())
    follow(moved, sessions["Talk A"]["id"])
    follow(retitled, sessions["Talk B"]["id"])
    follow(gone, sessions["Workshop"]["id"])
    follow(same, sessions["Opening"]["id"])
    result = runner.invoke(args=["events", "import", write(second_version()), "--event", SLUG,
                                 "--publish"])
    assert result.exit_code == 0, result.output
    assert f"{SLUG}: released version 2 (3 changes, 3 notified)" in result.output
    (version,) = client.get(f"{API}/schedule/versions").json[:1]
    kinds = {entry["title"]: [c["kind"] for c in entry["changes"]]
             for entry in version["changes"]}
    assert kinds == {"Talk A": ["moved"], "Talk B: revised": ["retitled"],
                     "Workshop": ["cancelled"]}
    assert [len(told(who)) for who in (moved, retitled, gone, same)] == [1, 1, 1, 0]
    assert "Workshop is cancelled" in told(gone)[0]
    after = sessions_by_title(client)
    assert after["Workshop"]["status"] == "cancelled"  # kept for phones
    assert after["Talk A"]["guid"] == sessions["Talk A"]["guid"]
    assert after["Talk A"]["id"] == sessions["Talk A"]["id"]


def test_the_same_file_again_releases_nothing(imported, runner, write, client):
    person_ = person()
    follow(person_, sessions_by_title(client)["Talk A"]["id"])
    result = runner.invoke(args=["events", "import", write(PROGRAMME), "--event", SLUG,
                                 "--publish"])
    assert result.exit_code == 0, result.output
    assert "no difference with the released agenda; nothing released" in result.output
    assert versions(client) == [1] and told(person_) == []


def test_without_publish_the_changes_wait_in_the_draft(imported, runner, write, client):
    organiser = person(roles=("attendee", "organiser"), device=False)
    result = runner.invoke(args=["events", "import", write(second_version()), "--event", SLUG])
    assert result.exit_code == 0, result.output
    assert "3 changes wait in the draft" in result.output
    draft = client.get(f"{API}/schedule/draft", headers=headers(organiser)).json
    assert len(draft["changes"]) == 3 and draft["version"] == 1
    assert versions(client) == [1]
    assert sessions_by_title(client)["Talk A"]["starts_at"] == "2026-03-28T10:00:00+01:00"


def test_a_broken_file_changes_nothing(imported, runner, tmp_path, client):
    broken = tmp_path / "broken.json"
    broken.write_text('{"event": {"slug": ', encoding="utf-8")
    result = runner.invoke(args=["events", "import", str(broken), "--event", SLUG,
                                 "--publish"])
    assert result.exit_code == 1
    assert "nothing changed" in result.output and "Traceback" not in result.output
    missing = runner.invoke(args=["events", "import", str(tmp_path / "nope.xml"),
                                  "--event", "other"])
    assert missing.exit_code == 1 and "nothing changed" in missing.output
    assert versions(client) == [1]
    assert {e["slug"] for e in client.get("/api/v1/events").json} == {SLUG}


def test_the_api_door_answers_the_draft_or_releases(imported, client):
    organiser = headers(person(roles=("attendee", "organiser"), device=False))
    body = json.dumps(second_version())
    url = f"{API}/schedule/import"
    assert client.post(url, data=body, content_type="application/json").status_code == 401
    attendee = headers(person(device=False))
    assert client.post(url, data=body, content_type="application/json",
                       headers=attendee).status_code == 403
    draft = client.post(url, data=body, content_type="application/json", headers=organiser)
    assert draft.status_code == 200, draft.json
    assert draft.json["released"] is False and len(draft.json["changes"]) == 3
    assert versions(client) == [1]
    released = client.post(f"{url}?publish=true", data=body,
                           content_type="application/json", headers=organiser)
    assert released.status_code == 200, released.json
    assert released.json["released"] is True and released.json["version"] == 2
    again = client.post(f"{url}?publish=true", data=body, content_type="application/json",
                        headers=organiser)
    assert again.json == {"version": 2, "released": False, "changes": [], "notified": 0,
                          "warnings": []}
    broken = client.post(url, data=b"{not json", content_type="application/json",
                         headers=organiser)
    assert broken.status_code in (400, 422) and set(broken.json) >= {"code", "message"}
    text = client.post(url, data=b"hello", content_type="text/plain", headers=organiser)
    assert text.status_code == 415
    assert versions(client) == [2, 1]


def test_an_import_retried_with_its_idempotency_key_gets_the_first_answer(imported, client):
    organiser = headers(person(roles=("attendee", "organiser"), device=False))
    keyed = {**organiser, "Idempotency-Key": "import-second-version"}
    body = json.dumps(second_version())
    answers = [client.post(f"{API}/schedule/import?publish=true", data=body,
                           content_type="application/json", headers=keyed) for _ in range(2)]

    assert [a.status_code for a in answers] == [200, 200]
    assert answers[1].get_data() == answers[0].get_data()  # not "released": false
    assert answers[1].json["released"] is True and answers[1].json["version"] == 2
    assert versions(client) == [2, 1]
    other = client.post(f"{API}/schedule/import", data=body, content_type="application/json",
                        headers=keyed)
    assert other.status_code == 422  # the same key, another request (no publish)


# --- frab XML and c3voc JSON, from a file and from a URL ---------------------------------

def shown(session: dict) -> tuple:
    return (session["guid"], session["title"], session["kind"], session["starts_at"],
            session["ends_at"], (session["room"] or {}).get("name"), session["topics"],
            session["language"], session["description"],
            [(p["id"], p["name"]) for p in session["speakers"]], session["status"])


def test_frab_xml_and_c3voc_json_of_one_programme_give_the_same_agenda(runner, tmp_path,
                                                                        client):
    from tests.test_schedule_sources import FRAB, c3voc_text
    (tmp_path / "camp.xml").write_text(FRAB, encoding="utf-8")
    (tmp_path / "camp.json").write_text(c3voc_text(), encoding="utf-8")
    for name, slug in (("camp.xml", "camp-xml"), ("camp.json", "camp-json")):
        result = runner.invoke(args=["events", "import", str(tmp_path / name),
                                     "--event", slug])
        assert result.exit_code == 0, result.output
        assert f"{slug}: created version 1" in result.output
        assert "warning:" in result.output  # the old frab guid that is no UUID
    xml = client.get("/api/v1/events/camp-xml/sessions").json
    json_ = client.get("/api/v1/events/camp-json/sessions").json
    assert [shown(s) for s in xml] == [shown(s) for s in json_]
    assert any(s["guid"] == "Xk3jF9aQ2mZ0tR7pL1wVbg" for s in xml)
    named = [s for s in xml if s["speakers"]]
    assert named and all(p["id"] is None for s in named for p in s["speakers"])
    assert client.get("/api/v1/events/camp-xml").json["timezone"] == "Europe/Berlin"
    # our own exports write the sources' guids back
    exported = client.get("/api/v1/events/camp-xml/schedule.xml").data.decode()
    assert 'guid="Xk3jF9aQ2mZ0tR7pL1wVbg"' in exported


class Programme(BaseHTTPRequestHandler):
    """A pretalx-like server: the programme with an ETag, 304 while it holds."""

    body, etag, seen, down = b"", '"1"', [], False

    def do_GET(self):
        kind = type(self)
        kind.seen.append(self.headers.get("If-None-Match"))
        if kind.down:
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.headers.get("If-None-Match") == kind.etag:
            self.send_response(304)
            self.send_header("ETag", kind.etag)
            self.end_headers()
        else:
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("ETag", kind.etag)
            self.send_header("Content-Length", str(len(kind.body)))
            self.end_headers()
            self.wfile.write(kind.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def programme_url():
    from tests.test_schedule_sources import FRAB
    server = ThreadingHTTPServer(("127.0.0.1", 0), Programme)
    Programme.body, Programme.etag, Programme.seen, Programme.down = (
        FRAB.encode(), '"1"', [], False)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/schedule.xml", FRAB
    server.shutdown()
    server.server_close()
    thread.join()


def test_a_url_is_synced_with_etags(runner, client, programme_url):
    url, frab = programme_url
    first = runner.invoke(args=["events", "import", url, "--event", "camp", "--publish"])
    assert first.exit_code == 0, first.output
    assert "camp: created version 1" in first.output
    again = runner.invoke(args=["events", "sync", "--once"])
    assert again.exit_code == 0, again.output
    assert "camp: not modified" in again.output
    assert Programme.seen == [None, '"1"']  # the second asked with the ETag: a 304
    follower = person()
    opening = next(s for s in client.get("/api/v1/events/camp/sessions").json
                   if s["title"] == "Opening")
    follow(follower, opening["id"])
    Programme.body, Programme.etag = frab.replace(
        "<title>Opening</title>", "<title>Welcome</title>").encode(), '"2"'
    changed = runner.invoke(args=["events", "sync", "--once"])
    assert changed.exit_code == 0, changed.output
    assert "camp: released version 2 (1 changes, 1 notified)" in changed.output
    assert len(told(follower)) == 1
    Programme.down = True
    failing = runner.invoke(args=["events", "sync", "--once"])
    assert failing.exit_code == 0
    assert "HTTP 503; nothing changed, tried again next time" in failing.output
    assert [v["version"] for v in client.get(
        "/api/v1/events/camp/schedule/versions").json] == [2, 1]


def test_renamed_people_are_a_speakers_change(runner, tmp_path, client):
    from tests.test_schedule_sources import FRAB
    source = tmp_path / "camp.xml"
    source.write_text(FRAB, encoding="utf-8")
    assert runner.invoke(args=["events", "import", str(source), "--event", "camp"]).exit_code == 0
    source.write_text(FRAB.replace("Carol Chen", "Carol Chen-Ito"), encoding="utf-8")
    result = runner.invoke(args=["events", "import", str(source), "--event", "camp",
                                 "--publish"])
    assert "camp: released version 2 (1 changes" in result.output, result.output
    (entry,) = client.get("/api/v1/events/camp/schedule/versions").json[0]["changes"]
    (change,) = entry["changes"]
    assert change == {"kind": "speakers_changed", "old": ["Bob Brandt", "Carol Chen"],
                      "new": ["Bob Brandt", "Carol Chen-Ito"]}


def test_a_file_that_names_no_zone_needs_one_its_offsets_cannot_pin(runner, tmp_path,
                                                                     client):
    """No time zone in the file: one fixed offset is that offset's zone; two offsets
    (a file across a switch to summer time) are refused without --timezone."""
    from tests.test_schedule_sources import C3VOC, c3voc_text
    document = copy.deepcopy(C3VOC)
    del document["schedule"]["conference"]["time_zone_name"]
    source = tmp_path / "camp.json"
    source.write_text(c3voc_text(document), encoding="utf-8")
    fixed = runner.invoke(args=["events", "import", str(source), "--event", "fixed"])
    assert fixed.exit_code == 0, fixed.output
    assert client.get("/api/v1/events/fixed").json["timezone"] == "Etc/GMT-2"
    text = source.read_text(encoding="utf-8").replace("2026-07-11T21:00:00+02:00",
                                                      "2026-07-11T20:00:00+01:00")
    source.write_text(text, encoding="utf-8")
    refused = runner.invoke(args=["events", "import", str(source), "--event", "mixed"])
    assert refused.exit_code == 1
    assert "give --timezone" in refused.output and "nothing changed" in refused.output
    given = runner.invoke(args=["events", "import", str(source), "--event", "mixed",
                                "--timezone", "Europe/Berlin"])
    assert given.exit_code == 0, given.output
