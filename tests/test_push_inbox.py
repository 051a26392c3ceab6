"""The in-app inbox over HTTP: /me/notifications."""

from datetime import datetime, timedelta, timezone

import pytest

UTC = timezone.utc
# Panel 1 starts at 16:30 in Vienna on 30 March 2020: 14:30 UTC (summer time since the 29th).
PANEL_1_STARTS = datetime(2020, 3, 30, 14, 30, tzinfo=UTC)
NOW = PANEL_1_STARTS - timedelta(minutes=10)


BASE = "/api/v1/me/notifications"


@pytest.fixture
def ada_with_news(make_attendee, queue, dispatch):
    """An attendee who was pushed two messages, a minute apart."""
    ada = make_attendee()
    queue(ada, title="First")
    queue(ada, title="Second", due_at=NOW + timedelta(minutes=1))
    dispatch(NOW + timedelta(minutes=1))
    return ada


def test_the_inbox_needs_a_token(client):
    for response in (client.get(BASE), client.post(f"{BASE}/1/read")):
        assert response.status_code == 401
        assert set(response.json) == {"code", "status", "message", "errors"}


def test_the_inbox_lists_what_was_pushed_newest_first(client, bearer, ada_with_news,
                                                      make_attendee, queue, dispatch):
    queue(make_attendee(), title="Someone else's")
    dispatch(NOW + timedelta(minutes=1))

    response = client.get(BASE, headers=bearer(ada_with_news))

    assert response.status_code == 200
    assert [item["title"] for item in response.json] == ["Second", "First"]
    item = response.json[0]
    assert set(item) == {"id", "kind", "title", "body", "data", "created_at", "read_at"}
    assert item["created_at"] == "2020-03-30T16:21:00+02:00"  # the event's zone
    assert item["read_at"] is None
    assert item["data"] == {"type": "announcement", "session_id": "5"}
    assert '"total": 2' in response.headers["X-Pagination"]


def test_a_notification_is_read_once(client, bearer, ada_with_news, make_attendee):
    headers = bearer(ada_with_news)
    first, second = client.get(BASE, headers=headers).json

    read = client.post(f"{BASE}/{second['id']}/read", headers=headers)
    again = client.post(f"{BASE}/{second['id']}/read", headers=headers)

    assert read.status_code == 200
    assert read.json["read_at"] is not None
    assert again.json["read_at"] == read.json["read_at"]
    unread = client.get(f"{BASE}?unread=true", headers=headers).json
    assert [item["id"] for item in unread] == [first["id"]]
    done = client.get(f"{BASE}?unread=false", headers=headers).json
    assert [item["id"] for item in done] == [second["id"]]

    stranger = bearer(make_attendee())
    assert client.post(f"{BASE}/{first['id']}/read", headers=stranger).status_code == 404
    assert client.post(f"{BASE}/999999/read", headers=headers).status_code == 404
    assert client.get(BASE, headers=stranger).json == []


def test_the_inbox_is_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert paths[BASE]["get"]["security"] == [{"bearerAuth": []}]
    read = paths[BASE + "/{notification_id}/read"]["post"]
    assert read["security"] == [{"bearerAuth": []}]
    assert {"200", "401", "404"} <= set(read["responses"])
