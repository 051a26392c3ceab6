"""The console (/console/) through real HTTP requests of the Flask test client: sign-in
and its cookie, role gating, CSRF, and each page calling the operations the API calls.
The browser's click-through is tests/test_console_browser.py."""

import io
import json
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from companion.extensions import db
from companion.organising.audit import AuditEntry
from companion.organising.models import Announcement, Ping
from companion.schedule import operations as schedule_ops
from companion.schedule import drafts
from companion.schedule.models import DraftEdit, Room, ScheduleVersion, Session, SessionPerson
from notifications.models import OutboxMessage

CODE = "7KQ4-MX2P-9DHT"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ORGANISER_PAGES = ("/console/agenda", "/console/release", "/console/announcements",
                   "/console/announcements/list", "/console/rooms", "/console/audit")


def csrf_token(client, url: str = "/console/sign-in") -> str:
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    return CSRF.search(page.text).group(1)


def sign_in(client, who, code: str = CODE):
    return client.post("/console/sign-in", data={
        "csrf_token": csrf_token(client), "email": who.email, "access_code": code})


def session_id(key: str) -> int:
    return db.session.scalar(select(Session.id).where(Session.key == key))


@pytest.fixture
def cast(make_attendee, conference):
    """An organiser, a moderator and a speaker of Panel 3, an attendee: each with CODE."""
    who = {
        "organiser": make_attendee(code=CODE, roles=["organiser"], name="Olga Organiser"),
        "moderator": make_attendee(code=CODE, roles=["moderator"], name="Mo Moderator"),
        "speaker": make_attendee(code=CODE, roles=["speaker"], name="Sam Speaker"),
        "attendee": make_attendee(code=CODE, name="Ada Attendee"),
    }
    panel_3 = session_id("panel-3")
    db.session.add_all([
        SessionPerson(session_id=panel_3, attendee_id=who["speaker"].id, role="speaker"),
        SessionPerson(session_id=panel_3, attendee_id=who["moderator"].id, role="moderator"),
    ])
    db.session.commit()
    return who


@pytest.fixture
def organiser(client, cast):
    assert sign_in(client, cast["organiser"]).status_code == 302
    return client


# --- signing in ------------------------------------------------------------------------

def test_the_root_leads_to_the_console_and_it_to_sign_in(client):
    assert client.get("/").headers["Location"] == "/console/"
    response = client.get("/console/agenda")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/console/sign-in?next=/console/agenda")


def test_sign_in_keeps_the_session_in_a_strict_httponly_cookie(client, cast):
    response = sign_in(client, cast["organiser"])
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # plain HTTP here
    page = client.get("/console/agenda")
    assert "script-src 'self';" in page.headers["Content-Security-Policy"]
    assert page.headers["Referrer-Policy"] == "same-origin"  # Flask-WTF checks it on HTTPS
    assert page.headers["Cache-Control"] == "no-store"
    assert client.get("/console/", follow_redirects=True).request.path == "/console/agenda"


def test_the_cookie_is_secure_over_https(app, cast):
    client = app.test_client()
    token = CSRF.search(client.get("/console/sign-in", base_url="https://localhost").text)[1]
    # over HTTPS the token is good only with a Referer of the same origin (as browsers send)
    response = client.post("/console/sign-in", base_url="https://localhost", data={
        "csrf_token": token, "email": cast["organiser"].email, "access_code": CODE})
    assert response.status_code == 400 and "referrer" in response.text
    response = client.post("/console/sign-in", base_url="https://localhost", headers={
        "Referer": "https://localhost/console/sign-in"}, data={
        "csrf_token": token, "email": cast["organiser"].email, "access_code": CODE})
    assert response.status_code == 302
    assert "; Secure" in response.headers["Set-Cookie"]


def test_behind_a_tls_proxy_the_cookie_is_secure(make_app, cast):
    app = make_app(TRUSTED_PROXIES=1)
    client = app.test_client()
    proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.0.0.1"}
    token = CSRF.search(client.get("/console/sign-in", headers=proxied).text)[1]
    response = client.post("/console/sign-in", headers={**proxied, "Referer":
                           "https://localhost/console/sign-in"}, data={
        "csrf_token": token, "email": cast["organiser"].email, "access_code": CODE})
    assert response.status_code == 302, response.text
    assert "; Secure" in response.headers["Set-Cookie"]


def test_a_wrong_code_is_refused_and_a_sign_out_ends_the_session(client, cast):
    response = sign_in(client, cast["organiser"], code="AAAA-BBBB-CCCC")
    assert response.status_code == 401
    assert "Unknown email or access code" in response.text
    assert "Set-Cookie" not in response.headers or "token" not in response.headers[
        "Set-Cookie"]
    assert sign_in(client, cast["organiser"]).status_code == 302
    token = csrf_token(client, "/console/agenda")
    assert client.post("/console/sign-out", data={"csrf_token": token}).status_code == 302
    assert client.get("/console/agenda").status_code == 302  # back to sign-in


def test_failed_sign_ins_are_limited_as_the_apis_are(make_app, cast):
    client = make_app(LOGIN_FAILURE_LIMIT="2 per minute").test_client()
    for _ in range(2):
        assert sign_in(client, cast["organiser"], code="AAAA-BBBB-CCCC").status_code == 401
    response = sign_in(client, cast["organiser"])  # even the right code, for a while
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.text


def test_signing_out_everywhere_ends_the_console_session(client, cast):
    from companion import auth
    sign_in(client, cast["organiser"])
    assert client.get("/console/agenda").status_code == 200
    auth.revoke_all_tokens(cast["organiser"])
    db.session.commit()
    assert client.get("/console/agenda").status_code == 302


# --- who reaches what ------------------------------------------------------------------

@pytest.mark.parametrize("role", ["attendee", "speaker"])
def test_an_attendee_reaches_no_console_page(client, cast, role):
    assert sign_in(client, cast[role]).status_code == 302
    panel_3 = session_id("panel-3")
    room = db.session.scalar(select(Room.id))
    pages = (*ORGANISER_PAGES, "/console/", "/console/moderate",
             f"/console/sessions/{panel_3}", f"/console/sessions/{panel_3}/late",
             f"/console/sessions/{panel_3}/pings", f"/console/rooms/{room}")
    for url in pages:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "neither role" in response.text


def test_a_moderator_reaches_the_moderator_view_only(client, cast):
    assert sign_in(client, cast["moderator"]).status_code == 302
    assert client.get("/console/", follow_redirects=True).request.path == "/console/moderate"
    for url in ORGANISER_PAGES:
        assert client.get(url).status_code == 403, url
    page = client.get("/console/moderate").text
    assert "Panel 3" in page and "Sam Speaker" in page
    assert "Panel 1" not in page  # not theirs
    assert client.get(f"/console/sessions/{session_id('panel-1')}/pings").status_code == 403


# --- CSRF ------------------------------------------------------------------------------

def test_a_form_posted_without_its_csrf_token_is_refused(organiser, cast):
    panel_3 = session_id("panel-3")
    response = organiser.post(f"/console/sessions/{panel_3}", data={
        "title": "Hijacked", "starts_at": "2020-03-31T11:00", "ends_at": "2020-03-31T12:30"})
    assert response.status_code == 400
    assert "CSRF token is missing" in response.text
    response = organiser.post(f"/console/sessions/{panel_3}", data={
        "csrf_token": "forged", "title": "Hijacked"})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(DraftEdit)) == 0
    # the sign-in form too (login CSRF)
    assert organiser.post("/console/sign-in", data={
        "email": cast["organiser"].email, "access_code": CODE}).status_code == 400


def test_the_json_api_stays_free_of_csrf(client, cast, bearer):
    sign_in(client, cast["organiser"])  # a console cookie in the jar changes nothing
    response = client.post("/api/v1/auth/login", json={"email": cast["organiser"].email,
                                                       "access_code": CODE})
    assert response.status_code == 200
    response = client.patch(f"/api/v1/events/alliance-2020/sessions/{session_id('panel-3')}",
                            json={"title": "Panel 3"}, headers=bearer(cast["organiser"]))
    assert response.status_code == 200, response.json


# --- the agenda ------------------------------------------------------------------------

def test_the_timeline_shows_both_days_in_vienna_time_with_pending_changes(organiser):
    page = organiser.get("/console/agenda").text
    assert "Monday 30 March 2020" in page and "Tuesday 31 March 2020" in page
    # Panel 1: 14:30 UTC, 16:30 in Vienna (summer time since 29 March)
    assert re.search(r"16:30–18:00</td>\s*<td>Panel 1", page)
    panel_3 = session_id("panel-3")
    token = csrf_token(organiser, f"/console/sessions/{panel_3}")
    organiser.post(f"/console/sessions/{panel_3}", data={
        "csrf_token": token, "title": "Panel 3", "starts_at": "2020-03-31T11:30",
        "ends_at": "2020-03-31T13:00", "room_id": ""})
    page = organiser.get("/console/agenda").text
    row = re.search(rf'<tr id="session-{panel_3}".*?</tr>', page, re.S).group(0)
    assert "11:30–13:00" in row and "pending" in row
    for kind in ("moved", "room changed", "retitled"):
        assert f'<span class="badge">{kind}</span>' in row


def test_editing_shows_the_apis_messages_next_to_the_fields(organiser):
    panel_3 = session_id("panel-3")
    token = csrf_token(organiser, f"/console/sessions/{panel_3}")
    response = organiser.post(f"/console/sessions/{panel_3}", data={
        "csrf_token": token, "title": "", "starts_at": "2020-03-31T11:00",
        "ends_at": "2020-03-31T10:00", "online_url": "not a link"})
    assert response.status_code == 422
    page = response.text
    assert re.search(r'id="title"[^>]*aria-invalid="true"', page)
    assert re.search(r'id="title-error">Length must be between 1 and 300', page)
    assert 'id="online_url-error">Not a valid URL.' in page
    # the operation's own check (ends after it starts), next to ends_at
    response = organiser.post(f"/console/sessions/{panel_3}", data={
        "csrf_token": token, "title": "Panel 3", "starts_at": "2020-03-31T11:00",
        "ends_at": "2020-03-31T10:00"})
    assert response.status_code == 422
    assert 'id="ends_at-error">A session ends after it starts.' in response.text
    response = organiser.post(f"/console/sessions/{panel_3}", data={
        "csrf_token": token, "title": "Panel 3", "starts_at": "2020-04-02T11:00",
        "ends_at": "2020-04-02T12:00"})
    assert response.status_code == 422
    assert "Outside the event&#39;s days" in response.text
    response = organiser.post(f"/console/sessions/{panel_3}", data={
        "csrf_token": token, "title": "Panel 3", "starts_at": "tomorrow", "ends_at": ""})
    assert 'id="starts_at-error">Give a date and time' in response.text
    assert db.session.scalar(select(func.count()).select_from(DraftEdit)) == 0


def test_an_edit_is_the_apis_edit_speakers_moderators_link_and_cancel(organiser, cast):
    panel_3 = session_id("panel-3")
    room = db.session.scalar(select(Room.id))
    token = csrf_token(organiser, f"/console/sessions/{panel_3}")
    response = organiser.post(f"/console/sessions/{panel_3}", data={
        "csrf_token": token, "title": "Panel 3 (renamed)", "starts_at": "2020-03-31T11:00",
        "ends_at": "2020-03-31T12:30", "room_id": str(room),
        "speakers": [str(cast["speaker"].id), str(cast["attendee"].id)],
        "moderators": [str(cast["moderator"].id)],
        "online_url": "https://stream.example.org/panel-3", "cancelled": "1"})
    assert response.status_code == 302
    state, released = drafts.drafted_state(cast["organiser"].event, "session", panel_3)
    assert released
    assert state["title"] == "Panel 3 (renamed)" and state["status"] == "cancelled"
    assert state["speakers"] == [cast["speaker"].id, cast["attendee"].id]
    assert state["online_url"] == "https://stream.example.org/panel-3"
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "session.update")).one()
    assert entry.action == "session.update" and entry.actor_id == cast["organiser"].id
    assert set(entry.after) >= {"title", "status"}


def test_the_form_keeps_the_end_it_shows_when_only_the_start_is_changed(organiser, cast):
    panel_3 = session_id("panel-3")  # 11:00 to 12:30 in Vienna
    token = csrf_token(organiser, f"/console/sessions/{panel_3}")
    response = organiser.post(f"/console/sessions/{panel_3}", data={
        "csrf_token": token, "title": db.session.get(Session, panel_3).title,
        "starts_at": "2020-03-31T11:30", "ends_at": "2020-03-31T12:30",
        "room_id": str(db.session.scalar(select(Room.id))),
        "speakers": [str(cast["speaker"].id)], "moderators": [str(cast["moderator"].id)]})
    assert response.status_code == 302
    state, _ = drafts.drafted_state(cast["organiser"].event, "session", panel_3)
    # the API's lone starts_at would move the end too; the form says 12:30
    assert (state["starts_at"], state["ends_at"]) == (
        "2020-03-31T09:30:00+00:00", "2020-03-31T10:30:00+00:00")


# --- release ---------------------------------------------------------------------------

def move_panel_3(organiser, cast) -> str:
    """Draft Panel 3 half an hour later (its people kept); the form's CSRF token."""
    panel_3 = session_id("panel-3")
    token = csrf_token(organiser, f"/console/sessions/{panel_3}")
    organiser.post(f"/console/sessions/{panel_3}", data={
        "csrf_token": token, "title": db.session.get(Session, panel_3).title,
        "starts_at": "2020-03-31T11:30", "ends_at": "2020-03-31T13:00",
        "room_id": str(db.session.scalar(select(Room.id))),
        "speakers": [str(cast["speaker"].id)], "moderators": [str(cast["moderator"].id)]})
    return token

def test_the_release_page_counts_who_each_change_tells_and_confirms_once(
        organiser, cast, bearer, client):
    panel_3 = session_id("panel-3")
    follower = cast["attendee"]
    assert client.put(f"/api/v1/me/bookmarks/{panel_3}",
                      headers=bearer(follower)).status_code == 200
    token = move_panel_3(organiser, cast)
    page = organiser.get("/console/release").text
    assert "Changelog of version 2" in page
    row = re.search(r"<tr><td>Panel 3.*?</tr>", page, re.S).group(0)
    assert "moved from Tue 11:00 to Tue 11:30" in row
    told = int(re.search(r'<td class="number">(\d+)</td>', row).group(1))
    assert told >= 3  # the follower, the speaker, the moderator (and panels' audience)
    # first post asks to confirm; nothing is released yet
    response = organiser.post("/console/release", data={
        "csrf_token": token, "version": "2", "note": "Panel 3 later"})
    assert "Confirm release of version 2" in response.text
    assert db.session.scalar(select(func.count()).select_from(ScheduleVersion)) == 1
    response = organiser.post("/console/release", data={
        "csrf_token": token, "version": "2", "note": "Panel 3 later", "confirmed": "1"})
    assert response.status_code == 302
    version = db.session.scalars(select(ScheduleVersion).order_by(
        ScheduleVersion.number.desc())).first()
    assert version.number == 2 and version.note == "Panel 3 later"
    assert version.notified == told
    # the same confirmation again (a double click) releases nothing more
    response = organiser.post("/console/release", data={
        "csrf_token": token, "version": "2", "note": "Panel 3 later", "confirmed": "1"})
    assert response.status_code == 409
    assert db.session.scalar(select(func.count()).select_from(ScheduleVersion)) == 2


def test_the_release_page_asks_notifications_who_muted_schedule_changes(
        organiser, cast, make_attendee, bearer, client):
    """The count mutes exactly whom notifications mutes: the category of the
    ``schedule_change`` kind switched off (False); a preference left empty tells."""
    panel_3 = session_id("panel-3")
    muted = make_attendee(notify={"schedule_changes": False})
    unset = make_attendee(notify={"schedule_changes": None})
    for attendee in (muted, unset):
        assert client.put(f"/api/v1/me/bookmarks/{panel_3}",
                          headers=bearer(attendee)).status_code == 200
    token = move_panel_3(organiser, cast)
    page = organiser.get("/console/release").text
    row = re.search(r"<tr><td>Panel 3.*?</tr>", page, re.S).group(0)
    told = int(re.search(r'<td class="number">(\d+)</td>', row).group(1))
    response = organiser.post("/console/release", data={
        "csrf_token": token, "version": "2", "note": "", "confirmed": "1"})
    assert response.status_code == 302
    version = db.session.scalars(select(ScheduleVersion).order_by(
        ScheduleVersion.number.desc())).first()
    assert version.number == 2 and version.notified == told
    queued = set(db.session.scalars(select(OutboxMessage.attendee_id).where(
        OutboxMessage.kind == "schedule_change")))
    assert unset.id in queued and muted.id not in queued


def test_running_late_previews_without_keeping_anything_then_releases(organiser, cast):
    panel_3 = session_id("panel-3")
    url = f"/console/sessions/{panel_3}/late"
    page = organiser.get(url, query_string={"minutes": "10", "shift_following": "1"}).text
    assert "moved from 11:00 to 11:10" in page
    assert "Lunch Break" in page  # the break that follows absorbs it
    assert "Confirm: 10 minutes late" in page
    # nothing kept but the seed's first release
    counts = {model: db.session.scalar(select(func.count()).select_from(model))
              for model in (ScheduleVersion, AuditEntry, OutboxMessage)}
    assert counts == {ScheduleVersion: 1, AuditEntry: 1, OutboxMessage: 0}
    token = CSRF.search(page).group(1)
    expected = re.search(r'name="starts_at" value="([^"]+)"', page).group(1)
    confirm = {"csrf_token": token, "minutes": "10", "shift_following": "1",
               "starts_at": expected}
    response = organiser.post(url, data=confirm)
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Session, panel_3).starts_at == datetime.fromisoformat(
        "2020-03-31T09:10:00+00:00")
    assert db.session.scalars(select(AuditEntry.action)).all() == [
        "schedule.publish", "session.delay"]
    # the same confirmation again (a double click) does not make it 20 minutes
    response = organiser.post(url, data=confirm, follow_redirects=True)
    assert "has moved since the preview" in response.text
    db.session.expire_all()
    assert db.session.get(Session, panel_3).starts_at == datetime.fromisoformat(
        "2020-03-31T09:10:00+00:00")
    assert db.session.scalar(select(func.count()).select_from(ScheduleVersion)) == 2


def test_the_running_late_preview_plans_without_writing_and_counts_as_the_release_tells(
        organiser, cast, statements):
    panel_3 = session_id("panel-3")
    url = f"/console/sessions/{panel_3}/late"
    statements.clear()
    page = organiser.get(url, query_string={"minutes": "10", "shift_following": "1"}).text
    assert "moved from 11:00 to 11:10" in page
    writes = [sql for sql in statements
              if sql.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE")
              or "SAVEPOINT" in sql.upper()]
    assert writes == []
    told = re.search(r"(\d+) people would be told", page).group(1)
    token = CSRF.search(page).group(1)
    expected = re.search(r'name="starts_at" value="([^"]+)"', page).group(1)
    response = organiser.post(url, data={"csrf_token": token, "minutes": "10",
                                         "shift_following": "1", "starts_at": expected},
                              follow_redirects=True)
    assert f"{told} people told." in response.text
    assert int(told) >= 1  # the speaker at least


# --- announcements ---------------------------------------------------------------------

def test_an_announcement_counts_its_audience_live_and_goes_to_speakers_only(
        organiser, cast, add_device):
    for who in cast.values():
        add_device(who)
    token = csrf_token(organiser, "/console/announcements")
    form = {"csrf_token": token, "title": "", "body": "", "audience": "chosen",
            "roles": "speaker", "priority": "normal", "when": "now"}
    count = organiser.post("/console/announcements/count", data=form)
    assert count.status_code == 200
    assert "Would reach <strong>1</strong> of 1" in count.text
    everyone = organiser.post("/console/announcements/count", data={**form, "audience": "all"})
    assert "Would reach <strong>4</strong> of 4" in everyone.text
    assert db.session.scalar(select(func.count()).select_from(Announcement)) == 0
    # the API's messages, next to the fields
    response = organiser.post("/console/announcements", data=form)
    assert response.status_code == 422
    assert 'id="title-error"' in response.text and 'id="body-error"' in response.text
    response = organiser.post("/console/announcements", data={
        **form, "title": "Speakers' briefing", "body": "Green room at 10:30.",
        "texts.fr.title": "Briefing des intervenants"})
    assert response.status_code == 302
    announcement = db.session.scalars(select(Announcement)).one()
    assert announcement.audience == {"roles": ["speaker"]}
    assert announcement.texts == {"fr": {"title": "Briefing des intervenants"}}
    outbox = db.session.scalars(select(OutboxMessage.attendee_id)).all()
    assert outbox == [cast["speaker"].id]
    listing = organiser.get("/console/announcements/list").text
    assert "Speakers&#39; briefing" in listing
    assert 'hx-trigger="every 2s"' in listing  # queued: the figures refresh themselves


def test_an_announcement_sent_twice_by_the_same_form_goes_out_once(organiser, cast):
    page = organiser.get("/console/announcements").text
    composed = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', page).group(1)
    form = {"csrf_token": CSRF.search(page).group(1), "idempotency_key": composed,
            "title": "Coffee", "body": "In the foyer.", "audience": "all",
            "priority": "normal", "when": "now"}
    assert organiser.post("/console/announcements", data=form).status_code == 302
    response = organiser.post("/console/announcements", data=form, follow_redirects=True)
    assert "sent already" in response.text
    assert db.session.scalar(select(func.count()).select_from(Announcement)) == 1
    # a fresh form is a new announcement
    page = organiser.get("/console/announcements").text
    assert composed not in page


def test_a_scheduled_announcement_is_cancelled_from_its_row(organiser, cast):
    token = csrf_token(organiser, "/console/announcements")
    response = organiser.post("/console/announcements", data={
        "csrf_token": token, "title": "Later", "body": "Text", "audience": "all",
        "priority": "normal", "when": "at", "send_at": "2099-03-30T09:00"})
    assert response.status_code == 422  # more than a year ahead: the API's limit
    in_a_month = (datetime.now(ZoneInfo("Europe/Vienna")) + timedelta(days=30))
    response = organiser.post("/console/announcements", data={
        "csrf_token": token, "title": "Later", "body": "Text", "audience": "all",
        "priority": "normal", "when": "at", "send_at": in_a_month.strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 302, response.text
    announcement = db.session.scalars(select(Announcement)).one()
    listing = organiser.get("/console/announcements").text
    assert 'aria-label="Cancel Later"' in listing
    response = organiser.post(f"/console/announcements/{announcement.id}/cancel",
                              data={"csrf_token": token}, follow_redirects=True)
    assert "Cancelled" in response.text
    db.session.expire_all()
    assert announcement.cancelled_at is not None
    assert 'aria-label="Cancel Later"' not in organiser.get("/console/announcements").text


def test_an_announcement_at_a_time_in_the_past_is_refused_next_to_send_at(organiser):
    token = csrf_token(organiser, "/console/announcements")
    response = organiser.post("/console/announcements", data={
        "csrf_token": token, "title": "Later", "body": "Text", "audience": "all",
        "priority": "normal", "when": "at", "send_at": "2020-03-30T09:00"})
    assert response.status_code == 422
    assert 'id="send_at-error">In the past.' in response.text


# --- the moderator -----------------------------------------------------------------------

def test_a_moderator_pings_a_speaker_and_sees_the_acknowledgement(client, cast, bearer):
    sign_in(client, cast["moderator"])
    panel_3 = session_id("panel-3")
    token = csrf_token(client, "/console/moderate")
    response = client.post(f"/console/sessions/{panel_3}/pings", headers={"HX-Request": "1"},
                           data={"csrf_token": token, "template": "to_stage"})
    assert response.status_code == 200
    assert "Please come to the stage" in response.text and "queued" in response.text
    ping = db.session.scalars(select(Ping)).one()
    speaker = bearer(cast["speaker"])
    assert client.post(f"/api/v1/me/pings/{ping.id}/ack", headers=speaker).status_code == 200
    listing = client.get(f"/console/sessions/{panel_3}/pings").text
    assert "Sam Speaker: <strong class=\"ack\">acknowledged" in listing
    # own words; and a template that does not exist is the API's refusal
    response = client.post(f"/console/sessions/{panel_3}/pings", headers={"HX-Request": "1"},
                           data={"csrf_token": token, "template": "sing"})
    assert "Must be one of" in response.text


# --- audit and rooms ---------------------------------------------------------------------

def test_the_audit_log_filters_by_action_and_time(organiser, cast):
    panel_3 = session_id("panel-3")
    token = csrf_token(organiser, f"/console/sessions/{panel_3}")
    organiser.post(f"/console/sessions/{panel_3}", data={
        "csrf_token": token, "title": "Panel 3 bis", "starts_at": "2020-03-31T11:00",
        "ends_at": "2020-03-31T12:30"})
    page = organiser.get("/console/audit").text
    assert "session.update" in page and "Olga Organiser" in page
    assert "1 entry" in organiser.get("/console/audit?action=session.update").text
    assert "0 entries" in organiser.get("/console/audit?action=ping.send").text
    assert "0 entries" in organiser.get("/console/audit?since=2999-01-01T00:00").text
    response = organiser.get("/console/audit?since=soon")
    assert response.status_code == 422 and 'id="since-error"' in response.text
    response = organiser.get("/console/audit?actor_id=0")
    assert response.status_code == 422


def test_room_details_and_facilities_are_edited_in_the_draft(organiser, cast):
    room = db.session.scalars(select(Room)).first()
    url = f"/console/rooms/{room.id}"
    page = organiser.get(url).text
    assert "Delegates&#39; cafeteria" in page
    token = CSRF.search(page).group(1)
    form = {"csrf_token": token, "name": room.name, "capacity": "700", "floor": "2",
            "facility_rows": "3",
            "facilities.0.kind": "entrance", "facilities.0.name": "Main entrance",
            "facilities.0.where": "Heldenplatz",
            "facilities.1.kind": "cafeteria", "facilities.1.name": "", "facilities.1.where": "",
            "facilities.2.kind": "wifi", "facilities.2.name": "Wi-Fi",
            "facilities.2.where": ""}
    response = organiser.post(url, data={**form, "facilities.2.kind": "teleporter"})
    assert response.status_code == 422, response.text
    assert 'id="facilities-2-kind-error">Must be one of' in response.text
    response = organiser.post(url, data=form)
    assert response.status_code == 302
    state, _ = drafts.drafted_state(cast["organiser"].event, "room", room.id)
    assert state["capacity"] == 700 and state["floor"] == "2"
    assert state["facilities"] == [
        {"kind": "entrance", "name": "Main entrance", "where": "Heldenplatz"},
        {"kind": "wifi", "name": "Wi-Fi", "where": None}]
    assert '<span class="badge">changed</span>' in organiser.get("/console/rooms").text


# --- no input reaches a 500 -----------------------------------------------------------------

BAD_VALUES = ("\x00", "9" * 5000, "²", "0001-01-01T00:00", "9999-12-31T23:59", "-1",
              "x" * 100_000, "2020-03-31T25:00")


def test_no_form_input_reaches_a_500(organiser, cast):
    panel_3 = session_id("panel-3")
    room = db.session.scalar(select(Room.id))
    token = csrf_token(organiser, "/console/agenda")
    forms = {
        f"/console/sessions/{panel_3}": ("title", "starts_at", "ends_at", "room_id",
                                         "speakers", "moderators", "online_url"),
        f"/console/sessions/{panel_3}/late": ("minutes", "starts_at"),
        "/console/release": ("version", "note"),
        "/console/announcements": ("title", "body", "roles", "languages", "sessions",
                                   "send_at", "priority", "texts.fr.title"),
        "/console/announcements/count": ("sessions", "send_at", "roles"),
        f"/console/rooms/{room}": ("name", "capacity", "facility_rows", "facilities.0.kind",
                                   "interpretation.languages", "map_url"),
        f"/console/sessions/{panel_3}/pings": ("template", "message"),
    }
    base = {"csrf_token": token, "audience": "chosen", "when": "at", "confirmed": "1",
            "title": "T", "body": "B", "starts_at": "2020-03-31T11:00",
            "ends_at": "2020-03-31T12:30", "name": "Neuer Saal", "facility_rows": "1"}
    for url, names in forms.items():
        for name in names:
            for value in BAD_VALUES:
                response = organiser.post(url, data={**base, name: value})
                assert response.status_code < 500, (url, name, value[:20])
    for value in BAD_VALUES:
        for name in ("action", "actor_id", "subject", "since", "until"):
            response = organiser.get("/console/audit", query_string={name: value})
            assert response.status_code < 500, (name, value[:20])


def test_make_runs_demo_attendee_opens_the_console(app, client, runner, tmp_path):
    """`make run` seeds a rehearsal whose demo attendee is also an organiser: its printed
    address leads to /console/, where that sign-in reaches the agenda."""
    app.instance_path = str(tmp_path)
    result = runner.invoke(args=["seed", "--rehearsal"])
    assert result.exit_code == 0, result.output
    assert "/console/" in result.output
    code = (tmp_path / "demo-codes.csv").read_text().splitlines()[1].split(",")[1]
    response = client.post("/console/sign-in", data={
        "csrf_token": csrf_token(client), "email": "demo@example.org", "access_code": code})
    assert response.status_code == 302
    assert client.get("/", follow_redirects=True).request.path == "/console/agenda"


# --- importing a new version of the programme -------------------------------------------

def test_an_imported_file_shows_its_changelog_before_the_release(organiser):
    """The Import page puts the file's differences in the draft and leads to the Release
    page, which shows the changelog; nothing is released until it is confirmed."""
    data = schedule_ops.conference_data()
    panel_3 = next(s for s in data["sessions"] if s["key"] == "panel-3")
    panel_3.update(starts="11:30", ends="13:00")
    token = csrf_token(organiser, "/console/import")
    response = organiser.post("/console/import", data={
        "csrf_token": token,
        "file": (io.BytesIO(json.dumps(data).encode()), "alliance.json")})
    assert response.status_code == 302, response.text
    assert response.headers["Location"].endswith("/console/release")
    page = organiser.get("/console/release").text
    assert "its changes are in the draft" in page
    row = re.search(r"<tr><td>Panel 3.*?</tr>", page, re.S).group(0)
    assert "moved from Tue 11:00 to Tue 11:30" in row
    assert db.session.scalar(select(func.count()).select_from(ScheduleVersion)) == 1
    again = organiser.post("/console/import", data={
        "csrf_token": token, "file": (io.BytesIO(b"<schedule"), "broken.xml")})
    assert again.status_code == 422 and "Nothing changed" in again.text
