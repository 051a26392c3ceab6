"""The console with many events (``second_event`` beside the Alliance conference): every
page names its event; a sign-in is per event, with that event's access code; the
switcher offers the events this person signed into where they organise or moderate; a
sign-in to one event never acts in another, nor does a form shown for another."""

import re

import pytest
from sqlalchemy import func, select

from companion import auth
from companion.extensions import db
from companion.people.models import AccessToken
from companion.schedule.models import DraftEdit, ScheduleVersion, Session

CODE_A, CODE_B = "7KQ4-MX2P-9DHT", "4HXN-2QWE-8RTY"
ALLIANCE = "20th Conference of the Alliance against Trafficking in Persons"
FRABCON = "FrabCon 2026"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TITLE = re.compile(r"<title>([^<]+)</title>")
PAGES = ("/console/agenda", "/console/release", "/console/announcements", "/console/rooms",
         "/console/audit", "/console/moderate")


def csrf_token(client, url: str = "/console/sign-in") -> str:
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    return CSRF.search(page.text).group(1)


def sign_in(client, email: str, code: str, event: str | None):
    data = {"csrf_token": csrf_token(client), "email": email, "access_code": code}
    if event is not None:
        data["event"] = event
    return client.post("/console/sign-in", data=data)


@pytest.fixture
def olga(make_attendee, second_event):
    """Olga organises both events: one attendee at each, each with its own code; Ada is
    only an attendee at FrabCon."""
    return {
        "alliance": make_attendee(code=CODE_A, roles=["organiser"], name="Olga Organiser",
                                  email="olga@example.org"),
        "frabcon": make_attendee(code=CODE_B, roles=["organiser"], name="Olga Organiser",
                                 email="olga@example.org", event=second_event.event),
        "ada": make_attendee(code=CODE_A, name="Ada Attendee", email="ada@example.org",
                             event=second_event.event),
    }


def names(page) -> tuple[str, str]:
    """The page's title and its header's brand."""
    brand = re.search(r'<p class="brand"><a [^>]+>([^<]+)</a>', page.text).group(1)
    return TITLE.search(page.text).group(1), brand


def switcher(page) -> list[str]:
    form = re.search(r'<form class="switch".*?</form>', page.text, re.S)
    return re.findall(r"<option [^>]*>([^<]+)</option>", form.group(0)) if form else []


def test_every_page_names_its_event(client, olga):
    assert sign_in(client, "olga@example.org", CODE_A, "alliance-2020").status_code == 302
    for url in PAGES:
        title, brand = names(client.get(url))
        assert ALLIANCE in title and ALLIANCE in brand, url
    other = client.application.test_client()
    assert sign_in(other, "olga@example.org", CODE_B, "frabcon-2026").status_code == 302
    for url in PAGES:
        page = other.get(url)
        title, brand = names(page)
        assert FRABCON in title and FRABCON in brand and ALLIANCE not in page.text, url


def test_with_several_events_the_sign_in_asks_which_and_takes_its_code(client, olga):
    form = client.get("/console/sign-in").text
    assert '<select id="event" name="event" required>' in form
    assert f"{FRABCON} (2026-08-21)" in form and ALLIANCE in form
    refused = sign_in(client, "olga@example.org", CODE_A, None)
    assert refused.status_code == 422 and "Choose the event" in refused.text
    # the Alliance's code is no key to FrabCon, though the email is the same
    assert sign_in(client, "olga@example.org", CODE_A, "frabcon-2026").status_code == 401
    assert client.get("/console/agenda").status_code == 302  # still signed out
    assert sign_in(client, "olga@example.org", CODE_B, "frabcon-2026").status_code == 302
    agenda = client.get("/console/agenda").text
    assert "Opening talk" in agenda and "Panel 1" not in agenda


def test_the_switcher_changes_the_event_the_pages_act_on(client, olga, second_event):
    assert sign_in(client, "olga@example.org", CODE_A, "alliance-2020").status_code == 302
    page = client.get("/console/agenda")
    assert switcher(page) == []  # one event signed into: nothing to switch to
    assert "Sign in to another event" in page.text
    assert sign_in(client, "olga@example.org", CODE_B, "frabcon-2026").status_code == 302
    page = client.get("/console/agenda")
    assert "Opening talk" in page.text
    assert switcher(page) == [ALLIANCE, FRABCON]
    assert "Sign in to another event" not in page.text
    token = csrf_token(client, "/console/agenda")
    switched = client.post("/console/switch", data={
        "csrf_token": token, "to": str(olga["alliance"].event_id)})
    assert switched.status_code == 302
    agenda = client.get("/console/agenda").text
    assert "Panel 1" in agenda and "Opening talk" not in agenda
    # both sign-ins live; signing out ends both
    assert db.session.scalar(select(func.count()).select_from(AccessToken).where(
        AccessToken.revoked_at.is_(None))) == 2
    assert client.post("/console/sign-out", data={
        "csrf_token": csrf_token(client, "/console/agenda")}).status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(AccessToken).where(
        AccessToken.revoked_at.is_(None))) == 0
    assert client.get("/console/agenda").status_code == 302


def test_switching_needs_csrf_and_a_sign_in_there_with_a_console_role(client, olga,
                                                                       second_event):
    assert sign_in(client, "olga@example.org", CODE_A, "alliance-2020").status_code == 302
    token = csrf_token(client, "/console/agenda")
    frabcon = str(second_event.event.id)
    assert client.post("/console/switch", data={"to": frabcon}).status_code == 400
    # not signed in to FrabCon: no switching there on the Alliance sign-in
    refused = client.post("/console/switch", data={"csrf_token": token, "to": frabcon})
    assert refused.status_code == 403
    assert "Panel 1" in client.get("/console/agenda").text
    # Ada (an attendee only at FrabCon, another person) signs in on this browser:
    # Olga's sign-in is ended, not offered to Ada
    assert sign_in(client, "ada@example.org", CODE_A, "frabcon-2026").status_code == 302
    assert client.get("/console/agenda").status_code == 403
    assert client.post("/console/switch", data={
        "csrf_token": csrf_token(client, "/console/sign-in"),
        "to": str(olga["alliance"].event_id)}).status_code == 403
    db.session.expire_all()
    assert db.session.scalar(select(AccessToken.revoked_at).where(
        AccessToken.attendee_id == olga["alliance"].id)) is not None


def test_a_token_only_acts_in_its_own_event(client, olga, second_event):
    """Even a cookie that put the Alliance sign-in under FrabCon's key gets nowhere."""
    token, _ = auth.issue_token(olga["alliance"])
    db.session.commit()
    alliance = olga["alliance"].event_id
    with client.session_transaction("/console/agenda") as cookie:
        cookie["tokens"] = {str(alliance): token}
        cookie["event"] = alliance
    assert "Panel 1" in client.get("/console/agenda").text
    with client.session_transaction("/console/agenda") as cookie:
        cookie["tokens"] = {str(second_event.event.id): token}
        cookie["event"] = second_event.event.id
    assert client.get("/console/agenda").status_code == 302  # to the sign-in


def test_a_form_shown_for_one_event_is_not_applied_to_another(client, olga, second_event):
    assert sign_in(client, "olga@example.org", CODE_A, "alliance-2020").status_code == 302
    alliance = str(olga["alliance"].event_id)
    panel_1 = db.session.scalar(select(Session.id).where(Session.key == "panel-1"))
    release_page = client.get("/console/release").text
    assert f'name="console_event" value="{alliance}"' in release_page
    # FrabCon has a draft edit waiting, by its own organiser
    assert sign_in(client, "olga@example.org", CODE_B, "frabcon-2026").status_code == 302
    token = csrf_token(client, "/console/agenda")
    response = client.post(f"/console/sessions/{second_event.talk.id}", data={
        "csrf_token": token, "console_event": str(second_event.event.id),
        "title": "Opening talk (new)", "starts_at": "2026-08-21T10:00",
        "ends_at": "2026-08-21T11:00", "room_id": str(second_event.room.id)})
    assert response.status_code == 302, response.text
    # the Alliance's release form, sent now that the console works on FrabCon
    stale = client.post("/console/release", data={
        "csrf_token": token, "console_event": alliance, "version": "1", "confirmed": "1"})
    assert stale.status_code == 409 and "another event" in stale.text
    # as is an htmx request from an Alliance page
    ping = client.post(f"/console/sessions/{panel_1}/pings", data={"template": "wrap_up"},
                       headers={"X-CSRFToken": token, "X-Console-Event": alliance,
                                "HX-Request": "true"})
    assert ping.status_code == 409
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(ScheduleVersion)) == 1  # the seed's
    assert db.session.scalar(select(func.count()).select_from(DraftEdit)) == 1
