"""The read path: /me/schedule answers a current ETag with 304 from version counters,
before any agenda is built; public lists are kept per released version."""

from companion.extensions import db
from companion.schedule import releases

ME = "/api/v1/me/schedule"
EVENTS = "/api/v1/events"
SESSIONS = "/api/v1/events/alliance-2020/sessions"


def etag_of(client, headers):
    response = client.get(ME, headers=headers)
    assert response.status_code == 200
    return response.headers["ETag"]


def modified(client, headers, etag) -> bool:
    status = client.get(ME, headers={**headers, "If-None-Match": etag}).status_code
    assert status in (200, 304)
    return status == 200


def test_a_current_etag_is_304_and_bookmarks_preferences_releases_change_it(
        client, conference, make_attendee, bearer):
    headers = bearer(make_attendee())
    etag = etag_of(client, headers)
    assert not modified(client, headers, etag)
    assert not modified(client, headers, f"W/{etag}")

    session = conference.sessions[3]
    assert client.put(f"/api/v1/me/bookmarks/{session.id}", headers=headers).status_code == 200
    assert modified(client, headers, etag)
    etag = etag_of(client, headers)
    assert session.id in [item["session"]["id"] for item in client.get(ME, headers=headers).json]

    assert client.patch("/api/v1/me", json={"reminder_minutes": 25},
                        headers=headers).status_code == 200
    assert modified(client, headers, etag)
    etag = etag_of(client, headers)

    # A draft edit changes nothing public; its release does.
    state = {**releases.session_state(session), "title": "Renamed"}
    releases.put_draft(conference, "session", session.id, state)
    db.session.commit()
    assert not modified(client, headers, etag)
    releases.publish(conference, None, "Renamed")
    db.session.commit()
    assert modified(client, headers, etag)


def test_the_etag_is_personal_and_follows_the_query(client, make_attendee, bearer):
    one, two = bearer(make_attendee()), bearer(make_attendee())
    assert etag_of(client, one) != etag_of(client, two)
    page = client.get(ME, query_string={"page_size": 2}, headers=one)
    assert page.headers["ETag"] != etag_of(client, one)
    assert client.get(ME, query_string={"page_size": 2},
                      headers={**one, "If-None-Match": page.headers["ETag"]}).status_code == 304


def test_the_304_builds_nothing(client, make_attendee, bearer, statements):
    """Token, attendee and event in one query, then the version: two statements."""
    headers = bearer(make_attendee())
    etag = etag_of(client, headers)
    statements.clear()
    assert client.get(ME, headers={**headers, "If-None-Match": etag}).status_code == 304
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2, selects


def test_public_lists_are_kept_per_version_and_answer_304(client, conference, statements):
    for url in (EVENTS, SESSIONS, f"{SESSIONS}?kind=panel",
                "/api/v1/events/alliance-2020/schedule/changes?since=0"):
        first = client.get(url)
        statements.clear()
        again = client.get(url)
        assert again.data == first.data and again.headers["ETag"] == first.headers["ETag"]
        assert again.headers.get("X-Pagination") == first.headers.get("X-Pagination")
        assert len(statements) == 1, statements  # the version key only
        assert client.get(url, headers={"If-None-Match": first.headers["ETag"]}
                          ).status_code == 304
    assert client.get(f"{SESSIONS}?kind=panel").data != client.get(SESSIONS).data
    assert client.get("/api/v1/events/nowhere/sessions").status_code == 404


def test_the_changes_since_follow_a_release(client, conference):
    url = "/api/v1/events/alliance-2020/schedule/changes"
    assert client.get(url, query_string={"since": 0}).json["sessions"] == []
    session = conference.sessions[2]
    releases.put_draft(conference, "session", session.id,
                       {**releases.session_state(session), "title": "Retitled"})
    db.session.commit()
    assert client.get(url, query_string={"since": 0}).json["sessions"] == []
    releases.publish(conference, None, "Retitled")
    db.session.commit()
    changed = client.get(url, query_string={"since": 0}).json
    assert changed["version"] == 1
    assert [s["title"] for s in changed["sessions"]] == ["Retitled"]
    assert client.get(url, query_string={"since": 1}).json["sessions"] == []
    assert client.get(url, query_string={"since": -1}).status_code == 422
