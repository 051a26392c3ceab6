"""Retries and double clicks done once: the Idempotency-Key header on every POST that
pushes or releases, the console's forms each with a key of their own, and real
concurrent requests on PostgreSQL.

The event is moved to 2027 so that it lies ahead and sessions can be delayed; pushes are
counted as the outbox rows the requests wrote, and the announcement's are sent through
the real firebase-admin to the fake FCM.
"""

import re
import threading
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa
from sqlalchemy import func, select, update
from werkzeug.serving import make_server

from companion import auth
from companion.extensions import db
from companion.idempotency import IdempotencyKey
from companion.networking.models import ContactRequest
from companion.organising.models import Announcement, Ping
from companion.people.models import Attendee
from companion.schedule import operations as schedule_ops
from companion.schedule.models import ScheduleVersion, Session, SessionPerson
from companion.timeutil import utcnow
from notifications.models import OutboxMessage

API = "/api/v1/events/alliance-2020"
SHAPE = {"code", "status", "message", "errors"}
CODE = "7KQ4-MX2P-9DHT"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ONCE = re.compile(r'name="idempotency_key" value="([0-9a-f]{32})"')
ANNOUNCEMENT = {"title": "Coffee", "body": "In the foyer.", "audience": "all"}


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def releases_since(before: int) -> int:
    """Schedule versions released since there were ``before`` (the seed makes some)."""
    return count(ScheduleVersion) - before


def pushes(kind: str) -> dict[int, int]:
    """Outbox rows of ``kind`` per attendee."""
    db.session.expire_all()
    return dict(db.session.execute(select(OutboxMessage.attendee_id, func.count())
                                   .where(OutboxMessage.kind == kind)
                                   .group_by(OutboxMessage.attendee_id)).all())


def assert_error(response, code):
    assert response.status_code == code, response.get_data(as_text=True)
    assert set(response.json) == SHAPE


def keyed(headers: dict, key: str) -> dict:
    return {**headers, "Idempotency-Key": key}


@pytest.fixture
def panel_3(conference_ahead) -> Session:
    return db.session.scalar(select(Session).where(Session.key == "panel-3"))


@pytest.fixture
def cast(panel_3, make_attendee, add_device, bearer):
    """Two organisers, a moderator and two speakers of Panel 3, an attendee; phones."""
    who = {
        "olga": make_attendee(code=CODE, roles=["organiser"], name="Olga Organiser"),
        "otto": make_attendee(code=CODE, roles=["organiser"], name="Otto Organiser"),
        "mo": make_attendee(code=CODE, roles=["moderator"], name="Mo Moderator"),
        "sam": make_attendee(roles=["speaker"], name="Sam Speaker"),
        "sue": make_attendee(roles=["speaker"], name="Sue Speaker"),
        "ada": make_attendee(name="Ada Attendee", directory_visible=True),
    }
    for name, attendee in who.items():
        add_device(attendee, token=f"fid-{name}")
    db.session.add_all([
        SessionPerson(session_id=panel_3.id, attendee_id=who["sam"].id, role="speaker"),
        SessionPerson(session_id=panel_3.id, attendee_id=who["sue"].id, role="speaker"),
        SessionPerson(session_id=panel_3.id, attendee_id=who["mo"].id, role="moderator"),
    ])
    db.session.commit()
    return {name: (attendee, bearer(attendee)) for name, attendee in who.items()}


# --- the API: the same key gets the first answer and does nothing more -----------------

def test_a_retried_announcement_is_one_announcement_and_one_push_each(client, cast, fcm,
                                                                      dispatch):
    olga = cast["olga"][1]
    answers = [client.post(f"{API}/announcements", json=ANNOUNCEMENT,
                           headers=keyed(olga, "9c1f4a2e-announce")) for _ in range(3)]

    assert {a.status_code for a in answers} == {201}
    assert answers[1].get_data() == answers[0].get_data() == answers[2].get_data()
    assert answers[2].json["id"] == answers[0].json["id"]
    assert count(Announcement) == 1
    assert set(pushes("announcement").values()) == {1}
    assert len(pushes("announcement")) == len(cast)
    dispatch()
    targets = [received.target for received in fcm.received]
    assert sorted(targets) == sorted(f"fid-{name}" for name in cast)  # once each


def test_a_retried_publish_is_one_release(client, cast, panel_3):
    olga = cast["olga"][1]
    before = count(ScheduleVersion)
    edit = client.patch(f"{API}/sessions/{panel_3.id}", json={"title": "Panel 3: later"},
                        headers=olga)
    assert edit.status_code == 200, edit.json

    first = client.post(f"{API}/schedule/publish", json={"note": "Retitled"},
                        headers=keyed(olga, "publish-1"))
    again = client.post(f"{API}/schedule/publish", json={"note": "Retitled"},
                        headers=keyed(olga, "publish-1"))

    assert first.status_code == again.status_code == 201, again.json
    assert again.get_data() == first.get_data()
    assert releases_since(before) == 1
    assert set(pushes("schedule_change").values()) == {1}
    # without the key, the second would have said 409: nothing to release
    assert_error(client.post(f"{API}/schedule/publish", json={"note": "Retitled"},
                             headers=olga), 409)


def test_a_retried_delay_moves_the_session_once(client, cast, panel_3):
    olga = cast["olga"][1]
    before = count(ScheduleVersion)
    starts = panel_3.starts_at
    answers = [client.post(f"{API}/sessions/{panel_3.id}/delay", json={"minutes": 10},
                           headers=keyed(olga, "late-1")) for _ in range(2)]

    assert [a.status_code for a in answers] == [201, 201]
    assert answers[1].get_data() == answers[0].get_data()
    assert releases_since(before) == 1
    db.session.expire_all()
    assert db.session.get(Session, panel_3.id).starts_at == starts + timedelta(minutes=10)
    assert set(pushes("schedule_change").values()) == {1}


def test_a_retried_ping_is_one_ping_and_one_push_per_speaker(client, cast, panel_3):
    mo = cast["mo"][1]
    url = f"/api/v1/sessions/{panel_3.id}/pings"
    answers = [client.post(url, json={"template": "to_stage"}, headers=keyed(mo, "ping-1"))
               for _ in range(3)]

    assert {a.status_code for a in answers} == {201}
    assert answers[2].get_data() == answers[0].get_data()
    assert count(Ping) == 1
    assert pushes("ping") == {cast["sam"][0].id: 1, cast["sue"][0].id: 1}


def test_a_retried_contact_request_is_one_request_one_push_and_counts_once(client, cast):
    """Asking twice was one request already; now a retry is not another attempt against
    CONTACT_REQUEST_LIMIT either (without a key the second is a 429 here)."""
    client.application.config["CONTACT_REQUEST_LIMIT"] = "1 per hour"
    olga, ada = cast["olga"][1], cast["ada"][0]
    body = {"attendee_id": ada.id}
    answers = [client.post("/api/v1/me/contacts", json=body, headers=keyed(olga, "ask-ada"))
               for _ in range(3)]

    assert [a.status_code for a in answers] == [202] * 3
    assert answers[2].get_data() == answers[0].get_data()
    assert count(ContactRequest) == 1
    assert pushes("contact_request") == {ada.id: 1}
    assert_error(client.post("/api/v1/me/contacts", json=body, headers=olga), 429)


def test_the_same_key_with_another_body_is_a_422(client, cast, panel_3):
    olga = cast["olga"][1]
    assert client.post(f"{API}/announcements", json=ANNOUNCEMENT,
                       headers=keyed(olga, "k-1")).status_code == 201

    other = client.post(f"{API}/announcements", json={**ANNOUNCEMENT, "body": "Upstairs."},
                        headers=keyed(olga, "k-1"))
    elsewhere = client.post(f"/api/v1/sessions/{panel_3.id}/pings",
                            json={"template": "to_stage"}, headers=keyed(olga, "k-1"))

    assert_error(other, 422)
    assert "Idempotency-Key" in other.json["errors"]
    assert_error(elsewhere, 422)  # another path is another request too
    assert count(Announcement) == 1 and count(Ping) == 0


def test_keys_are_each_attendees_own(client, cast):
    for name in ("olga", "olga", "otto", "otto"):
        response = client.post(f"{API}/announcements", json=ANNOUNCEMENT,
                               headers=keyed(cast[name][1], "same-key"))
        assert response.status_code == 201
    assert count(Announcement) == 2
    assert db.session.scalars(select(Announcement.author_id).order_by(Announcement.id)).all() \
        == [cast["olga"][0].id, cast["otto"][0].id]


def test_after_24_hours_the_key_is_free_again(client, cast):
    olga = cast["olga"][1]
    assert client.post(f"{API}/announcements", json=ANNOUNCEMENT,
                       headers=keyed(olga, "daily")).status_code == 201
    db.session.execute(update(IdempotencyKey).values(
        created_at=utcnow() - timedelta(hours=24, seconds=1)))
    db.session.commit()

    response = client.post(f"{API}/announcements", json=ANNOUNCEMENT,
                           headers=keyed(olga, "daily"))

    assert response.status_code == 201
    assert count(Announcement) == 2
    # the expired row is gone, the new one kept
    assert count(IdempotencyKey) == 1


def test_a_refused_request_keeps_no_key_and_its_retry_does_the_work(client, cast, panel_3):
    """The key's row is written in the request's transaction: a refusal rolls it back."""
    olga = cast["olga"][1]
    before = count(ScheduleVersion)
    nothing = client.post(f"{API}/schedule/publish", json={"note": "Now"},
                          headers=keyed(olga, "publish-now"))
    assert_error(nothing, 409)  # nothing to release yet
    assert count(IdempotencyKey) == 0
    client.patch(f"{API}/sessions/{panel_3.id}", json={"title": "Panel 3!"}, headers=olga)

    response = client.post(f"{API}/schedule/publish", json={"note": "Now"},
                           headers=keyed(olga, "publish-now"))
    again = client.post(f"{API}/schedule/publish", json={"note": "Now"},
                        headers=keyed(olga, "publish-now"))

    assert response.status_code == again.status_code == 201
    assert releases_since(before) == 1


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "caf\u00e9"])
def test_a_key_that_cannot_be_one_is_a_422(client, cast, key):
    response = client.post(f"{API}/announcements", json=ANNOUNCEMENT,
                           headers={**cast["olga"][1], "Idempotency-Key": key})
    assert_error(response, 422)
    assert count(Announcement) == 0


def test_a_structured_field_string_key_is_the_same_key(client, cast):
    olga = cast["olga"][1]
    for key in ('"8e03978e-40d5"', "8e03978e-40d5"):
        assert client.post(f"{API}/announcements", json=ANNOUNCEMENT,
                           headers=keyed(olga, key)).status_code == 201
    assert count(Announcement) == 1


def test_the_header_is_documented_on_each_operation_that_takes_it(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    operations = [("/api/v1/events/{slug}/schedule/publish", "post"),
                  ("/api/v1/events/{slug}/schedule/import", "post"),
                  ("/api/v1/events/{slug}/sessions/{session_id}/delay", "post"),
                  ("/api/v1/events/{slug}/announcements", "post"),
                  ("/api/v1/sessions/{session_id}/pings", "post"),
                  ("/api/v1/me/contacts", "post")]
    for path, method in operations:
        parameters = paths[path][method].get("parameters", [])
        assert {"in": "header", "name": "Idempotency-Key"}.items() <= next(
            p for p in parameters if p["name"] == "Idempotency-Key").items(), path
    assert "429" in paths["/api/v1/events/{slug}/announcements"]["post"]["responses"]


# --- the console: each rendered form is done once --------------------------------------

@pytest.fixture
def organiser(client, cast):
    page = client.get("/console/sign-in").text
    response = client.post("/console/sign-in", data={
        "csrf_token": CSRF.search(page).group(1), "email": cast["olga"][0].email,
        "access_code": CODE})
    assert response.status_code == 302
    return client


def rendered_form(client, url: str) -> dict:
    page = client.get(url).text
    return {"csrf_token": CSRF.search(page).group(1), "idempotency_key": ONCE.search(page)[1]}


def test_an_announcement_form_sent_twice_goes_out_once(organiser, cast):
    form = {**rendered_form(organiser, "/console/announcements"), "title": "Coffee",
            "body": "In the foyer.", "audience": "all", "priority": "normal", "when": "now"}

    first = organiser.post("/console/announcements", data=form)
    second = organiser.post("/console/announcements", data=form, follow_redirects=True)

    assert first.status_code == 302
    assert "sent already" in second.text
    assert count(Announcement) == 1
    assert set(pushes("announcement").values()) == {1}
    # a fresh form is a new announcement
    again = {**form, **rendered_form(organiser, "/console/announcements")}
    assert again["idempotency_key"] != form["idempotency_key"]
    assert organiser.post("/console/announcements", data=again).status_code == 302
    assert count(Announcement) == 2


def test_a_confirmed_release_sent_twice_is_released_once(organiser, cast, panel_3):
    client = organiser
    before = count(ScheduleVersion)
    assert client.patch(f"{API}/sessions/{panel_3.id}", json={"title": "Panel 3, later"},
                        headers=cast["olga"][1]).status_code == 200
    version = str(before + 1)
    page = client.post("/console/release", data={
        **rendered_form(client, "/console/release"), "version": version, "note": "Later"}).text
    assert f"Confirm release of version {version}" in page
    confirm = {"csrf_token": CSRF.search(page)[1], "idempotency_key": ONCE.search(page)[1],
               "version": version, "note": "Later", "confirmed": "1"}

    first = client.post("/console/release", data=confirm)
    second = client.post("/console/release", data=confirm)

    assert first.status_code == second.status_code == 302  # the same answer, not a 409
    assert second.headers["Location"] == first.headers["Location"]
    assert releases_since(before) == 1


def test_a_ping_button_pressed_twice_pings_once_and_the_next_press_pings_again(
        client, cast, panel_3):
    page = client.get("/console/sign-in").text
    client.post("/console/sign-in", data={"csrf_token": CSRF.search(page)[1],
                                          "email": cast["mo"][0].email, "access_code": CODE})
    form = {**rendered_form(client, "/console/moderate"), "template": "to_stage"}
    url = f"/console/sessions/{panel_3.id}/pings"

    first = client.post(url, data=form, headers={"HX-Request": "true"})
    second = client.post(url, data=form, headers={"HX-Request": "true"})

    assert first.status_code == second.status_code == 200
    assert second.text == first.text
    assert count(Ping) == 1
    # the answer gives the form (which htmx keeps on the page) a fresh key
    fresh = re.search(r'id="ping-key-\d+" value="([0-9a-f]{32})" hx-swap-oob="true"',
                      first.text)[1]
    assert fresh != form["idempotency_key"]
    assert client.post(url, data={**form, "idempotency_key": fresh},
                       headers={"HX-Request": "true"}).status_code == 200
    assert count(Ping) == 2


# --- real concurrent requests on PostgreSQL ---------------------------------------------

@pytest.fixture
def pg_served(pg_conference):
    """The app on PostgreSQL, served over HTTP by a threaded werkzeug server on a free
    local port; an organiser with a token and a signed-in console session."""
    app = pg_conference
    app.config["IDEMPOTENCY_WAIT"] = 10
    with app.app_context():
        olga = Attendee(event_id=schedule_ops.get_event("alliance-2020").id,
                        email="olga@example.org", name="Olga", roles=["organiser"])
        olga.access_code_hash = auth.hash_access_code(CODE)
        db.session.add(olga)
        db.session.commit()
        token, _ = auth.issue_token(olga)
        db.session.commit()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}", {"Authorization": f"Bearer {token}"}
    server.shutdown()
    thread.join()
    server.server_close()


def at_once(senders: int, send) -> list[requests.Response]:
    """``send()`` from ``senders`` threads released at one moment."""
    start = threading.Barrier(senders)
    answers: list = [None] * senders

    def run(index: int):
        start.wait()
        answers[index] = send()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return answers


def announcements_in(app) -> int:
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(Announcement))
        db.session.remove()
        return total


def test_four_concurrent_identical_announcements_with_one_key_are_one(pg_served):
    app, url, olga = pg_served
    answers = at_once(4, lambda: requests.post(
        f"{url}{API}/announcements", json=ANNOUNCEMENT, timeout=30,
        headers=keyed(olga, "concurrent-1")))

    assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
    assert len({a.content for a in answers}) == 1
    assert announcements_in(app) == 1


def test_four_concurrent_submits_of_one_console_form_are_one(pg_served):
    app, url, _ = pg_served
    browser = requests.Session()
    page = browser.get(f"{url}/console/sign-in", timeout=10).text
    assert browser.post(f"{url}/console/sign-in", allow_redirects=False, timeout=10, data={
        "csrf_token": CSRF.search(page)[1], "email": "olga@example.org",
        "access_code": CODE}).status_code == 302
    page = browser.get(f"{url}/console/announcements", timeout=10).text
    form = {"csrf_token": CSRF.search(page)[1], "idempotency_key": ONCE.search(page)[1],
            "title": "Coffee", "body": "In the foyer.", "audience": "all",
            "priority": "normal", "when": "now"}

    answers = at_once(4, lambda: browser.post(f"{url}/console/announcements", data=form,
                                              allow_redirects=False, timeout=30))

    assert [a.status_code for a in answers] == [302] * 4, [a.text[:300] for a in answers]
    assert announcements_in(app) == 1


def test_a_key_whose_request_is_still_in_hand_is_a_409_after_the_wait(pg_served):
    """Another transaction holds the key's row (a request in hand): the second one waits
    IDEMPOTENCY_WAIT, then answers 409 and does nothing."""
    app, url, olga = pg_served
    app.config["IDEMPOTENCY_WAIT"] = 0.3
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.connect() as holder:
            olga_id = holder.scalar(select(Attendee.id).where(Attendee.name == "Olga"))
            holder.execute(sa.insert(IdempotencyKey).values(
                attendee_id=olga_id, key="in-hand", fingerprint="0" * 64,
                created_at=utcnow()))
            response = requests.post(f"{url}{API}/announcements", json=ANNOUNCEMENT,
                                     headers=keyed(olga, "in-hand"), timeout=10)
            holder.rollback()
    finally:
        engine.dispose()

    assert response.status_code == 409, response.text
    assert set(response.json()) == SHAPE
    assert "still in progress" in response.json()["message"]
    assert announcements_in(app) == 0
