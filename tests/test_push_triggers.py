"""Reminders follow what attendees do, written in the same transaction as the change:
an import, a lead-time or notify change on /me, a bookmark or a mute."""

import pytest
from sqlalchemy import select

from companion.extensions import db
from companion.schedule.models import Session
from notifications.models import OutboxMessage


def reminders(attendee_id: int, *statuses: str) -> dict[str, tuple[str, str]]:
    """``{session key: (status, due_at in UTC)}`` of the attendee's reminders, the
    latest per session (of the given statuses, if any)."""
    db.session.expire_all()
    query = select(OutboxMessage).where(OutboxMessage.attendee_id == attendee_id,
                                        OutboxMessage.kind == "reminder")
    if statuses:
        query = query.where(OutboxMessage.status.in_(statuses))
    return {db.session.get(Session, row.session_id).key: (row.status, row.due_at.isoformat())
            for row in db.session.scalars(query.order_by(OutboxMessage.id))}


def pending(attendee_id: int) -> dict[str, str]:
    return {key: due for key, (_, due) in reminders(attendee_id, "pending").items()}


@pytest.fixture
def session_id(conference):
    def find(key: str) -> int:
        return db.session.scalar(select(Session.id).where(Session.key == key))
    return find


def test_an_imported_attendee_has_the_default_reminders(runner, conference, tmp_path):
    people = tmp_path / "people.csv"
    people.write_text("email,name,organisation,country,roles\n"
                      "ada@example.org,Ada,OSCE,Austria,attendee\n", "utf-8")
    result = runner.invoke(args=["attendees", "import", str(people),
                                 "--codes", str(tmp_path / "codes.csv")])
    assert result.exit_code == 0, result.output
    ada_id = db.session.scalar(select(OutboxMessage.attendee_id).limit(1))
    assert pending(ada_id) == {
        "panel-1": "2020-03-30T14:20:00+00:00",
        "networking-cocktail": "2020-03-30T15:50:00+00:00",
        "panel-2": "2020-03-31T06:50:00+00:00",
        "panel-3": "2020-03-31T08:50:00+00:00",
        "panel-4": "2020-03-31T12:50:00+00:00",
    }
    again = runner.invoke(args=["attendees", "import", str(people),
                                "--codes", str(tmp_path / "codes.csv")])
    assert again.exit_code == 0
    assert db.session.scalar(select(db.func.count()).select_from(OutboxMessage)) == 5


def test_lead_time_and_notify_changes_move_and_cancel_reminders(client, make_attendee, bearer):
    ada = make_attendee()
    headers = bearer(ada)
    assert client.patch("/api/v1/me", json={"reminder_minutes": 30},
                        headers=headers).status_code == 200
    assert pending(ada.id)["panel-1"] == "2020-03-30T14:00:00+00:00"

    client.patch("/api/v1/me", json={"notify": {"reminders": False}}, headers=headers)
    assert pending(ada.id) == {}
    assert {status for status, _ in reminders(ada.id).values()} == {"cancelled"}

    client.patch("/api/v1/me", json={"notify": {"reminders": True}}, headers=headers)
    assert len(pending(ada.id)) == 5


def test_bookmarks_and_mutes_plan_and_cancel(client, make_attendee, bearer, session_id):
    ada = make_attendee()
    headers = bearer(ada)
    client.patch("/api/v1/me", json={"reminder_minutes": 10}, headers=headers)
    assert "coffee-break-2" not in pending(ada.id)

    put = client.put(f"/api/v1/me/bookmarks/{session_id('coffee-break-2')}", headers=headers)
    assert put.status_code in (200, 201, 204)
    assert pending(ada.id)["coffee-break-2"] == "2020-03-31T08:20:00+00:00"

    client.delete(f"/api/v1/me/bookmarks/{session_id('panel-1')}", headers=headers)
    assert "panel-1" not in pending(ada.id)
    assert reminders(ada.id)["panel-1"][0] == "cancelled"

    client.put(f"/api/v1/me/bookmarks/{session_id('panel-1')}", headers=headers)
    assert pending(ada.id)["panel-1"] == "2020-03-30T14:20:00+00:00"


def test_a_refused_change_writes_no_reminder(client, make_attendee, bearer):
    ada = make_attendee()
    headers = bearer(ada)
    assert client.put("/api/v1/me/bookmarks/999999", headers=headers).status_code == 404
    assert client.patch("/api/v1/me", json={"reminder_minutes": 500},
                        headers=headers).status_code == 422
    assert reminders(ada.id) == {}


def test_a_rehearsal_shift_moves_every_reminder(runner, make_attendee):
    ada = make_attendee()
    assert runner.invoke(args=["notifications", "plan"]).exit_code == 0
    assert pending(ada.id)["panel-1"] == "2020-03-30T14:20:00+00:00"

    result = runner.invoke(args=["seed", "--shift-to", "2026-10-24"])
    assert result.exit_code == 0, result.output
    assert "moved to 2026-10-24, version 2" in result.output  # a release like any move
    # 24 October 2026 is still summer time in Vienna: 16:20 local is 14:20 UTC
    assert pending(ada.id)["panel-1"] == "2026-10-24T14:20:00+00:00"
    # 25 October is winter time: Panel 2 at 09:00 local is 08:00 UTC, reminder 07:50
    assert pending(ada.id)["panel-2"] == "2026-10-25T07:50:00+00:00"
    # the release re-keys the untried reminders in place
    statuses = db.session.scalars(select(OutboxMessage.status).where(
        OutboxMessage.attendee_id == ada.id, OutboxMessage.kind == "reminder")).all()
    assert sorted(statuses) == ["pending"] * 5
