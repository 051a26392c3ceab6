"""Sign-in, /me, bookmarks and the personal agenda over HTTP, including who may see what."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from companion.extensions import db
from companion.people.models import AccessToken, Bookmark
from companion.schedule.models import Event, Session, SessionPerson

SHAPE = {"code", "status", "message", "errors"}
CODE = "7KQ4-MX2P-9DHT"


def session_id(key: str) -> int:
    return db.session.scalar(select(Session.id).where(Session.key == key))


def login(client, email, code=CODE, **extra):
    return client.post("/api/v1/auth/login", json={"email": email, "access_code": code, **extra})


def assert_error(response, code):
    assert response.status_code == code, response.json
    assert set(response.json) == SHAPE
    assert response.json["code"] == code


# --- sign-in ---------------------------------------------------------------------

def test_login_returns_a_token_that_opens_me(client, make_attendee):
    ada = make_attendee(code=CODE, email="Ada@Example.org", name="Ada")
    response = login(client, " ada@example.ORG ", "7kq4 mx2p 9dht")
    assert response.status_code == 200
    body = response.json
    assert set(body) == {"token", "expires_at", "attendee"}
    assert body["attendee"]["id"] == ada.id
    expires = datetime.fromisoformat(body["expires_at"])
    assert expires.utcoffset() == expires.astimezone(ZoneInfo("Europe/Vienna")).utcoffset()
    assert abs(expires - datetime.now(timezone.utc) - timedelta(hours=720)) < timedelta(minutes=1)
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.json["name"] == "Ada"


@pytest.mark.parametrize("email,code", [
    ("ada@example.org", "7KQ4-MX2P-9DHX"),  # wrong code
    ("nobody@example.org", CODE),  # unknown email
    ("bob@example.org", CODE),  # someone else's code
])
def test_a_failed_login_is_401_and_says_nothing_more(client, make_attendee, email, code):
    make_attendee(code=CODE, email="ada@example.org")
    make_attendee(code="AAAA-BBBB-CCCC", email="bob@example.org")
    response = login(client, email, code)
    assert_error(response, 401)
    assert response.json["message"] == "Unknown email or access code"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert db.session.scalar(select(func.count(AccessToken.id))) == 0


def test_the_same_email_at_two_events_is_told_apart_by_code_or_event(client, make_attendee,
                                                                    conference):
    here = make_attendee(code=CODE, email="ada@example.org")
    other = Event(slug="alliance-2021", name="21st", starts_on=conference.starts_on,
                  ends_on=conference.ends_on, timezone="Europe/Vienna")
    db.session.add(other)
    db.session.commit()
    there = make_attendee(code="AAAA-BBBB-CCCC", email="ada@example.org", event=other)
    assert login(client, "ada@example.org").json["attendee"]["id"] == here.id
    assert login(client, "ada@example.org", "AAAA-BBBB-CCCC").json["attendee"]["id"] == there.id
    assert_error(login(client, "ada@example.org", event="alliance-2021"), 401)


@pytest.mark.parametrize("body", [
    {}, {"email": "ada@example.org"}, {"email": 42, "access_code": CODE},
    {"email": "ada@example.org", "access_code": "x" * 65},
    {"email": "a" * 300 + "@example.org", "access_code": CODE},
    {"email": "ada@example.org", "access_code": CODE, "admin": True},
])
def test_malformed_logins_are_422(client, make_attendee, body):
    make_attendee(code=CODE, email="ada@example.org")
    assert_error(client.post("/api/v1/auth/login", json=body), 422)


def test_retry_after_comes_only_with_the_429(client, make_attendee):
    make_attendee(code=CODE, email="ada@example.org")
    failed = login(client, "ada@example.org", "WRONG")
    assert_error(failed, 401)
    assert failed.headers["X-RateLimit-Remaining"] == "4"
    assert "Retry-After" not in failed.headers  # 4 tries are left: nothing to wait for
    signed_in = login(client, "ada@example.org")
    assert signed_in.status_code == 200
    assert "Retry-After" not in signed_in.headers
    for _ in range(4):
        login(client, "ada@example.org", "WRONG")
    refused = login(client, "ada@example.org", "WRONG")
    assert_error(refused, 429)
    assert 0 < int(refused.headers["Retry-After"]) <= 60


def test_logout_ends_only_that_token(client, make_attendee):
    make_attendee(code=CODE, email="ada@example.org")
    phone = {"Authorization": f"Bearer {login(client, 'ada@example.org').json['token']}"}
    laptop = {"Authorization": f"Bearer {login(client, 'ada@example.org').json['token']}"}
    assert client.post("/api/v1/auth/logout", headers=phone).status_code == 204
    assert_error(client.get("/api/v1/me", headers=phone), 401)
    assert_error(client.post("/api/v1/auth/logout", headers=phone), 401)
    assert client.get("/api/v1/me", headers=laptop).status_code == 200


def test_repeated_failures_get_429_even_with_the_right_code(app, client, make_attendee):
    app.config["LOGIN_FAILURE_LIMIT"] = "3 per minute"
    make_attendee(code=CODE, email="ada@example.org")
    make_attendee(code="AAAA-BBBB-CCCC", email="bob@example.org")
    for _ in range(3):
        assert_error(login(client, "ada@example.org", "WRONG"), 401)
    blocked = login(client, "ADA@example.org")
    assert_error(blocked, 429)
    assert blocked.json["message"] == "Too many failed sign-ins; try again later"
    assert int(blocked.headers["Retry-After"]) > 0
    assert db.session.scalar(select(func.count(AccessToken.id))) == 0
    # Someone else behind the same address (the venue's Wi-Fi) still gets in.
    assert login(client, "bob@example.org", "AAAA-BBBB-CCCC").status_code == 200


def test_successful_logins_are_not_limited(app, client, make_attendee):
    app.config["LOGIN_FAILURE_LIMIT"] = "2 per minute"
    make_attendee(code=CODE, email="ada@example.org")
    for _ in range(5):
        assert login(client, "ada@example.org").status_code == 200


def test_failures_from_one_address_are_limited_across_emails(app, client, make_attendee):
    app.config["LOGIN_FAILURE_LIMIT_PER_ADDRESS"] = "4 per hour"
    make_attendee(code=CODE, email="ada@example.org")
    for n in range(4):
        assert_error(login(client, f"guess{n}@example.org"), 401)
    assert_error(login(client, "ada@example.org"), 429)
    elsewhere = client.post("/api/v1/auth/login", environ_base={"REMOTE_ADDR": "10.1.2.3"},
                            json={"email": "ada@example.org", "access_code": CODE})
    assert elsewhere.status_code == 200


# --- /me ---------------------------------------------------------------------------

def test_me_shows_the_defaults(client, make_attendee, bearer):
    ada = make_attendee(code=CODE, email="ada@example.org", name="Ada", organisation="OSCE",
                        country="Austria", roles=["attendee", "speaker"])
    assert client.get("/api/v1/me", headers=bearer(ada)).json == {
        "id": ada.id, "event": "alliance-2020", "email": "ada@example.org", "name": "Ada",
        "organisation": "OSCE", "country": "Austria", "language": "en",
        "roles": ["attendee", "speaker"], "reminder_minutes": 10,
        "notify": {"reminders": True, "schedule_changes": True, "announcements": True,
                   "networking": True},
        "directory_visible": False,
        "title": None, "bio": None, "topics": [], "languages_spoken": [], "phone": None,
        "links": [], "share_email": False, "share_phone": False, "share_links": False,
    }


def test_patch_me_changes_only_what_is_sent(client, make_attendee, bearer):
    ada, bob = make_attendee(), make_attendee()
    headers = bearer(ada)
    response = client.patch("/api/v1/me", headers=headers, json={
        "language": "fr", "reminder_minutes": 1, "notify": {"networking": False},
        "directory_visible": True,
    })
    assert response.status_code == 200
    me = response.json
    assert (me["language"], me["reminder_minutes"], me["directory_visible"]) == ("fr", 1, True)
    assert me["notify"] == {"reminders": True, "schedule_changes": True,
                            "announcements": True, "networking": False}
    again = client.patch("/api/v1/me", headers=headers, json={"notify": {"reminders": False}})
    assert again.json["notify"]["networking"] is False
    assert again.json["notify"]["reminders"] is False
    assert client.patch("/api/v1/me", headers=headers, json={}).json == again.json
    db.session.refresh(bob)
    assert (bob.language, bob.reminder_minutes, bob.directory_visible) == ("en", 10, False)


def test_patch_me_matches_a_phones_locale(client, conference, make_attendee, bearer):
    ada = make_attendee()
    headers = bearer(ada)
    assert client.patch("/api/v1/me", headers=headers, json={"language": "fr-CA"}
                        ).json["language"] == "fr"
    conference.languages = ["it", "en"]
    db.session.commit()
    response = client.patch("/api/v1/me", headers=headers, json={"language": "ja-JP"})
    assert response.status_code == 200
    assert response.json["language"] == "it"  # not served: the event's first, said back
    db.session.refresh(ada)
    assert ada.language == "it"


@pytest.mark.parametrize("body", [
    {"language": "x"}, {"language": "English" * 10_000}, {"language": None},
    {"language": "en-GB!"}, {"language": ["en"]},
    {"reminder_minutes": 121}, {"reminder_minutes": -1}, {"reminder_minutes": 0}, {"reminder_minutes": "10"},
    {"reminder_minutes": 10.5}, {"reminder_minutes": True},
    {"directory_visible": "yes"}, {"directory_visible": 1},
    {"notify": {"reminders": "off"}}, {"notify": {"sms": True}}, {"notify": None},
    {"notify": []}, {"email": "new@example.org"}, {"roles": ["organiser"]},
    {"name": "x" * 100_000}, {"id": 1},
])
def test_bad_preferences_are_422_and_change_nothing(client, make_attendee, bearer, body):
    ada = make_attendee()
    headers = bearer(ada)
    before = client.get("/api/v1/me", headers=headers).json
    assert_error(client.patch("/api/v1/me", headers=headers, json=body), 422)
    assert client.get("/api/v1/me", headers=headers).json == before


def test_a_non_json_body_is_an_error_in_the_shape(client, make_attendee, bearer):
    headers = bearer(make_attendee())
    response = client.patch("/api/v1/me", headers=headers, data="{not json",
                            content_type="application/json")
    assert 400 <= response.status_code < 500
    assert set(response.json) == SHAPE


# --- the personal agenda and bookmarks ---------------------------------------------

def test_panel_1_reminder_at_the_default_lead_in_vienna_time(client, make_attendee, bearer):
    response = client.get("/api/v1/me/schedule", headers=bearer(make_attendee()),
                          query_string={"event": "alliance-2020"})
    assert response.status_code == 200
    panel_1 = response.json[0]
    assert panel_1["session"]["title"].startswith("Panel 1")
    assert panel_1["session"]["starts_at"] == "2020-03-30T16:30:00+02:00"
    assert panel_1["reminder_at"] == "2020-03-30T16:20:00+02:00"
    assert panel_1["reasons"] == ["default"]
    assert panel_1["overlaps"] == []


def test_bookmarks_shape_the_agenda_and_are_idempotent(client, make_attendee, bearer):
    headers = bearer(make_attendee())
    keynote, panel_2 = session_id("keynotes"), session_id("panel-2")
    for _ in range(2):
        response = client.put(f"/api/v1/me/bookmarks/{keynote}", headers=headers)
        assert response.status_code == 200
        assert response.json == {"session_id": keynote, "following": True}
        assert client.delete(f"/api/v1/me/bookmarks/{panel_2}", headers=headers).status_code == 204
    titles = [i["session"]["title"][:7] for i in
              client.get("/api/v1/me/schedule", headers=headers).json]
    assert titles == ["Keynote", "Panel 1", "Network", "Panel 3", "Panel 4"]
    assert client.get("/api/v1/me/bookmarks", headers=headers).json == [
        {"session_id": keynote, "following": True},
        {"session_id": panel_2, "following": False},
    ]
    assert db.session.scalar(select(func.count()).select_from(Bookmark)) == 2
    # Following again brings a muted default back.
    client.put(f"/api/v1/me/bookmarks/{panel_2}", headers=headers)
    reasons = {i["session"]["id"]: i["reasons"]
               for i in client.get("/api/v1/me/schedule", headers=headers).json}
    assert reasons[panel_2] == ["default", "following"]


def test_the_agenda_has_an_etag_and_changes_with_a_bookmark(client, make_attendee, bearer):
    headers = bearer(make_attendee())
    first = client.get("/api/v1/me/schedule", headers=headers)
    etag = first.headers["ETag"]
    again = client.get("/api/v1/me/schedule", headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304
    client.put(f"/api/v1/me/bookmarks/{session_id('lunch')}", headers=headers)
    changed = client.get("/api/v1/me/schedule", headers={**headers, "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag


def test_moderators_see_their_panel_with_the_earlier_reminder(client, make_attendee, bearer):
    moderator = make_attendee(roles=["attendee", "moderator"])
    db.session.add(SessionPerson(session_id=session_id("panel-2"), attendee_id=moderator.id,
                                 role="moderator"))
    db.session.commit()
    items = client.get("/api/v1/me/schedule", headers=bearer(moderator)).json
    [panel_2] = [i for i in items if i["session"]["id"] == session_id("panel-2")]
    assert panel_2["reasons"] == ["default", "moderator"]
    assert panel_2["reminder_at"] == "2020-03-31T08:30:00+02:00"


@pytest.mark.parametrize("method,path,code", [
    ("put", "/api/v1/me/bookmarks/999999", 404),
    ("delete", "/api/v1/me/bookmarks/999999", 404),
    ("put", "/api/v1/me/bookmarks/abc", 404),
    ("put", "/api/v1/me/bookmarks/-1", 404),
    ("put", "/api/v1/me/bookmarks/" + "9" * 40, 404),
    ("get", "/api/v1/me/schedule?event=alliance-2021", 404),
    ("get", "/api/v1/me/schedule?event=" + "x" * 5000, 422),
    ("get", "/api/v1/me/schedule?page_size=100000", 422),
    ("post", "/api/v1/me/schedule", 405),
])
def test_bad_agenda_requests_are_4xx_and_change_nothing(client, make_attendee, bearer,
                                                        method, path, code):
    headers = bearer(make_attendee())
    assert_error(getattr(client, method)(path, headers=headers), code)
    assert db.session.scalar(select(func.count()).select_from(Bookmark)) == 0


def test_a_session_of_another_event_cannot_be_bookmarked(client, make_attendee, bearer,
                                                         conference):
    other = Event(slug="alliance-2021", name="21st", starts_on=conference.starts_on,
                  ends_on=conference.ends_on, timezone="Europe/Vienna")
    elsewhere = Session(event=other, kind="panel", title="Elsewhere",
                        starts_at=conference.sessions[0].starts_at,
                        ends_at=conference.sessions[0].ends_at)
    db.session.add_all([other, elsewhere])
    db.session.commit()
    headers = bearer(make_attendee())
    assert_error(client.put(f"/api/v1/me/bookmarks/{elsewhere.id}", headers=headers), 404)
    assert db.session.scalar(select(func.count()).select_from(Bookmark)) == 0


# --- nobody else's data ------------------------------------------------------------

PROTECTED = [
    ("get", "/api/v1/me"), ("patch", "/api/v1/me"), ("get", "/api/v1/me/schedule"),
    ("get", "/api/v1/me/bookmarks"), ("put", "/api/v1/me/bookmarks/{id}"),
    ("delete", "/api/v1/me/bookmarks/{id}"), ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/me/calendar"), ("post", "/api/v1/me/calendar"),
    ("delete", "/api/v1/me/calendar"),
]


@pytest.mark.parametrize("method,path", PROTECTED)
@pytest.mark.parametrize("token", ["missing", "garbage", "expired", "revoked"])
def test_protected_routes_need_a_live_token(client, make_attendee, bearer, method, path, token):
    ada = make_attendee()
    headers = bearer(ada)
    access = db.session.scalar(select(AccessToken))
    if token == "missing":
        headers = {}
    elif token == "garbage":
        headers = {"Authorization": "Bearer " + "x" * 43}
    elif token == "expired":
        access.expires_at = access.created_at
    else:
        access.revoked_at = access.created_at
    db.session.commit()
    response = getattr(client, method)(path.format(id=session_id("keynotes")), headers=headers,
                                       json={"language": "de"} if method == "patch" else None)
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    db.session.refresh(ada)
    assert (ada.language, ada.calendar_generation) == ("en", 0)
    assert db.session.scalar(select(func.count()).select_from(Bookmark)) == 0
    db.session.refresh(access)
    assert access.revoked_at is None or token == "revoked"


def test_each_attendee_sees_and_changes_only_their_own(client, make_attendee, bearer):
    ada = make_attendee(email="ada@example.org", name="Ada")
    bob = make_attendee(email="bob@example.org", name="Bob")
    as_ada, as_bob = bearer(ada), bearer(bob)
    client.put(f"/api/v1/me/bookmarks/{session_id('keynotes')}", headers=as_ada)
    client.patch("/api/v1/me", headers=as_ada, json={"reminder_minutes": 60})
    me = client.get("/api/v1/me", headers=as_bob).json
    assert (me["name"], me["email"], me["reminder_minutes"]) == ("Bob", "bob@example.org", 10)
    assert client.get("/api/v1/me/bookmarks", headers=as_bob).json == []
    bobs = client.get("/api/v1/me/schedule", headers=as_bob).json
    assert [i["session"]["kind"] for i in bobs] == ["panel", "networking", "panel", "panel",
                                                     "panel"]
    assert bobs[0]["reminder_at"] == "2020-03-30T16:20:00+02:00"
    # The public agenda never shows contact data of speakers.
    db.session.add(SessionPerson(session_id=session_id("panel-1"), attendee_id=ada.id,
                                 role="speaker"))
    db.session.commit()
    text = client.get("/api/v1/events/alliance-2020/sessions").get_data(as_text=True)
    assert "Ada" in text and "ada@example.org" not in text


def test_the_openapi_document_marks_protected_routes(client):
    spec = client.get("/api/v1/openapi.json").json
    for method, path in PROTECTED:
        operation = spec["paths"][path.replace("{id}", "{session_id}")][method]
        assert operation["security"] == [{"bearerAuth": []}], (method, path)
        assert "401" in operation["responses"]
    assert "security" not in spec["paths"]["/api/v1/auth/login"]["post"]
