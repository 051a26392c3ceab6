"""Moderators' pings to their speakers: who may, to whom, in which language, for how
long; acknowledgements back to the moderator; the rate limit; the role matrix.

The event is shifted to 29-30 March 2027 (in the future); pushes go through the real
firebase-admin to the fake FCM.
"""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from companion.schedule import importing
from companion.extensions import db
from companion.organising import pings
from companion.organising.audit import AuditEntry
from companion.organising.models import PING_TEMPLATES, Ping, PingRecipient
from companion.people.models import NOTIFY_CATEGORIES
from companion.schedule import operations as schedule_ops
from companion.schedule.models import Session, SessionPerson
from companion.timeutil import utcnow
from notifications import kinds
from notifications.models import OutboxMessage

SHAPE = {"code", "status", "message", "errors"}
FIRST_DAY = date(2027, 3, 29)


@pytest.fixture
def event(conference):
    importing.seed_conference(schedule_ops.conference_data(), shift_to=FIRST_DAY)
    db.session.commit()
    return conference


@pytest.fixture
def by_key(event):
    return {s.key: s for s in db.session.scalars(select(Session))}


@pytest.fixture
def cast(event, by_key, make_attendee, add_device):
    """Panel 3: two speakers (French, German) and a moderator; Panel 4: its own
    speaker and moderator; an organiser; an attendee. Each with a phone."""
    made = {
        "amelie": make_attendee(language="fr", roles=["speaker"]),
        "bernd": make_attendee(language="de", roles=["speaker"]),
        "mod": make_attendee(language="en", roles=["moderator"]),
        "other_speaker": make_attendee(language="en", roles=["speaker"]),
        "other_mod": make_attendee(language="en", roles=["moderator"]),
        "organiser": make_attendee(language="en", roles=["organiser"]),
        "attendee": make_attendee(language="en"),
    }
    panel_3, panel_4 = by_key["panel-3"], by_key["panel-4"]
    db.session.add_all([
        SessionPerson(session_id=panel_3.id, attendee_id=made["amelie"].id, role="speaker"),
        SessionPerson(session_id=panel_3.id, attendee_id=made["bernd"].id, role="speaker",
                      position=1),
        SessionPerson(session_id=panel_3.id, attendee_id=made["mod"].id, role="moderator"),
        SessionPerson(session_id=panel_4.id, attendee_id=made["other_speaker"].id,
                      role="speaker"),
        SessionPerson(session_id=panel_4.id, attendee_id=made["other_mod"].id,
                      role="moderator"),
    ])
    db.session.commit()
    for name, attendee in made.items():
        add_device(attendee, token=f"fid-{name}")
    return made


@pytest.fixture
def pings_url(by_key):
    return f"/api/v1/sessions/{by_key['panel-3'].id}/pings"


def test_the_templates_and_the_time_to_live_are_the_kinds():
    assert PING_TEMPLATES == tuple(kinds.PING_TEMPLATES)
    assert pings.TTL == kinds.KINDS["ping"].ttl  # what the listing shows as expires_at


def test_a_ping_reaches_only_the_sessions_speakers_in_their_language_for_5_minutes(
        fcm, client, cast, bearer, pings_url, by_key, dispatch):
    response = client.post(pings_url, json={"template": "wrap_up"},
                           headers=bearer(cast["mod"]))
    assert response.status_code == 201, response.json
    ping = response.json
    assert {s["attendee_id"] for s in ping["speakers"]} == {cast["amelie"].id,
                                                           cast["bernd"].id}
    assert all(s["status"] == "queued" for s in ping["speakers"])
    dispatch()

    received = {r.target: r.message for r in fcm.received}
    assert set(received) == {"fid-amelie", "fid-bernd"}
    assert received["fid-amelie"]["notification"] == {
        "title": by_key["panel-3"].title, "body": "Veuillez conclure"}
    assert received["fid-bernd"]["notification"]["body"] == "Bitte kommen Sie zum Schluss"
    for message in received.values():
        assert 290 <= int(message["android"]["ttl"].rstrip("s")) <= 300  # 5 minutes
        assert message["android"]["priority"] == "high"
        assert message["apns"]["headers"]["apns-priority"] == "10"
        assert message["apns"]["payload"]["aps"]["interruption-level"] == "time-sensitive"
        assert message["data"]["ping_id"] == str(ping["id"])
    listed = client.get(pings_url, headers=bearer(cast["mod"])).json
    assert [s["status"] for s in listed[0]["speakers"]] == ["delivered", "delivered"]
    assert all(s["delivered"] and s["delivered_at"] for s in listed[0]["speakers"])


def test_a_chosen_speaker_only_and_a_free_message(fcm, client, cast, bearer, pings_url,
                                                  dispatch):
    response = client.post(pings_url, headers=bearer(cast["mod"]), json={
        "message": "Mic 2 is yours", "speakers": [cast["bernd"].id]})
    assert response.status_code == 201, response.json
    dispatch()
    (received,) = fcm.received
    assert received.target == "fid-bernd"
    assert received.message["notification"]["body"] == "Mic 2 is yours"


@pytest.mark.parametrize("body,field", [
    ({"template": "dance"}, "template"),
    ({}, "template"),
    ({"template": "wrap_up", "message": "and hurry"}, "template"),
    ({"message": "x" * 141}, "message"),
    ({"message": "   "}, "message"),
    ({"template": "wrap_up", "speakers": []}, "speakers"),
    ({"template": "wrap_up", "speakers": ["one"]}, "speakers"),
    ({"template": "wrap_up", "speakers": [2**31]}, "speakers"),
])
def test_what_is_refused_is_a_422_naming_the_field(body, field, client, cast, bearer,
                                                   pings_url):
    response = client.post(pings_url, json=body, headers=bearer(cast["mod"]))
    assert response.status_code == 422, response.json
    assert set(response.json) == SHAPE
    assert field in response.json["errors"]["json"]
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0


def test_only_the_sessions_speakers_may_be_chosen(fcm, client, cast, bearer, pings_url,
                                                  dispatch):
    response = client.post(pings_url, headers=bearer(cast["mod"]), json={
        "template": "to_stage", "speakers": [cast["amelie"].id, cast["other_speaker"].id]})
    assert response.status_code == 422
    assert set(response.json) == SHAPE and "speakers" in response.json["errors"]
    dispatch()
    assert fcm.received == []
    assert db.session.scalar(select(func.count(Ping.id))) == 0


def test_a_session_without_speakers_is_a_conflict(client, cast, bearer, by_key):
    response = client.post(f"/api/v1/sessions/{by_key['lunch'].id}/pings",
                           json={"template": "to_stage"}, headers=bearer(cast["organiser"]))
    assert response.status_code == 409 and set(response.json) == SHAPE
    missing = client.post("/api/v1/sessions/999999/pings", json={"template": "to_stage"},
                          headers=bearer(cast["organiser"]))
    assert missing.status_code == 404 and set(missing.json) == SHAPE


def test_a_speakers_ping_is_never_muted(fcm, client, cast, bearer, pings_url, dispatch):
    cast["amelie"].notify = {category: False for category in NOTIFY_CATEGORIES}
    db.session.commit()
    client.post(pings_url, json={"template": "on_in_5"}, headers=bearer(cast["mod"]))
    dispatch()
    assert "fid-amelie" in fcm.targets()


def test_a_ping_not_delivered_within_5_minutes_is_dropped_and_shown_expired(
        fcm, client, cast, bearer, pings_url, dispatch):
    fcm.fail("fid-bernd", "UNAVAILABLE")  # FCM cannot take it for Bernd: retried...
    client.post(pings_url, json={"template": "on_in_5"}, headers=bearer(cast["mod"]))
    dispatch()
    assert fcm.targets() == ["fid-amelie"]
    fcm.reset()

    dispatch(utcnow() + timedelta(minutes=5, seconds=1))  # ... until too late: never late

    assert fcm.received == []
    speakers = client.get(pings_url, headers=bearer(cast["mod"])).json[0]["speakers"]
    shown = {s["attendee_id"]: (s["status"], s["delivered"]) for s in speakers}
    assert shown == {cast["amelie"].id: ("delivered", True),
                     cast["bernd"].id: ("expired", False)}


def test_an_ack_shows_for_the_moderator_and_pushes_to_their_phone(
        fcm, client, cast, bearer, pings_url, by_key, dispatch):
    moderator = bearer(cast["mod"])
    ping = client.post(pings_url, json={"template": "two_minutes"}, headers=moderator).json
    dispatch()
    fcm.reset()

    ack = client.post(f"/api/v1/me/pings/{ping['id']}/ack", headers=bearer(cast["amelie"]))
    assert ack.status_code == 200, ack.json
    assert ack.json["ping_id"] == ping["id"] and ack.json["acknowledged_at"]
    again = client.post(f"/api/v1/me/pings/{ping['id']}/ack", headers=bearer(cast["amelie"]))
    assert again.json["acknowledged_at"] == ack.json["acknowledged_at"]
    dispatch()

    (received,) = fcm.received  # one push, however many acks
    assert received.target == "fid-mod"
    notification = received.message["notification"]
    assert notification == {"title": "Ping acknowledged",
                            "body": f"{by_key['panel-3'].title}: a speaker has seen your ping."}
    assert cast["amelie"].name not in str(notification)  # nobody named on a lock screen
    inbox = client.get("/api/v1/me/notifications", headers=moderator).json
    assert inbox[0]["body"] == (f"{cast['amelie'].name} has seen your ping about "
                                f"{by_key['panel-3'].title}.")

    listed = client.get(pings_url, headers=moderator).json
    speakers = {s["attendee_id"]: s for s in listed[0]["speakers"]}
    assert speakers[cast["amelie"].id]["acknowledged"] is True
    assert speakers[cast["amelie"].id]["acknowledged_at"] == ack.json["acknowledged_at"]
    assert speakers[cast["bernd"].id]["acknowledged"] is False
    assert listed[0]["acknowledged"] is True and listed[0]["unacknowledged"] is False


def test_only_a_recipient_may_acknowledge(client, cast, bearer, pings_url):
    ping = client.post(pings_url, json={"template": "two_minutes"},
                       headers=bearer(cast["mod"])).json
    for who in ("other_speaker", "mod", "attendee"):
        response = client.post(f"/api/v1/me/pings/{ping['id']}/ack", headers=bearer(cast[who]))
        assert response.status_code == 404 and set(response.json) == SHAPE
    assert client.post(f"/api/v1/me/pings/{ping['id']}/ack").status_code == 401


def test_a_ping_nobody_acknowledged_within_2_minutes_is_flagged(client, cast, bearer,
                                                               pings_url):
    moderator = bearer(cast["mod"])
    answered = client.post(pings_url, json={"template": "on_in_5"}, headers=moderator).json
    ignored = client.post(pings_url, json={"template": "to_stage"}, headers=moderator).json
    late = client.post(pings_url, json={"template": "wrap_up"}, headers=moderator).json
    fresh = client.post(pings_url, json={"template": "two_minutes"}, headers=moderator).json
    three_minutes_ago = utcnow() - timedelta(minutes=3)
    db.session.execute(update(Ping).where(Ping.id != fresh["id"])
                       .values(sent_at=three_minutes_ago))
    db.session.execute(update(PingRecipient).where(
        PingRecipient.ping_id == answered["id"], PingRecipient.attendee_id == cast["bernd"].id,
    ).values(acknowledged_at=three_minutes_ago + timedelta(seconds=90)))
    db.session.execute(update(PingRecipient).where(PingRecipient.ping_id == late["id"])
                       .values(acknowledged_at=three_minutes_ago + timedelta(seconds=150)))
    db.session.commit()

    listed = client.get(pings_url, headers=moderator).json
    flags = {p["id"]: p["unacknowledged"] for p in listed}
    assert flags == {answered["id"]: False, ignored["id"]: True, late["id"]: True,
                     fresh["id"]: False}  # fresh: its 2 minutes are not over yet
    assert listed[0]["id"] == fresh["id"]  # newest first


def test_pings_are_rate_limited_per_sender_and_session(fcm, client, cast, bearer,
                                                       pings_url, by_key, dispatch):
    moderator = bearer(cast["mod"])
    for _ in range(6):
        assert client.post(pings_url, json={"template": "on_in_5"},
                           headers=moderator).status_code == 201
    refused = client.post(pings_url, json={"template": "on_in_5"}, headers=moderator)
    assert refused.status_code == 429 and set(refused.json) == SHAPE
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert db.session.scalar(select(func.count(Ping.id))) == 6
    # the organiser has an allowance of their own, and so has each session
    assert client.post(pings_url, json={"template": "on_in_5"},
                       headers=bearer(cast["organiser"])).status_code == 201
    other = f"/api/v1/sessions/{by_key['panel-4'].id}/pings"
    assert client.post(other, json={"template": "on_in_5"},
                       headers=bearer(cast["other_mod"])).status_code == 201


def test_pings_are_in_the_audit_log(client, cast, bearer, pings_url, by_key):
    ping = client.post(pings_url, json={"template": "on_in_5"},
                       headers=bearer(cast["mod"])).json
    entry = db.session.scalar(select(AuditEntry))
    assert (entry.action, entry.actor_id, entry.subject, entry.recipients) == (
        "ping.send", cast["mod"].id, f"session:{by_key['panel-3'].id}", 2)
    assert entry.after["ping"] == ping["id"] and entry.after["template"] == "on_in_5"


# --- who may do what -----------------------------------------------------------------

ROLES = ("attendee", "speaker", "other_mod", "mod", "organiser")
ALLOWED = {
    "announce": {"organiser"},
    "list announcements": {"organiser"},
    "ping": {"mod", "organiser"},
    "list pings": {"mod", "organiser"},
}
WHO = {"attendee": "attendee", "speaker": "amelie", "other_mod": "other_mod", "mod": "mod",
       "organiser": "organiser"}


@pytest.mark.parametrize("action", ALLOWED)
@pytest.mark.parametrize("role", ROLES)
def test_the_role_matrix(role, action, fcm, client, cast, bearer, pings_url, dispatch):
    """Attendee, speaker, moderator of another session, moderator of this session,
    organiser: each refusal is a 403 in the one error shape, and nothing is sent."""
    headers = bearer(cast[WHO[role]])
    announcements = "/api/v1/events/alliance-2020/announcements"
    response = {
        "announce": lambda: client.post(announcements, headers=headers, json={
            "title": "Welcome", "body": "Doors open.", "audience": "all"}),
        "list announcements": lambda: client.get(announcements, headers=headers),
        "ping": lambda: client.post(pings_url, headers=headers, json={"template": "wrap_up"}),
        "list pings": lambda: client.get(pings_url, headers=headers),
    }[action]()
    dispatch()

    if role in ALLOWED[action]:
        assert response.status_code in (200, 201), response.json
        return
    assert response.status_code == 403, response.json
    assert set(response.json) == SHAPE
    assert fcm.received == []
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0
    assert db.session.scalar(select(func.count(AuditEntry.id))) == 0
