"""Announcements: audiences, dry runs, texts per language, scheduling, priority, figures.

The event is shifted to 29-30 March 2027 (summer time began on the 28th, as it did the
day before the 2020 conference), so that it lies in the future; pushes go through the
real firebase-admin to the fake FCM.
"""

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from companion.schedule import importing
from companion.extensions import db
from companion.organising.audit import AuditEntry
from companion.organising.models import Announcement
from companion.people.models import Bookmark
from companion.schedule import operations as schedule_ops
from companion.schedule.models import Session, SessionPerson
from companion.timeutil import utcnow
from notifications.models import InboxNotification, OutboxMessage

SHAPE = {"code", "status", "message", "errors"}
UTC = timezone.utc
FIRST_DAY = date(2027, 3, 29)  # a Monday; Vienna went to summer time on Sunday the 28th
URL = "/api/v1/events/alliance-2020/announcements"


@pytest.fixture
def event(conference):
    """The conference moved to 29-30 March 2027: in the future, on summer time."""
    importing.seed_conference(schedule_ops.conference_data(), shift_to=FIRST_DAY)
    db.session.commit()
    return conference


@pytest.fixture
def by_key(event):
    return {s.key: s for s in db.session.scalars(select(Session))}


@pytest.fixture
def people(event, by_key, make_attendee, add_device):
    """Six attendees, each with a phone, and what makes each one different."""
    made = {
        "ada": make_attendee(language="en"),                      # follows the keynotes
        "bea": make_attendee(language="fr", roles=["speaker"]),   # speaks at Panel 3
        "cid": make_attendee(language="de", roles=["organiser"]),
        "dan": make_attendee(language="de"),                      # unfollowed Panel 1
        "eva": make_attendee(language="es", roles=["moderator"]), # moderates the keynotes
        "fay": make_attendee(language="ru"),
    }
    db.session.add_all([
        Bookmark(attendee_id=made["ada"].id, session_id=by_key["keynotes"].id),
        Bookmark(attendee_id=made["dan"].id, session_id=by_key["panel-1"].id, following=False),
        SessionPerson(session_id=by_key["panel-3"].id, attendee_id=made["bea"].id,
                      role="speaker"),
        SessionPerson(session_id=by_key["keynotes"].id, attendee_id=made["eva"].id,
                      role="moderator"),
    ])
    db.session.commit()
    for name, attendee in made.items():
        add_device(attendee, token=f"fid-{name}")
    return made


@pytest.fixture
def organiser(people, bearer):
    return bearer(people["cid"])


def outbox_count() -> int:
    return db.session.scalar(select(func.count(OutboxMessage.id)))


AUDIENCES = {
    "all": ("all", {"ada", "bea", "cid", "dan", "eva", "fay"}),
    "a role": ({"roles": ["speaker", "moderator"]}, {"bea", "eva"}),
    "a session's people": (lambda k: {"sessions": [k["keynotes"].id]}, {"ada", "eva"}),
    "a language": ({"languages": ["de"]}, {"cid", "dan"}),
    # 15:45 in Vienna (+02:00, summer time): the keynotes are running.
    "in the room (summer time)": ({"in_room_at": "2027-03-29T15:45:00+02:00"},
                                  {"ada", "eva"}),
    # The same wall time written as winter time is 16:45 in Vienna: Panel 1, on
    # everyone's agenda but Dan's, who unfollowed it.
    "in the room (an hour later)": ({"in_room_at": "2027-03-29T15:45:00+01:00"},
                                    {"ada", "bea", "cid", "eva", "fay"}),
    "combined": ({"languages": ["de", "es"], "in_room_at": "2027-03-29T16:45:00+02:00"},
                 {"cid", "eva"}),
    "a role and a session": (lambda k: {"roles": ["moderator"],
                                        "sessions": [k["keynotes"].id, k["panel-3"].id]},
                             {"eva"}),
}


@pytest.mark.parametrize("name", AUDIENCES)
def test_each_audience_reaches_exactly_its_people(name, fcm, client, people, organiser,
                                                  by_key, dispatch):
    audience, expected = AUDIENCES[name]
    audience = audience(by_key) if callable(audience) else audience
    body = {"title": "Lunch moved", "body": "Lunch is served in the Festsaal.",
            "audience": audience}

    counted = client.post(URL, json={**body, "dry_run": True}, headers=organiser)
    assert counted.status_code == 200, counted.json
    assert counted.json["dry_run"] is True and counted.json["id"] is None
    assert counted.json["recipients"] == len(expected)
    assert counted.json["with_device"] == len(expected)
    assert outbox_count() == 0  # a dry run writes nothing
    assert db.session.scalar(select(func.count(Announcement.id))) == 0

    response = client.post(URL, json=body, headers=organiser)
    assert response.status_code == 201, response.json
    assert response.json["recipients"] == response.json["queued"] == len(expected)
    dispatch()

    assert sorted(fcm.targets()) == sorted(f"fid-{who}" for who in expected)
    ids = {people[who].id for who in expected}
    assert set(db.session.scalars(select(InboxNotification.attendee_id))) == ids


def test_a_dry_run_counts_devices_and_muted_ones_and_sends_nothing(
        fcm, client, event, make_attendee, add_device, bearer, dispatch):
    organiser = make_attendee(roles=["organiser"])
    add_device(organiser)
    make_attendee()  # no phone
    make_attendee(notify={"announcements": False})  # muted, no phone
    quiet = make_attendee(notify={"announcements": False})
    add_device(quiet)

    response = client.post(URL, headers=bearer(organiser), json={
        "title": "Welcome", "body": "Doors open at 11:00.", "audience": "all",
        "dry_run": True, "priority": "high"})

    assert response.status_code == 200
    figures = {name: response.json[name] for name in ("recipients", "with_device", "muted")}
    assert figures == {"recipients": 4, "with_device": 2, "muted": 2}
    assert response.json["status"] == "draft"
    dispatch()
    assert fcm.received == []
    assert outbox_count() == 0
    # none but the seed's, which nobody signed
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.actor_id.is_not(None))) == 0


def test_it_lands_in_every_inbox_even_without_a_device_and_never_muted_ones(
        fcm, client, event, make_attendee, add_device, bearer, dispatch):
    organiser = make_attendee(roles=["organiser"])
    phoneless = make_attendee()
    quiet = make_attendee(notify={"announcements": False})
    add_device(quiet)

    response = client.post(URL, headers=bearer(organiser), json={
        "title": "Welcome", "body": "Doors open at 11:00.", "audience": "all"})
    assert (response.json["recipients"], response.json["muted"],
            response.json["queued"]) == (3, 1, 2)
    dispatch()

    assert fcm.received == []  # the only phone is muted
    inbox = client.get("/api/v1/me/notifications", headers=bearer(phoneless)).json
    assert [(n["kind"], n["title"], n["body"]) for n in inbox] == [
        ("announcement", "Welcome", "Doors open at 11:00.")]
    assert client.get("/api/v1/me/notifications", headers=bearer(quiet)).json == []
    figures = client.get(f"{URL}/{response.json['id']}", headers=bearer(organiser)).json
    assert (figures["sent"], figures["queued"], figures["status"]) == (2, 0, "sent")


def test_each_reads_their_own_language_or_else_the_main_text(fcm, client, people,
                                                             organiser, dispatch):
    response = client.post(URL, headers=organiser, json={
        "title": "Lunch moved", "body": "Lunch is served in the Festsaal.",
        "audience": {"languages": ["en", "fr", "de"]},
        "texts": {"fr": {"title": "Déjeuner déplacé", "body": "Le déjeuner est servi "
                         "dans la Festsaal."}, "de": {"body": "Mittagessen im Festsaal."}}})
    assert response.status_code == 201, response.json
    dispatch()

    shown = {r.target: r.message["notification"] for r in fcm.received}
    assert shown["fid-bea"] == {"title": "Déjeuner déplacé",
                                "body": "Le déjeuner est servi dans la Festsaal."}
    # German text only for the body; the title stays the organiser's own
    assert shown["fid-cid"] == {"title": "Lunch moved", "body": "Mittagessen im Festsaal."}
    assert shown["fid-ada"] == {"title": "Lunch moved",
                                "body": "Lunch is served in the Festsaal."}


def test_a_scheduled_one_goes_out_at_send_at_and_can_change_until_then(
        fcm, client, people, organiser, dispatch):
    send_at = (utcnow() + timedelta(hours=2)).replace(microsecond=0)
    response = client.post(URL, headers=organiser, json={
        "title": "Cocktail", "body": "The cocktail starts at 18:00.",
        "audience": {"languages": ["de"]}, "send_at": send_at.isoformat()})
    assert response.status_code == 201
    created = response.json
    assert created["status"] == "scheduled"
    # rendered in Vienna's time (+01:00 in winter: now is November 2026)
    assert datetime.fromisoformat(created["send_at"]) == send_at
    detail = f"{URL}/{created['id']}"

    changed = client.patch(detail, headers=organiser, json={
        "body": "The cocktail starts at 18:30.", "audience": {"languages": ["ru"]}})
    assert changed.status_code == 200, changed.json
    assert (changed.json["recipients"], changed.json["queued"]) == (1, 1)

    dispatch(send_at - timedelta(seconds=1))
    assert fcm.received == []
    dispatch(send_at)
    (received,) = fcm.received
    assert received.target == "fid-fay"  # the new audience only
    assert received.message["notification"]["body"] == "The cocktail starts at 18:30."
    # German speakers' messages were withdrawn by the change
    statuses = dict(db.session.execute(
        select(OutboxMessage.attendee_id, OutboxMessage.status)).all())
    assert statuses == {people["cid"].id: "cancelled", people["dan"].id: "cancelled",
                        people["fay"].id: "sent"}

    late = client.patch(detail, headers=organiser, json={"title": "Too late"})
    assert late.status_code == 409 and set(late.json) == SHAPE
    assert client.delete(detail, headers=organiser).status_code == 409
    assert client.get(detail, headers=organiser).json["status"] == "sent"


def test_a_cancelled_one_never_goes_out(fcm, client, people, organiser, dispatch):
    send_at = utcnow() + timedelta(minutes=30)
    created = client.post(URL, headers=organiser, json={
        "title": "Photo", "body": "Group photo on the stairs.", "audience": "all",
        "send_at": send_at.isoformat()}).json

    assert client.delete(f"{URL}/{created['id']}", headers=organiser).status_code == 204
    dispatch(send_at)
    dispatch(send_at + timedelta(hours=1))

    assert fcm.received == []
    assert db.session.scalar(select(func.count(InboxNotification.id))) == 0
    shown = client.get(f"{URL}/{created['id']}", headers=organiser).json
    assert (shown["status"], shown["queued"], shown["sent"]) == ("cancelled", 0, 0)
    again = client.patch(f"{URL}/{created['id']}", headers=organiser, json={"title": "x"})
    assert again.status_code == 409
    actions = db.session.execute(
        select(AuditEntry.action, AuditEntry.recipients, AuditEntry.actor_id)
        .where(AuditEntry.actor_id.is_not(None)).order_by(AuditEntry.id)).all()
    assert actions == [("announcement.create", 6, people["cid"].id),
                       ("announcement.cancel", 6, people["cid"].id)]


@pytest.mark.parametrize("priority,android,apns_priority,time_sensitive", [
    ("high", "high", "10", True),
    ("normal", "normal", "5", False),
])
def test_an_urgent_one_carries_the_high_priority_options(
        priority, android, apns_priority, time_sensitive, fcm, client, people, organiser,
        dispatch):
    response = client.post(URL, headers=organiser, json={
        "title": "Evacuation drill", "body": "Please follow the stewards.",
        "audience": {"languages": ["en"]}, "priority": priority})
    assert response.json["priority"] == priority
    dispatch()

    (received,) = fcm.received
    message = received.message
    assert message["android"]["priority"] == android
    assert message["apns"]["headers"]["apns-priority"] == apns_priority
    aps = message["apns"].get("payload", {}).get("aps", {})
    assert (aps.get("interruption-level") == "time-sensitive") is time_sensitive
    assert 24 * 3600 - 60 < int(message["android"]["ttl"].rstrip("s")) <= 24 * 3600


def test_figures_count_sent_failed_expired_muted_and_pruned_tokens(
        fcm, client, event, make_attendee, add_device, bearer, dispatch):
    organiser = make_attendee(roles=["organiser"])
    add_device(organiser, token="fid-organiser")
    gone = make_attendee()
    add_device(gone, token="fid-gone")
    bad = make_attendee()
    add_device(bad, token="fid-bad")
    make_attendee(notify={"announcements": False})
    fcm.fail("fid-gone", "UNREGISTERED")
    fcm.fail("fid-bad", "INVALID_ARGUMENT")
    headers = bearer(organiser)

    first = client.post(URL, headers=headers, json={
        "title": "Welcome", "body": "Doors open at 11:00.", "audience": "all"}).json
    dispatch()
    late = client.post(URL, headers=headers, json={
        "title": "Shuttle", "body": "The shuttle leaves at 19:00.",
        "audience": {"roles": ["organiser"]},
        "send_at": (utcnow() + timedelta(minutes=5)).isoformat()}).json
    dispatch(utcnow() + timedelta(days=2))  # a day after it was due: too late

    shown = client.get(f"{URL}/{first['id']}", headers=headers).json
    figures = {name: shown[name] for name in ("recipients", "with_device", "muted", "queued",
                                               "sent", "failed", "expired", "tokens_pruned")}
    assert figures == {"recipients": 4, "with_device": 3, "muted": 1, "queued": 0,
                       "sent": 2, "failed": 1, "expired": 0, "tokens_pruned": 1}
    listed = client.get(URL, headers=headers)
    assert [a["id"] for a in listed.json] == [late["id"], first["id"]]  # newest first
    assert (listed.json[0]["expired"], listed.json[0]["sent"]) == (1, 0)
    assert "X-Pagination" in listed.headers


@pytest.mark.parametrize("body,field", [
    ({"audience": {}}, "audience"),
    ({"audience": "everyone"}, "audience"),
    ({"audience": {"roles": ["king"]}}, "audience"),
    ({"audience": {"languages": ["la"]}}, "audience"),
    ({"audience": {"planet": "earth"}}, "audience"),
    ({"audience": {"sessions": [999999]}}, "audience"),
    ({"audience": {"sessions": list(range(1, 200))}}, "audience"),
    ({"audience": {"in_room_at": "2027-03-29T15:45:00"}}, "audience"),
    ({"send_at": "2027-03-29T15:45:00"}, "send_at"),
    ({"send_at": "2020-03-29T15:45:00+02:00"}, "send_at"),
    ({"send_at": "2099-03-29T15:45:00+02:00"}, "send_at"),
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"body": "x" * 1001}, "body"),
    ({"priority": "shouting"}, "priority"),
    ({"texts": {"xx": {"title": "t"}}}, "texts"),
    ({"texts": {"fr": {}}}, "texts"),
    ({"texts": {"fr": {"title": "x" * 201}}}, "texts"),
    ({"dry_run": "perhaps"}, "dry_run"),
])
def test_what_is_refused_is_a_422_naming_the_field(body, field, client, people, organiser):
    valid = {"title": "Welcome", "body": "Doors open at 11:00.", "audience": "all"}
    response = client.post(URL, headers=organiser, json={**valid, **body})
    assert response.status_code == 422, response.json
    assert set(response.json) == SHAPE
    assert field in response.json["errors"].get("json", response.json["errors"])
    assert outbox_count() == 0


def test_an_organiser_of_another_event_is_refused(client, people, bearer, organiser):
    importing.seed_conference({**schedule_ops.conference_data(),
                                  "event": {**schedule_ops.conference_data()["event"],
                                            "slug": "other"}})
    db.session.commit()
    other = "/api/v1/events/other/announcements"
    response = client.post(other, headers=organiser, json={
        "title": "Welcome", "body": "Doors open.", "audience": "all"})
    assert response.status_code == 403 and set(response.json) == SHAPE
    assert client.get(other, headers=organiser).status_code == 403
    assert client.get(f"{URL}/999", headers=organiser).status_code == 404


# --- a limit per organiser (ANNOUNCEMENT_LIMIT, in the limiter's shared storage) -----

ANNOUNCEMENT = {"title": "Coffee", "body": "In the foyer.", "audience": "all"}


def test_the_announcement_past_the_limit_is_a_429_with_retry_after(client, people, organiser,
                                                                   make_attendee, bearer):
    client.application.config["ANNOUNCEMENT_LIMIT"] = "3 per minute"
    other = bearer(make_attendee(roles=["organiser"]))
    for _ in range(5):  # a dry run sends and keeps nothing: not counted
        dry = client.post(URL, json={**ANNOUNCEMENT, "dry_run": True}, headers=organiser)
        assert dry.status_code == 200
    for _ in range(3):
        assert client.post(URL, json=ANNOUNCEMENT, headers=organiser).status_code == 201

    refused = client.post(URL, json=ANNOUNCEMENT, headers=organiser)

    assert refused.status_code == 429
    assert set(refused.json) == SHAPE
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert db.session.scalar(select(func.count(Announcement.id))) == 3
    # another organiser is not held back by it
    assert client.post(URL, json=ANNOUNCEMENT, headers=other).status_code == 201


def test_the_default_limit_is_ten_a_minute(client, people, organiser):
    answers = [client.post(URL, json=ANNOUNCEMENT, headers=organiser) for _ in range(11)]
    assert [a.status_code for a in answers] == [201] * 10 + [429]
    assert "Retry-After" in answers[-1].headers
