"""Issue 23 (Hardening II), points 6 to 12: inputs that still reached a 500 or broke
something for everyone. Each test names the point it covers; through HTTP (the Flask
test client, and gunicorn as configured for the connection after a 413) and the CLI."""

import csv
import io
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import vobject
from icalendar import Calendar
from lxml import etree
from sqlalchemy import select

from conftest import Workers

from companion.extensions import db
from companion.networking.models import Contact
from companion.people.calendar import feed_token
from companion.people.models import Attendee
from companion.schedule.models import DraftEdit, Room, Session, SessionPerson

API = "/api/v1/events/alliance-2020"
SHAPE = {"code", "status", "message", "errors"}
CODE = "7KQ4-MX2P-9DHT"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ROOT = Path(__file__).resolve().parents[1]
CONTROLS = ["\u000b", "\u001b", "\u0001", "\u007f", "\u0085", "\uffff"]
HEADER = "email,name,organisation,country,roles\n"


def assert_error(response, code):
    assert response.status_code == code, (response.status_code, response.get_data(as_text=True))
    assert set(response.json) == SHAPE
    assert response.json["code"] == code


@pytest.fixture
def organiser(make_attendee):
    return make_attendee(code=CODE, roles=["attendee", "organiser"], name="Olga Organiser")


def panel(key: str = "panel-1") -> Session:
    return db.session.scalar(select(Session).where(Session.key == key))


def drafts() -> int:
    return len(db.session.scalars(select(DraftEdit)).all())


# --- 6. instants outside the calendar ---------------------------------------------------

@pytest.mark.parametrize("query", [
    "ends_after=9999-12-31T23:59:59-12:00",
    "starts_before=9999-12-31T23:59:59-12:00",
    "ends_after=0001-01-01T00:00:00%2B01:00",
])
def test_6_a_sessions_filter_outside_the_calendar_is_422(client, conference, query):
    response = client.get(f"{API}/sessions?{query}")
    assert_error(response, 422)
    assert list(response.json["errors"]["query"]) == [query.split("=")[0]]


def test_6_the_last_instants_inside_are_answered(client, conference):
    for query in ("ends_after=9998-12-31T23:59:59Z", "starts_before=0002-01-01T00:00:00Z"):
        response = client.get(f"{API}/sessions?{query}")
        assert response.status_code == 200 and response.json == [], query


def test_6_an_organisers_time_outside_the_calendar_is_422(client, organiser, bearer, by_key):
    headers = bearer(organiser)
    late = {"kind": "panel", "title": "Late", "starts_at": "9999-12-31T23:30:00-05:00",
            "ends_at": "9999-12-31T23:45:00-05:00", "force": True}
    response = client.post(f"{API}/sessions", json=late, headers=headers)
    assert_error(response, 422)
    assert set(response.json["errors"]["json"]) == {"starts_at", "ends_at"}
    response = client.patch(f"{API}/sessions/{by_key['panel-1'].id}", headers=headers,
                            json={"starts_at": "0001-01-01T00:30:00+01:00", "force": True})
    assert_error(response, 422)
    assert drafts() == 0


@pytest.mark.parametrize("query", ["until=9999-12-31T23:59:59-12:00",
                                   "since=0001-01-01T00:00:00%2B14:00"])
def test_6_the_audits_bounds_outside_the_calendar_are_422(client, organiser, bearer, query):
    assert_error(client.get(f"{API}/audit?{query}", headers=bearer(organiser)), 422)


def test_6_an_announcement_sent_after_the_calendar_is_422(client, organiser, bearer):
    response = client.post(f"{API}/announcements", headers=bearer(organiser), json={
        "title": "Later", "body": "Much later", "audience": {"roles": ["attendee"]},
        "send_at": "9999-12-31T23:30:00-05:00"})
    assert_error(response, 422)


# --- 7. control characters --------------------------------------------------------------

@pytest.mark.parametrize("control", CONTROLS)
def test_7_control_characters_in_a_title_are_refused_at_the_door(client, organiser, bearer,
                                                                 by_key, control):
    headers = bearer(organiser)
    response = client.patch(f"{API}/sessions/{by_key['panel-1'].id}", headers=headers,
                            json={"title": f"Panel{control}1"})
    assert_error(response, 422)
    assert response.json["errors"] == {"json": [
        "Contains a control character (of them, only tab and line breaks are text)."]}
    response = client.post(f"{API}/rooms", headers=headers, json={"name": f"Room{control}"})
    assert_error(response, 422)
    response = client.patch("/api/v1/me", headers=headers,
                            json={"organisation": f"UN{control}ODC"})
    assert_error(response, 422)
    assert drafts() == 0


def test_7_line_breaks_only_where_a_field_is_multi_line(client, organiser, bearer, by_key):
    headers = bearer(organiser)
    url = f"{API}/sessions/{by_key['panel-1'].id}"
    for one_line in ({"title": "Panel\n1"}, {"title": "Panel\t1"}, {"topics": ["a\r\nb"]}):
        response = client.patch(url, headers=headers, json=one_line)
        assert_error(response, 422)
        assert set(response.json["errors"]["json"]) == set(one_line)
    response = client.patch(url, headers=headers,
                            json={"description": "First line\n\n\tindented\r\nlast"})
    assert response.status_code == 200, response.json
    me = client.patch("/api/v1/me", headers=headers, json={"bio": "One\nTwo", "title": "Dr"})
    assert me.status_code == 200, me.json
    assert_error(client.patch("/api/v1/me", headers=headers, json={"title": "Dr\nX"}), 422)
    response = client.post(f"{API}/announcements", headers=headers, json={
        "title": "Two\nlines", "body": "Body", "audience": {"roles": ["attendee"]}})
    assert_error(response, 422)
    assert set(response.json["errors"]["json"]) == {"title"}


@pytest.fixture
def stored_controls(conference, make_attendee):
    """Panel 1's title, a speaker's name and a room's name hold control characters, as
    they could be stored before they were refused."""
    speaker = make_attendee(name="Sam\u001b[31m Speaker", roles=["speaker"],
                            organisation="UN\u0001ODC")
    session = panel()
    session.title = "Panel\u000b 1\u0085"
    session.description = "Line one\nline two\u0007"
    session.room.name = "Neuer\u007f Saal"
    db.session.add(SessionPerson(session_id=session.id, attendee_id=speaker.id,
                                 role="speaker"))
    db.session.commit()
    return speaker


def free_of_controls(text: str) -> bool:
    return not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", text)


def test_7_the_exports_strip_what_is_stored(client, stored_controls):
    xml = client.get(f"{API}/schedule.xml")
    assert xml.status_code == 200
    root = etree.fromstring(xml.data)
    titles = root.xpath("//event[@id=$id]/title/text()", id=str(panel().id))
    assert titles == ["Panel 1"]
    assert "Sam[31m Speaker" in root.xpath("//person/text()")
    assert "Neuer Saal" in root.xpath("//room/@name")
    document = client.get(f"{API}/schedule.json")
    assert document.status_code == 200 and free_of_controls(document.text)
    assert "Panel 1" in document.text and "Line one\\nline two" in document.text
    ics = client.get(f"{API}/schedule.ics")
    assert ics.status_code == 200 and free_of_controls(ics.text)
    event = next(item for item in Calendar.from_ical(ics.data).walk("VEVENT")
                 if str(item["SUMMARY"]).startswith("Panel"))
    assert str(event["SUMMARY"]) == "Panel 1"
    description = str(event["DESCRIPTION"])
    assert description.startswith("Line one\nline two\n\nTopics")
    assert description.endswith("Speakers: Sam[31m Speaker")
    assert str(event["LOCATION"]).startswith("Neuer Saal")


def test_7_the_personal_calendar_strips_them_too(client, stored_controls, bearer):
    assert client.put(f"/api/v1/me/bookmarks/{panel().id}",
                      headers=bearer(stored_controls)).status_code == 200
    feed = client.get(f"/api/v1/calendars/{feed_token(stored_controls)}.ics")
    assert feed.status_code == 200, feed.text
    assert free_of_controls(feed.text) and "SUMMARY:Panel 1" in feed.text


def test_7_the_vcard_strips_them(client, make_attendee, bearer):
    me = make_attendee(name="Ada Lovelace")
    other = make_attendee(name="Bruno\u000b Keller", organisation="UN\u001bODC",
                          title="Dr\u0001", phone="+43\u00011", share_phone=True)
    db.session.add_all([Contact(owner_id=me.id, contact_id=other.id, via="card"),
                        Contact(owner_id=other.id, contact_id=me.id, via="card")])
    db.session.commit()
    response = client.get("/api/v1/me/contacts.vcf", headers=bearer(me))
    assert response.status_code == 200 and free_of_controls(response.text)
    card = vobject.readOne(response.text)
    assert card.fn.value == "Bruno Keller"
    assert card.org.value == ["UNODC"] and card.title.value == "Dr"
    assert card.tel.value == "+431"


def import_file(runner, tmp_path, text: str, *options):
    source = tmp_path / "attendees.csv"
    source.write_text(text, encoding="utf-8")
    codes = tmp_path / "codes.csv"
    result = runner.invoke(args=["attendees", "import", str(source), "--codes", str(codes),
                                 *options])
    return result, codes


@pytest.mark.parametrize("cell", ["Ada\u001b[2J Lovelace", "Ada\u000bLovelace",
                                  '"Ada\nLovelace"'])
def test_7_the_attendees_csv_refuses_control_characters_and_line_breaks_in_a_name(
        runner, conference, tmp_path, cell):
    result, _ = import_file(runner, tmp_path, HEADER + f"ada@example.org,{cell},,,\n")
    assert result.exit_code != 0
    assert "line 2: name:" in result.output
    assert db.session.scalar(select(Attendee)) is None


def console_token(client, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    return CSRF.search(page.text).group(1)


@pytest.fixture
def console(client, organiser):
    token = console_token(client, "/console/sign-in")
    response = client.post("/console/sign-in", data={
        "csrf_token": token, "email": organiser.email, "access_code": CODE})
    assert response.status_code == 302
    return client


@pytest.mark.parametrize("title", ["Panel\u000b3", "Panel\u001b3", "Panel\n3"])
def test_7_the_consoles_forms_refuse_them(console, conference, title):
    panel_3 = panel("panel-3").id
    url = f"/console/sessions/{panel_3}"
    response = console.post(url, data={
        "csrf_token": console_token(console, url), "title": title,
        "starts_at": "2020-03-31T11:00", "ends_at": "2020-03-31T12:30", "room_id": ""})
    assert response.status_code == 422
    assert drafts() == 0
    response = console.post("/console/announcements", data={
        "csrf_token": console_token(console, "/console/announcements"), "title": title,
        "body": "Body", "roles": "attendee"})
    assert response.status_code == 422


# --- 8. a NUL in the attendees' CSV ----------------------------------------------------------

@pytest.mark.parametrize("row", [
    "bob@example.org,Bob\x00 Builder,,,",
    "bob@example.org,Bob Builder,UN\x00ODC,,",
    "bob\x00@example.org,Bob Builder,,,",
    "bob@example.org,Bob Builder,,,attendee;\x00",
])
def test_8_a_nul_is_a_bad_row_like_any_other(runner, conference, tmp_path, row):
    text = HEADER + "ada@example.org,Ada Lovelace,,,\n" + row + "\n" \
        + "cy@example.org,Cy Twombly,,,\n"
    result, codes = import_file(runner, tmp_path, text, "--skip-bad")
    assert result.exit_code == 0, result.output
    assert "line 3:" in result.output and "Traceback" not in result.output
    for secret in ("ada@example.org", "cy@example.org", "access_code_hash", "INSERT"):
        assert secret not in result.output
    assert "2 created" in result.output and "1 bad row(s) skipped" in result.output
    emails = db.session.scalars(select(Attendee.email).order_by(Attendee.email)).all()
    assert emails == ["ada@example.org", "cy@example.org"]
    assert len(codes.read_text().splitlines()) == 3


# --- 9. formulas in the codes CSV ---------------------------------------------------------------

def test_9_the_codes_csv_quotes_what_a_spreadsheet_would_run(runner, conference, tmp_path):
    emails = ["=1+2@example.org", "+1-2@example.org", "-2+3@example.org", "ada@example.org"]
    text = HEADER + "".join(f"{email},Someone {n},,,\n" for n, email in enumerate(emails))
    result, codes = import_file(runner, tmp_path, text)
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(codes.read_text())))
    assert [row[0] for row in rows] == ["email", "'=1+2@example.org", "'+1-2@example.org",
                                        "'-2+3@example.org", "ada@example.org"]
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
               for row in rows for cell in row)
    stored = db.session.scalars(select(Attendee.email).order_by(Attendee.id)).all()
    assert stored == emails  # only the file's cells are quoted


# --- 10. nested objects on PATCH -----------------------------------------------------------

@pytest.mark.parametrize("body,field", [
    ({"facilities": [{}]}, "facilities"),
    ({"facilities": [{"kind": "wifi"}]}, "facilities"),
    ({"facilities": [{"name": "Wi-Fi"}]}, "facilities"),
    ({"interpretation": {"channels": ["1\n2"]}}, "interpretation"),
])
def test_10_a_rooms_patch_checks_nested_objects_as_post_does(client, organiser, bearer,
                                                             conference, body, field):
    headers = bearer(organiser)
    room = db.session.scalar(select(Room).order_by(Room.id))
    response = client.patch(f"{API}/rooms/{room.id}", headers=headers, json=body)
    assert_error(response, 422)
    assert list(response.json["errors"]["json"]) == [field]
    assert drafts() == 0
    assert_error(client.post(f"{API}/schedule/publish", headers=headers, json={}), 409)
    fine = client.patch(f"{API}/rooms/{room.id}", headers=headers,
                        json={"facilities": [{"kind": "wifi", "name": "Wi-Fi"}]})
    assert fine.status_code == 200, fine.json
    assert fine.json["name"] == room.name  # a PATCH still leaves out what it keeps


# --- 11. CR/LF in the console's next --------------------------------------------------------

@pytest.mark.parametrize("target", [
    "/console/agenda\r\nSet-Cookie: x=1", "/console/agenda\nX: y", "/console/\tagenda",
    "//evil.example/console/", "https://evil.example/console/",
    "/console/\\evil",
])
def test_11_sign_in_with_an_odd_next_goes_to_the_consoles_home(client, organiser, target):
    token = console_token(client, "/console/sign-in")
    response = client.post("/console/sign-in", query_string={"next": target}, data={
        "csrf_token": token, "email": organiser.email, "access_code": CODE})
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/"


def test_11_a_plain_next_is_still_followed(client, organiser):
    token = console_token(client, "/console/sign-in")
    response = client.post("/console/sign-in?next=/console/rooms", data={
        "csrf_token": token, "email": organiser.email, "access_code": CODE})
    assert response.headers["Location"] == "/console/rooms"


# --- 12. the connection after a 413 --------------------------------------------------------------

def test_12_a_413_says_connection_close(client):
    response = client.post("/api/v1/auth/login", data=b"{}", content_type="application/json",
                           environ_overrides={"CONTENT_LENGTH": str(10 * 1024 * 1024)})
    assert_error(response, 413)
    assert response.headers["Connection"] == "close"
    assert "Connection" not in client.get("/api/v1/events").headers


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def gunicorn(migrated):
    """gunicorn as the Procfile starts it (one worker); ``TEST_SERVER_PORT`` picks its port."""
    port = int(os.environ.get("TEST_SERVER_PORT") or free_port())
    env = {**os.environ, "DATABASE_URL": migrated, "PORT": str(port),
           "WEB_CONCURRENCY": "1", "WEB_THREADS": "2", "COMPANION_ENV": "development"}
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "--config", "gunicorn.conf.py"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert Workers.wait_for(lambda: listening(port) or server.poll() is not None, 30)
    assert server.poll() is None, "gunicorn did not start"
    yield port
    Workers.stop(server)  # SIGTERM, as a deployment stops it


def read_answer(connection: socket.socket) -> tuple[str, dict]:
    """The status line and headers of one answer, and as much of its body as it says."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        assert chunk, f"the server closed before answering: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, value in
               (line.split(":", 1) for line in lines)}
    while len(body) < int(headers.get("content-length", 0)):
        body += connection.recv(65536)
    return status, headers


def test_12_after_a_413_gunicorn_says_close_and_closes(gunicorn):
    with socket.create_connection(("127.0.0.1", gunicorn), timeout=10) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers = read_answer(connection)
        assert status.endswith("200 OK") and headers["connection"] == "keep-alive"
        connection.sendall(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\n"
                           b"Content-Type: application/json\r\n"
                           b"Content-Length: 10485760\r\n\r\n" + b"{" * 1024)
        status, headers = read_answer(connection)
        assert " 413 " in status
        assert headers["connection"] == "close"
        connection.settimeout(5)
        assert connection.recv(65536) == b""  # closed: nothing read as the next request
