"""The read path: /me/schedule answers a current ETag with 304 from version counters,
before any agenda is built; public lists are kept per released version."""

import pytest
import sqlalchemy as sa

from companion import readcache
from companion.extensions import db
from companion.people.models import Bookmark
from companion.schedule import drafts, releasing, states
from companion.schedule.models import SessionPerson

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
    state = {**states.session_state(session), "title": "Renamed"}
    drafts.put_draft(conference, "session", session.id, state)
    db.session.commit()
    assert not modified(client, headers, etag)
    releasing.publish(conference, None, "Renamed")
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
    """Token, attendee, event and versions in one query, and nothing else."""
    headers = bearer(make_attendee())
    etag = etag_of(client, headers)
    statements.clear()
    assert client.get(ME, headers={**headers, "If-None-Match": etag}).status_code == 304
    assert len(statements) == 1, statements


def test_an_agenda_is_its_key_and_its_choices_once_the_release_is_kept(
        client, make_attendee, bearer, statements):
    """The release's sessions are dumped once; each agenda then costs two queries."""
    client.get(ME, headers=bearer(make_attendee()))  # the release's sessions, kept
    headers = bearer(make_attendee())
    statements.clear()
    assert client.get(ME, headers=headers).status_code == 200
    assert len(statements) == 2, statements


def test_the_phones_request_and_a_paged_one_answer_the_same(
        client, conference, make_attendee, bearer, by_key):
    """``/me/schedule`` (and ``?event=``) is answered from the kept release; a query with
    pages goes through the documented view: the same items, pages and totals, for every
    kind of agenda. A release shows at once in both."""
    speaker = make_attendee(reminder_minutes=5)
    db.session.add(SessionPerson(session_id=by_key["panel-3"].id, attendee_id=speaker.id,
                                 role="speaker"))
    quiet = make_attendee(notify={"reminders": False})
    muting = make_attendee(reminder_minutes=20)
    db.session.add_all([
        Bookmark(attendee_id=muting.id, session_id=by_key["panel-1"].id, following=False),
        Bookmark(attendee_id=muting.id, session_id=by_key["lunch"].id, following=True),
    ])
    db.session.commit()
    attendees = [speaker, quiet, muting, make_attendee()]

    def answers(headers):
        phone = client.get(ME, headers=headers)
        own = client.get(ME, query_string={"event": "alliance-2020"}, headers=headers)
        paged = client.get(ME, query_string={"page": 1, "page_size": 100}, headers=headers)
        assert phone.status_code == own.status_code == paged.status_code == 200
        assert phone.data == own.data == paged.data
        assert phone.headers["X-Pagination"] == paged.headers["X-Pagination"]
        assert phone.headers["Cache-Control"] == paged.headers["Cache-Control"]
        return phone.json

    for attendee in attendees:
        assert answers(bearer(attendee))
    headers = bearer(muting)
    items = answers(headers)
    assert by_key["panel-1"].id not in [item["session"]["id"] for item in items]
    assert [item["reasons"] for item in items
            if item["session"]["id"] == by_key["lunch"].id] == [["following"]]

    session = by_key["panel-2"]
    drafts.put_draft(conference, "session", session.id,
                       {**states.session_state(session), "title": "Panel 2, retitled",
                        "status": "cancelled"})
    db.session.commit()
    releasing.publish(conference, None, "Retitled and cancelled")
    db.session.commit()
    for attendee in attendees:
        changed = [item for item in answers(bearer(attendee))
                   if item["session"]["id"] == session.id]
        assert [(item["session"]["title"], item["session"]["status"], item["reminder_at"])
                for item in changed] == [("Panel 2, retitled", "cancelled", None)]

    assert client.get(ME, query_string={"event": "elsewhere"}, headers=headers
                      ).status_code == 404
    assert client.get(ME, headers={"Authorization": "Bearer nope"}).status_code == 401


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
    # version 1 is the seed's: every session came with it
    assert len(client.get(url, query_string={"since": 0}).json["sessions"]) == 12
    assert client.get(url, query_string={"since": 1}).json["sessions"] == []
    session = conference.sessions[2]
    drafts.put_draft(conference, "session", session.id,
                       {**states.session_state(session), "title": "Retitled"})
    db.session.commit()
    assert client.get(url, query_string={"since": 1}).json["sessions"] == []
    releasing.publish(conference, None, "Retitled")
    db.session.commit()
    changed = client.get(url, query_string={"since": 1}).json
    assert changed["version"] == 2
    assert [s["title"] for s in changed["sessions"]] == ["Retitled"]
    assert client.get(url, query_string={"since": 2}).json["sessions"] == []
    assert client.get(url, query_string={"since": -1}).status_code == 422


@pytest.mark.postgres
def test_a_read_connection_the_database_dropped_is_replaced(pg_conference):
    """The key queries run on a connection kept per thread: when the server ends it (a
    restart, an idle timeout), the next request still answers, on a new connection."""
    client = pg_conference.test_client()
    first = client.get(SESSIONS)
    assert first.status_code == 200
    with pg_conference.app_context():
        kept = readcache.reads().connection
        backend = kept.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        db.session.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        db.session.commit()
    again = client.get(SESSIONS)
    assert again.status_code == 200 and again.data == first.data
    with pg_conference.app_context():
        assert readcache.reads().connection is not kept
