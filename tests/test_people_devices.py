"""Push-token registration: idempotent, one owner per token, a cap per attendee."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from companion.extensions import db
from companion.people.devices import MAX_DEVICES, register_device
from companion.people.models import Device

SHAPE = {"code", "status", "message", "errors"}
TOKEN = "fcm:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx"


def register(client, headers, token=TOKEN, platform="android", **extra):
    return client.post("/api/v1/me/devices", headers=headers,
                       json={"token": token, "platform": platform, **extra})


def devices() -> list[tuple[int, str, str, str | None]]:
    rows = db.session.scalars(select(Device).order_by(Device.id)).all()
    return [(d.attendee_id, d.token, d.platform, d.language) for d in rows]


def test_registering_twice_keeps_one_row_and_refreshes_it(client, make_attendee, bearer):
    ada = make_attendee(language="fr")
    headers = bearer(ada)
    first = register(client, headers)
    assert first.status_code == 201
    assert first.json["token"] == TOKEN
    assert first.json["language"] is None
    seen = datetime.fromisoformat(first.json["last_seen_at"])
    assert seen.utcoffset() == seen.astimezone(ZoneInfo("Europe/Vienna")).utcoffset()
    again = register(client, headers, platform="ios", language="de")
    assert again.status_code == 200
    assert datetime.fromisoformat(again.json["last_seen_at"]) >= seen
    assert devices() == [(ada.id, TOKEN, "ios", "de")]
    device = db.session.scalar(select(Device))
    assert device.push_language == "de"
    register(client, headers, language=None)
    db.session.refresh(device)
    assert device.push_language == "fr"  # follows the attendee's language


@pytest.mark.parametrize("platform,tag,language", [
    ("Android", "en-GB", "en"), ("iOS", "fr-CA", "fr"), ("WEB", "de_AT", "de"),
    ("android", "pt-BR", "en"), ("ios", "ES-419", "es"), ("android", "zh-Hant-TW", "en"),
])
def test_a_phones_locale_is_matched_to_a_served_language(client, make_attendee, bearer,
                                                          platform, tag, language):
    response = register(client, bearer(make_attendee()), platform=platform, language=tag)
    assert response.status_code == 201, response.json
    assert response.json["language"] == language  # the app learns which one it gets
    assert devices()[0][2:] == (platform.lower(), language)


def test_an_unserved_locale_gets_the_events_first_language(client, conference,
                                                           make_attendee, bearer):
    conference.languages = ["de", "en", "xx"]  # xx: no catalogue, so not served
    db.session.commit()
    headers = bearer(make_attendee())
    assert register(client, headers, language="it-IT").json["language"] == "de"
    assert register(client, headers, language="en-US").json["language"] == "en"
    assert register(client, headers, language="xx").json["language"] == "de"


def test_a_token_seen_for_someone_else_moves_to_them(client, make_attendee, bearer):
    ada, bob = make_attendee(), make_attendee()
    register(client, bearer(ada))
    assert register(client, bearer(bob), platform="web").status_code == 200
    assert devices() == [(bob.id, TOKEN, "web", None)]


def test_the_least_recently_seen_go_beyond_the_cap(client, make_attendee, bearer):
    ada, bob = make_attendee(), make_attendee()
    headers = bearer(ada)
    register(client, bearer(bob), token="bobs-phone")
    for n in range(MAX_DEVICES):
        register(client, headers, token=f"phone-{n}")
    start = datetime(2020, 3, 30, 8, 0, tzinfo=timezone.utc)
    for n, device in enumerate(db.session.scalars(
            select(Device).where(Device.attendee_id == ada.id).order_by(Device.id))):
        device.last_seen_at = start + timedelta(minutes=(n * 7) % MAX_DEVICES)  # shuffled
    db.session.commit()
    oldest = db.session.scalar(select(Device.token).order_by(Device.last_seen_at).limit(1))
    register(client, headers, token="phone-new")
    mine = {token for _, token, _, _ in devices() if token != "bobs-phone"}
    assert len(mine) == MAX_DEVICES
    assert oldest not in mine and "phone-new" in mine
    assert "bobs-phone" in {token for _, token, _, _ in devices()}


def test_drop_removes_only_ones_own(client, make_attendee, bearer):
    ada, bob = make_attendee(), make_attendee()
    as_ada, as_bob = bearer(ada), bearer(bob)
    register(client, as_ada)
    register(client, as_ada, token="web/push/endpoint:1")
    assert client.delete(f"/api/v1/me/devices/{TOKEN}", headers=as_bob).status_code == 204
    assert len(devices()) == 2
    assert client.delete(f"/api/v1/me/devices/{TOKEN}", headers=as_ada).status_code == 204
    assert client.delete("/api/v1/me/devices/web/push/endpoint:1", headers=as_ada
                         ).status_code == 204
    assert devices() == []
    assert client.delete(f"/api/v1/me/devices/{TOKEN}", headers=as_ada).status_code == 204


@pytest.mark.parametrize("body", [
    {}, {"token": TOKEN}, {"platform": "android"},
    {"token": TOKEN, "platform": "windows"}, {"token": TOKEN, "platform": 1},
    {"token": TOKEN, "platform": "android", "language": "x"},
    {"token": TOKEN, "platform": "android", "language": "en GB"},
    {"token": TOKEN, "platform": "android", "language": "en-GB-" + "x" * 30},
    {"token": TOKEN, "platform": "android", "language": 12},
    {"token": TOKEN, "platform": "android", "language": "en" * 5000},
    {"token": "", "platform": "android"}, {"token": "x" * 513, "platform": "android"},
    {"token": 12345, "platform": "android"}, {"token": [TOKEN], "platform": "android"},
    {"token": TOKEN, "platform": "android", "attendee_id": 1},
])
def test_bad_registrations_are_422_and_store_nothing(client, make_attendee, bearer, body):
    response = client.post("/api/v1/me/devices", headers=bearer(make_attendee()), json=body)
    assert response.status_code == 422
    assert set(response.json) == SHAPE
    assert db.session.scalar(select(func.count(Device.id))) == 0


@pytest.mark.parametrize("method,path", [
    ("post", "/api/v1/me/devices"), ("delete", f"/api/v1/me/devices/{TOKEN}"),
])
def test_devices_need_a_token(client, make_attendee, method, path):
    register_device(make_attendee(), TOKEN, "android")
    db.session.commit()
    response = getattr(client, method)(path, json={"token": "other", "platform": "ios"})
    assert response.status_code == 401
    assert set(response.json) == SHAPE
    assert len(devices()) == 1
