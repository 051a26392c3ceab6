"""One deployment, many events: roles are per event. An organiser, moderator or
attendee of the Alliance conference is nobody at FrabCon (``second_event``): every
organiser route of FrabCon answers 403 or 404 and changes nothing, and the same email
at both events is two attendees, each signing in to their own."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from companion.extensions import db
from companion.organising.audit import AuditEntry
from companion.organising.models import Announcement, Ping
from companion.people.models import Attendee, Bookmark
from companion.schedule.models import DraftEdit, Room, ScheduleVersion, Session, SessionPerson
from companion.timeutil import utcnow

A = "/api/v1/events/alliance-2020"
B = "/api/v1/events/frabcon-2026"
SESSION = {"kind": "panel", "title": "Not yours", "starts_at": "2026-08-21T14:00:00+02:00",
           "ends_at": "2026-08-21T15:00:00+02:00"}


@pytest.fixture
def alliance(conference, make_attendee, by_key):
    """An organiser, a moderator of Panel 1 and an attendee of the Alliance conference."""
    who = {
        "organiser": make_attendee(roles=["organiser"], name="Olga Organiser"),
        "moderator": make_attendee(roles=["moderator"], name="Mo Moderator"),
        "attendee": make_attendee(name="Ada Attendee", directory_visible=True),
    }
    db.session.add(SessionPerson(session_id=by_key["panel-1"].id,
                                 attendee_id=who["moderator"].id, role="moderator"))
    db.session.commit()
    return who


@pytest.fixture
def scheduled(client, second_event, bearer):
    """An announcement FrabCon's organiser scheduled for later, by its own organiser."""
    response = client.post(f"{B}/announcements", headers=bearer(
        second_event.people["oona@example.org"]), json={
        "title": "Doors open", "body": "At 9:00", "audience": "all",
        "send_at": (utcnow() + timedelta(days=30)).isoformat()})
    assert response.status_code == 201, response.json
    return response.json["id"]


def counts() -> dict:
    """What an organiser route of FrabCon could have changed."""
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (DraftEdit, ScheduleVersion, Announcement, Session, Room, Ping)}


def test_the_events_list_has_both(client, second_event):
    response = client.get("/api/v1/events")
    assert response.status_code == 200
    assert [e["slug"] for e in response.json] == ["alliance-2020", "frabcon-2026"]
    assert client.get(B).json["timezone"] == "Europe/Berlin"
    talks = client.get(f"{B}/sessions").json
    assert [s["title"] for s in talks] == ["Opening talk", "Schedule workshop"]
    assert talks[0]["starts_at"] == "2026-08-21T10:00:00+02:00"


def organiser_routes(second_event, announcement_id: int) -> list[tuple[str, str, dict | None]]:
    talk, room = second_event.talk.id, second_event.room.id
    return [
        ("post", f"{B}/sessions", SESSION),
        ("patch", f"{B}/sessions/{talk}", {"title": "Mine now"}),
        ("delete", f"{B}/sessions/{talk}", None),
        ("post", f"{B}/rooms", {"name": "Broom cupboard"}),
        ("patch", f"{B}/rooms/{room}", {"name": "Mine now"}),
        ("delete", f"{B}/rooms/{room}", None),
        ("get", f"{B}/schedule/draft", None),
        ("post", f"{B}/schedule/publish", {"note": "Hijacked"}),
        ("post", f"{B}/sessions/{talk}/delay", {"minutes": 10}),
        ("post", f"{B}/schedule/move", {"days": 1}),
        ("post", f"{B}/schedule/import?publish=true", {
            "event": {"slug": "x", "name": "Hijacked", "starts_on": "2026-08-21",
                      "ends_on": "2026-08-21", "timezone": "Europe/Berlin"},
            "rooms": [], "sessions": []}),
        ("get", f"{B}/announcements", None),
        ("post", f"{B}/announcements", {"title": "Hi", "body": "All", "audience": "all"}),
        ("get", f"{B}/announcements/{announcement_id}", None),
        ("patch", f"{B}/announcements/{announcement_id}", {"title": "Changed"}),
        ("delete", f"{B}/announcements/{announcement_id}", None),
        ("get", f"{B}/audit", None),
        # the organiser's own event in the path, the other event's items in it
        ("patch", f"{A}/sessions/{talk}", {"title": "Mine now"}),
        ("delete", f"{A}/sessions/{talk}", None),
        ("patch", f"{A}/rooms/{room}", {"name": "Mine now"}),
        ("delete", f"{A}/rooms/{room}", None),
        ("post", f"{A}/sessions/{talk}/delay", {"minutes": 10}),
        ("get", f"{A}/announcements/{announcement_id}", None),
        ("delete", f"{A}/announcements/{announcement_id}", None),
    ]


def test_an_organiser_of_one_event_is_nobody_in_another(client, alliance, second_event,
                                                        scheduled, bearer):
    headers = bearer(alliance["organiser"])
    before = counts()
    audit = db.session.scalar(select(func.count()).select_from(AuditEntry))
    for method, path, body in organiser_routes(second_event, scheduled):
        response = getattr(client, method)(path, json=body, headers=headers)
        assert response.status_code in (403, 404), (method, path, response.status_code)
        assert set(response.json) == {"code", "status", "message", "errors"}
    db.session.expire_all()
    assert counts() == before
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == audit
    assert db.session.get(Announcement, scheduled).title == "Doors open"
    # FrabCon's own organiser still can
    own = bearer(second_event.people["oona@example.org"])
    assert client.get(f"{B}/schedule/draft", headers=own).status_code == 200
    assert client.get(f"{B}/audit", headers=own).status_code == 200


def test_one_events_edits_cannot_name_another_events_people_rooms_or_sessions(
        client, alliance, second_event, by_key, bearer):
    headers = bearer(alliance["organiser"])
    panel_1 = by_key["panel-1"].id
    sina = second_event.people["sina@example.org"].id
    for values, field in (({"speakers": [sina]}, "speakers"),
                          ({"moderators": [sina]}, "moderators"),
                          ({"room_id": second_event.room.id}, "room_id")):
        response = client.patch(f"{A}/sessions/{panel_1}", json=values, headers=headers)
        assert response.status_code == 422, response.json
        assert field in response.json["errors"]
    response = client.post(f"{A}/announcements", headers=headers, json={
        "title": "Hi", "body": "Followers", "audience": {"sessions": [second_event.talk.id]},
        "dry_run": True})
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(DraftEdit)) == 0


def test_a_moderator_pings_only_their_own_events_sessions(client, alliance, second_event,
                                                         by_key, bearer):
    for who in ("moderator", "organiser"):
        headers = bearer(alliance[who])
        for method, body in (("post", {"template": "wrap_up"}), ("get", None)):
            response = getattr(client, method)(
                f"/api/v1/sessions/{second_event.talk.id}/pings", json=body, headers=headers)
            assert response.status_code in (403, 404), (who, method, response.json)
    assert db.session.scalar(select(func.count()).select_from(Ping)) == 0
    # FrabCon's moderator pings their own talk, not the Alliance's Panel 1
    milo = bearer(second_event.people["milo@example.org"])
    assert client.post(f"/api/v1/sessions/{by_key['panel-1'].id}/pings", headers=milo,
                       json={"template": "wrap_up"}).status_code in (403, 404)
    assert client.post(f"/api/v1/sessions/{second_event.talk.id}/pings", headers=milo,
                       json={"template": "wrap_up"}).status_code == 201


def test_an_attendee_follows_and_finds_people_of_their_own_event_only(
        client, alliance, second_event, bearer):
    headers = bearer(alliance["attendee"])
    talk = second_event.talk.id
    assert client.put(f"/api/v1/me/bookmarks/{talk}", headers=headers).status_code == 404
    assert client.delete(f"/api/v1/me/bookmarks/{talk}", headers=headers).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Bookmark)) == 0
    assert client.get(f"{B}/directory", headers=headers).status_code in (403, 404)
    assert client.get("/api/v1/me/schedule?event=frabcon-2026",
                      headers=headers).status_code in (403, 404)
    bea = second_event.people["bea@example.org"]
    bea.directory_visible = True
    db.session.commit()
    response = client.post("/api/v1/me/contacts", json={"attendee_id": bea.id},
                           headers=headers)
    assert response.status_code == 404
    # and FrabCon's attendee sees FrabCon's directory, without the Alliance's listed people
    listed = client.get(f"{B}/directory", headers=bearer(bea))
    assert listed.status_code == 200
    assert alliance["attendee"].id not in [p["id"] for p in listed.json]


def test_attendees_import_scopes_people_to_the_event(runner, client, alliance, second_event,
                                                     tmp_path):
    ada = alliance["attendee"]
    csv = tmp_path / "frabcon.csv"
    csv.write_text("email,name,organisation,country,roles\n"
                   f"{ada.email},Ada at FrabCon,,AT,organiser\n", encoding="utf-8")
    codes = tmp_path / "codes.csv"
    result = runner.invoke(args=["attendees", "import", str(csv), "--codes", str(codes),
                                 "--event", "frabcon-2026"])
    assert result.exit_code == 0, result.output
    assert "frabcon-2026: 1 created" in result.output
    db.session.expire_all()
    twins = db.session.scalars(select(Attendee).where(Attendee.email == ada.email)
                               .order_by(Attendee.id)).all()
    assert [(a.event.slug, a.name, a.roles) for a in twins] == [
        ("alliance-2020", "Ada Attendee", ["attendee"]),
        ("frabcon-2026", "Ada at FrabCon", ["organiser"])]
    code = codes.read_text().splitlines()[1].split(",")[1]
    signed = client.post("/api/v1/auth/login", json={"email": ada.email, "access_code": code})
    assert signed.status_code == 200
    token = {"Authorization": f"Bearer {signed.json['token']}"}
    # an organiser at FrabCon, with that code: still nobody at the Alliance conference
    assert client.get(f"{B}/schedule/draft", headers=token).status_code == 200
    assert client.get(f"{A}/schedule/draft", headers=token).status_code == 403
    assert client.get(f"{A}/audit", headers=token).status_code == 403
