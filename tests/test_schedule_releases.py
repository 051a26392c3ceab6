"""Organisers edit the agenda as a draft, release it as numbered versions with a
changelog, and exactly the people affected are told, once, through the real
firebase-admin against the fake FCM. The event is shifted into the future
(``seed --shift-to``) so that the dispatcher runs on the real clock."""

import threading
import time
from datetime import date, datetime, timedelta, timezone

import pytest
from flask import g
from sqlalchemy import func, select, text

from companion import auth
from companion.extensions import db
from companion.organising.audit import AuditEntry
from companion.people.models import Attendee, Bookmark
from companion.schedule import changelog, releasing
from companion.schedule import operations as schedule_ops
from companion.schedule.drafts import create_session, update_session
from companion.schedule.models import (
    DraftEdit,
    Event,
    ScheduleVersion,
    Session,
    SessionPerson,
)
from companion.schedule.states import instant
from notifications import outbox, reminders
from notifications import releases as notification_releases
from notifications.models import (
    InboxNotification,
    OutboxFanout,
    OutboxMessage,
    ReminderReplan,
)

# A Monday the day after the spring change to summer time, as 30 March 2020 was.
SHIFT_TO = "2027-03-29"
DAY_1, DAY_2 = "2027-03-29", "2027-03-30"
API = "/api/v1/events/alliance-2020"
SHAPE = {"code", "status", "message", "errors"}


@pytest.fixture
def event(runner, conference):
    assert date.fromisoformat(SHIFT_TO) > date.today(), "the shift must be in the future"
    result = runner.invoke(args=["seed", "--shift-to", SHIFT_TO])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    return schedule_ops.get_event("alliance-2020")


@pytest.fixture
def key(event):
    def find(session_key: str) -> int:
        return db.session.scalar(select(Session.id).where(Session.key == session_key))
    return find


# The conference's first release (the seed), and the move to SHIFT_TO.
BASE = 2


@pytest.fixture
def people(event, make_attendee, add_device, bearer, client, key):
    """An organiser; a follower of the keynotes; the keynotes' speaker and moderator;
    a follower who switched schedule changes off; a bystander; one who muted Panel 1."""
    who = {
        "organiser": make_attendee(roles=["organiser"], name="Olga Organiser"),
        "follower": make_attendee(name="Fay Follower"),
        "speaker": make_attendee(roles=["speaker"], name="Sam Speaker"),
        "moderator": make_attendee(roles=["moderator"], name="Mo Moderator"),
        "quiet": make_attendee(name="Quinn Quiet",
                               notify={"reminders": True, "schedule_changes": False,
                                       "announcements": True, "networking": True}),
        "bystander": make_attendee(name="Bea Bystander"),
        "muter": make_attendee(name="Max Muter"),
    }
    for name, attendee in who.items():
        add_device(attendee, token=f"fid-{name}")
    keynotes = key("keynotes")
    for name in ("follower", "quiet"):
        assert client.put(f"/api/v1/me/bookmarks/{keynotes}",
                          headers=bearer(who[name])).status_code == 200
    assert client.delete(f"/api/v1/me/bookmarks/{key('panel-1')}",
                         headers=bearer(who["muter"])).status_code == 204
    db.session.add_all([
        SessionPerson(session_id=keynotes, attendee_id=who["speaker"].id, role="speaker"),
        SessionPerson(session_id=keynotes, attendee_id=who["moderator"].id, role="moderator"),
    ])
    db.session.commit()
    who["headers"] = bearer(who["organiser"])
    return who


@pytest.fixture
def pushed(fcm, dispatch):
    """``pushed()``: sends what is due now (the real clock); {device: notification} of
    what reached the fake FCM since the last call."""
    seen = []

    def run() -> dict[str, dict]:
        dispatch()
        fresh = fcm.received[len(seen):]
        seen.extend(fresh)
        targets = [r.target for r in fresh]
        assert len(targets) == len(set(targets)), f"someone got two pushes: {targets}"
        return {r.target.removeprefix("fid-"): r.message["notification"] for r in fresh}

    return run


def publish(client, people, note="Release"):
    response = client.post(f"{API}/schedule/publish", json={"note": note},
                           headers=people["headers"])
    assert response.status_code == 201, response.json
    return response.json


def kinds_of(changes: list[dict]) -> dict:
    return {(entry["session_id"] and "session" or "room", entry["title"]):
            [change["kind"] for change in entry["changes"]] for entry in changes}


def pending_reminders(session_id: int) -> list[str]:
    db.session.expire_all()
    return sorted(str(due.isoformat()) for due in db.session.scalars(
        select(OutboxMessage.due_at).where(OutboxMessage.kind == "reminder",
                                           OutboxMessage.session_id == session_id,
                                           OutboxMessage.status == "pending")))


# --- every change kind: its changelog entry and who is told ------------------------

KEYNOTES = "Keynote Addresses"
CASES = {
    # name: (edit, change kinds, what the follower's push says)
    "moved": ({"starts_at": f"{DAY_1}T15:45:00+02:00", "ends_at": f"{DAY_1}T16:15:00+02:00"},
              ["moved"], f"{KEYNOTES} now starts at 15:45 · Neuer Saal"),
    "retimed": ({"ends_at": f"{DAY_1}T16:10:00+02:00"}, ["retimed"],
                f"{KEYNOTES} has changed: 15:30 · Neuer Saal"),
    "retitled": ({"title": "Keynote speeches"}, ["retitled"],
                 "Keynote speeches has changed: 15:30 · Neuer Saal"),
    "description": ({"description": "Two keynotes."}, ["description_changed"],
                    f"{KEYNOTES} has changed: 15:30 · Neuer Saal"),
    "cancelled": ({"status": "cancelled"}, ["cancelled"], f"{KEYNOTES} is cancelled"),
    "online": ({"online_url": "https://stream.example.org/keynotes"},
               ["online_link_changed"], f"{KEYNOTES} has changed: 15:30 · Neuer Saal"),
    "speakers": ({"speakers": "bystander"}, ["speakers_changed"],
                 f"{KEYNOTES} has changed: 15:30 · Neuer Saal"),
    "moderators": ({"moderators": "bystander"}, ["moderators_changed"],
                   f"{KEYNOTES} has changed: 15:30 · Neuer Saal"),
    "moved and retimed, across the day": (
        {"starts_at": f"{DAY_1}T09:00:00+00:00", "ends_at": f"{DAY_1}T10:00:00+00:00"},
        ["moved", "retimed"], f"{KEYNOTES} now starts at 11:00 · Neuer Saal"),
}


@pytest.mark.parametrize("case", CASES)
def test_each_change_kind_has_its_entry_and_reaches_exactly_those_affected(
        case, client, people, key, pushed):
    edit, kinds, body = CASES[case]
    edit = {name: [people[value].id] if value == "bystander" else value
            for name, value in edit.items()}
    keynotes = key("keynotes")
    changed = client.patch(f"{API}/sessions/{keynotes}", json=edit, headers=people["headers"])
    assert changed.status_code == 200, changed.json

    draft = client.get(f"{API}/schedule/draft", headers=people["headers"]).json
    assert draft["version"] == BASE and draft["edits"] == 1
    (entry,) = draft["changes"]
    assert entry["session_id"] == keynotes
    assert [change["kind"] for change in entry["changes"]] == kinds
    assert pushed() == {}  # a draft tells nobody

    released = publish(client, people, note=case)
    assert released["version"] == BASE + 1
    assert released["changes"] == draft["changes"]
    told = {"follower", "speaker", "moderator"} | (
        {"bystander"} if case in ("speakers", "moderators") else set())
    assert released["notified"] == len(told)
    received = pushed()
    assert set(received) == told  # not the quiet follower, the bystander, the organiser
    assert received["follower"] == {"title": "Schedule change", "body": body}
    assert pushed() == {}  # once


def test_the_changelog_shows_old_and_new_values(client, people, key):
    keynotes = key("keynotes")
    client.patch(f"{API}/sessions/{keynotes}", headers=people["headers"], json={
        "starts_at": f"{DAY_1}T16:00:00+02:00", "ends_at": f"{DAY_1}T16:45:00+02:00",
        "title": "Keynotes", "speakers": [people["bystander"].id],
    })
    (entry,) = publish(client, people)["changes"]
    changes = {change["kind"]: (change["old"], change["new"]) for change in entry["changes"]}
    assert changes == {
        "moved": (f"{DAY_1}T15:30:00+02:00", f"{DAY_1}T16:00:00+02:00"),
        "retimed": (30, 45),
        "retitled": (KEYNOTES, "Keynotes"),
        "speakers_changed": ([people["speaker"].id], [people["bystander"].id]),
    }


def test_a_room_change_and_a_new_room(client, people, key, pushed):
    room = client.post(f"{API}/rooms", headers=people["headers"], json={
        "name": "Ratsaal", "facilities": [{"kind": "wifi", "name": "Wi-Fi", "where": None}],
    })
    assert room.status_code == 201, room.json
    assert room.json["released"] is False
    assert len(client.get(f"{API}/rooms").json) == 1  # not public before the release
    moved = client.patch(f"{API}/sessions/{key('keynotes')}", headers=people["headers"],
                         json={"room_id": room.json["id"]})
    assert moved.status_code == 200, moved.json

    released = publish(client, people)
    assert kinds_of(released["changes"]) == {
        ("room", "Ratsaal"): ["room_added"], ("session", KEYNOTES): ["room_changed"],
    }
    (session_entry,) = [e for e in released["changes"] if e["session_id"]]
    assert session_entry["changes"][0]["old"] == "Neuer Saal"
    assert session_entry["changes"][0]["new"] == "Ratsaal"
    received = pushed()
    assert set(received) == {"follower", "speaker", "moderator"}
    assert received["follower"]["body"] == f"{KEYNOTES} changes room: 15:30 · Ratsaal"
    rooms = client.get(f"{API}/rooms").json
    assert [r["name"] for r in rooms] == ["Neuer Saal", "Ratsaal"]
    assert client.get(f"{API}/sessions/{key('keynotes')}").json["room"]["name"] == "Ratsaal"


def test_removed_added_and_uncancelled(client, people, key, pushed):
    keynotes, coffee = key("keynotes"), key("coffee-break-1")
    assert client.delete(f"{API}/sessions/{keynotes}",
                         headers=people["headers"]).status_code == 204
    added = client.post(f"{API}/sessions", headers=people["headers"], json={
        "kind": "side_event", "title": "Side event: survivors' voices",
        "starts_at": f"{DAY_2}T13:00:00+02:00", "ends_at": f"{DAY_2}T13:45:00+02:00",
        "room_id": None, "speakers": [people["bystander"].id],
    })
    assert added.status_code == 201, added.json
    client.patch(f"{API}/sessions/{coffee}", json={"status": "cancelled"},
                 headers=people["headers"])
    released = publish(client, people)
    assert kinds_of(released["changes"]) == {
        ("session", KEYNOTES): ["removed"],
        ("session", "Coffee break"): ["cancelled"],
        ("session", "Side event: survivors' voices"): ["added"],
    }
    received = pushed()
    # the removed session's followers and people, found before its rows went; the new
    # session's speaker; nobody follows a coffee break
    assert set(received) == {"follower", "speaker", "moderator", "bystander"}
    assert received["follower"]["body"] == f"{KEYNOTES} is no longer on the programme"
    assert received["bystander"]["body"] == "Side event: survivors' voices is on: 13:00"
    assert client.get(f"{API}/sessions/{keynotes}").status_code == 404
    new_id = added.json["id"]
    assert client.get(f"{API}/sessions/{new_id}").json["speakers"][0]["name"] == "Bea Bystander"

    client.put(f"/api/v1/me/bookmarks/{coffee}", headers=people["headers"])
    client.patch(f"{API}/sessions/{coffee}", json={"status": "scheduled"},
                 headers=people["headers"])
    released = publish(client, people)
    assert kinds_of(released["changes"]) == {("session", "Coffee break"): ["uncancelled"]}
    assert set(pushed()) == {"organiser"}
    assert released["version"] == BASE + 2


def test_a_default_session_tells_everyone_but_who_muted_it_once_per_release(
        client, people, key, pushed):
    """Panels are on everyone's agenda: everyone hears of Panel 1 except who muted it
    (and who switched schedule changes off); who has two changed sessions gets one push
    saying how many, with the list in the inbox."""
    client.patch(f"{API}/sessions/{key('panel-1')}", headers=people["headers"], json={
        "starts_at": f"{DAY_1}T17:00:00+02:00", "ends_at": f"{DAY_1}T18:30:00+02:00"})
    client.patch(f"{API}/sessions/{key('keynotes')}", headers=people["headers"],
                 json={"status": "cancelled"})
    publish(client, people)
    received = pushed()
    assert set(received) == {"organiser", "follower", "speaker", "moderator", "bystander"}
    panel = "Panel 1 – The scope and nature of the problem"
    assert received["bystander"]["body"] == f"{panel} now starts at 17:00 · Neuer Saal"
    assert received["follower"]["body"] == "2 sessions changed"
    db.session.expire_all()
    inbox = db.session.scalar(select(InboxNotification).where(
        InboxNotification.attendee_id == people["follower"].id))
    assert inbox.body == (f"{KEYNOTES} is cancelled\n"
                          f"{panel} now starts at 17:00 · Neuer Saal")


def move_panel_3_to_11_30(client, people, key) -> None:
    """A draft edit: Panel 3 (on everyone's agenda) starts at 11:30 on day 2."""
    changed = client.patch(f"{API}/sessions/{key('panel-3')}", headers=people["headers"],
                           json={"starts_at": f"{DAY_2}T11:30:00+02:00",
                                 "ends_at": f"{DAY_2}T13:00:00+02:00"})
    assert changed.status_code == 200, changed.json


def panel_3_now_at_11_30(key) -> str:
    """What that move's push says in English."""
    panel = db.session.get(Session, key("panel-3")).title
    return f"{panel} now starts at 11:30 · Neuer Saal"


def test_pushes_are_in_each_readers_language(client, people, key, pushed, make_attendee,
                                             add_device):
    lea = make_attendee(language="fr")
    add_device(lea, token="fid-lea")
    ivan = make_attendee(language="ru")
    add_device(ivan, token="fid-ivan")
    move_panel_3_to_11_30(client, people, key)
    publish(client, people)
    received = pushed()
    assert received["bystander"]["body"] == panel_3_now_at_11_30(key)
    assert received["lea"]["title"] != "Schedule change"
    assert "11:30" in received["lea"]["body"] and received["lea"]["body"] != (
        received["bystander"]["body"])
    assert received["ivan"]["body"] != received["bystander"]["body"]


def test_a_release_to_a_crowd_is_one_fanout_per_language_until_the_dispatcher_sends_it(
        app, client, people, key, pushed, make_attendee, add_device, bearer):
    """From PUSH_FANOUT_FROM recipients on, the release writes a fan-out per language
    and the dispatcher makes the rows: the same pushes, once each, in each language;
    nobody erased in between."""
    app.config["PUSH_FANOUT_FROM"] = 1
    lea = make_attendee(language="fr")
    add_device(lea, token="fid-lea")
    leaving = make_attendee(language="fr")
    add_device(leaving, token="fid-leaving")
    move_panel_3_to_11_30(client, people, key)
    released = publish(client, people)
    fanouts = db.session.scalars(select(OutboxFanout)).all()
    assert sorted(f.title for f in fanouts) == ["Changement de programme", "Schedule change"]
    assert not db.session.scalar(select(func.count()).where(
        OutboxMessage.kind == "schedule_change"))  # no row per attendee yet
    assert client.delete("/api/v1/me", headers=bearer(leaving),
                         query_string={"confirm": leaving.email}).status_code == 204

    received = pushed()
    everyone = {"organiser", "follower", "speaker", "moderator", "bystander", "muter", "lea"}
    assert set(received) == everyone  # not the quiet one, nor the one erased
    assert released["notified"] == len(everyone) + 1  # the erased one was counted
    assert received["bystander"]["body"] == panel_3_now_at_11_30(key)
    assert received["lea"]["title"] == "Changement de programme"
    assert not db.session.scalars(select(OutboxFanout)).all()
    assert db.session.scalar(select(func.count()).select_from(InboxNotification).where(
        InboxNotification.kind == "schedule_change")) == len(everyone)
    assert pushed() == {}  # once


def test_a_speaker_who_muted_schedule_changes_is_still_told(client, people, key, pushed):
    people["speaker"].notify = {**people["speaker"].notify, "schedule_changes": False}
    db.session.commit()
    client.patch(f"{API}/sessions/{key('keynotes')}", json={"title": "Keynotes"},
                 headers=people["headers"])
    publish(client, people)
    assert set(pushed()) == {"follower", "speaker", "moderator"}


# --- reminders follow in the same transaction, or the worker's first step -------------

@pytest.fixture(params=["by the release", "by the worker"])
def replanned(request, app, dispatch):
    """``replanned()`` after a release: its reminders as the dispatcher finds them.

    By the release: they followed in its transaction. By the worker: the release is to
    a crowd (``PUSH_FANOUT_FROM`` 1), which leaves each changed session's reminders to
    the dispatcher's first step (models.ReminderReplan); ``replanned()`` runs the
    dispatcher once (nothing is due on the real clock), as the worker would.
    """
    if request.param == "by the release":
        return lambda: None
    app.config["PUSH_FANOUT_FROM"] = 1

    def run() -> None:
        db.session.expire_all()
        assert db.session.scalar(select(func.count()).select_from(ReminderReplan))
        dispatch()
        db.session.expire_all()
        assert not db.session.scalar(select(func.count()).select_from(ReminderReplan))

    return run


def test_reminders_follow_moves_cancellations_additions_and_removals(
        client, people, key, runner, replanned):
    assert runner.invoke(args=["notifications", "plan"]).exit_code == 0
    panel_1, panel_2, panel_3 = key("panel-1"), key("panel-2"), key("panel-3")
    # Panel 1: 16:30 summer time, the reminder 10 minutes ahead: 14:20 UTC
    assert "2027-03-29T14:20:00+00:00" in pending_reminders(panel_1)
    client.patch(f"{API}/sessions/{panel_1}", headers=people["headers"], json={
        "starts_at": f"{DAY_1}T17:00:00+02:00", "ends_at": f"{DAY_1}T18:30:00+02:00"})
    client.patch(f"{API}/sessions/{panel_2}", json={"status": "cancelled"},
                 headers=people["headers"])
    client.delete(f"{API}/sessions/{panel_3}", headers=people["headers"])
    added = client.post(f"{API}/sessions", headers=people["headers"], json={
        "kind": "panel", "title": "Panel 5", "starts_at": f"{DAY_2}T17:00:00+02:00",
        "ends_at": f"{DAY_2}T18:00:00+02:00"}).json
    before = pending_reminders(panel_1)
    assert set(before) == {"2027-03-29T14:20:00+00:00"}  # a draft moves no reminder
    publish(client, people)
    replanned()

    everyone_but_muter = len(people) - 2  # less the headers and the muter
    assert set(pending_reminders(panel_1)) == {"2027-03-29T14:50:00+00:00"}
    assert len(pending_reminders(panel_1)) == everyone_but_muter
    assert pending_reminders(panel_2) == []
    assert pending_reminders(panel_3) == []
    assert pending_reminders(added["id"]) == ["2027-03-30T14:50:00+00:00"] * (len(people) - 1)

    # what the release planned is what planning each session afresh finds
    planned = all_pending()
    for session_id in (panel_1, panel_2, added["id"]):
        again = reminders.sync_session(db.session.get(Session, session_id))
        assert again.cancelled == 0
    db.session.commit()
    assert all_pending() == planned


def reminder_rows(session_id: int) -> dict[str, tuple]:
    """The session's reminders by attendee name: (id, key, due, status) of each, by id."""
    db.session.expire_all()
    return {
        message_id: (key_, due.isoformat(), status)
        for message_id, key_, due, status in db.session.execute(
            select(OutboxMessage.id, OutboxMessage.key, OutboxMessage.due_at,
                   OutboxMessage.status)
            .where(OutboxMessage.kind == "reminder", OutboxMessage.session_id == session_id))
    }


def move_keynotes(client, people, key, start: str, end: str, replanned=lambda: None) -> None:
    assert client.patch(f"{API}/sessions/{key('keynotes')}", headers=people["headers"],
                        json={"starts_at": f"{DAY_1}T{start}:00+02:00",
                              "ends_at": f"{DAY_1}T{end}:00+02:00"}).status_code == 200
    publish(client, people)
    replanned()


def test_a_moved_sessions_reminders_are_rekeyed_in_place(client, people, key, runner,
                                                         replanned):
    """A release moves each untried pending reminder of a moved session: the same row,
    its key and due time at the new start, nothing cancelled and nothing added."""
    assert runner.invoke(args=["notifications", "plan"]).exit_code == 0
    keynotes = key("keynotes")
    before = reminder_rows(keynotes)
    assert {status for *_, status in before.values()} == {"pending"}
    move_keynotes(client, people, key, "15:45", "16:15", replanned)
    after = reminder_rows(keynotes)
    assert after.keys() == before.keys()  # the same rows, none new
    assert {status for *_, status in after.values()} == {"pending"}
    follower = people["follower"].id
    (row,) = [message_id for message_id, (key_, *_) in after.items()
              if key_.startswith(f"reminder:{follower}:")]
    # 15:45 summer time is 13:45 UTC: the follower's reminder 10 minutes ahead
    assert after[row] == (f"reminder:{follower}:{keynotes}:2027-03-29T13:45:00+00:00",
                          "2027-03-29T13:35:00+00:00", "pending")
    # the speaker's 30 minutes ahead, their role still counted
    speaker = people["speaker"].id
    assert (f"reminder:{speaker}:{keynotes}:2027-03-29T13:45:00+00:00",
            "2027-03-29T13:15:00+00:00", "pending") in after.values()
    # what the release planned is what planning the session afresh finds
    planned = all_pending()
    again = reminders.sync_session(db.session.get(Session, keynotes))
    assert again.cancelled == 0
    db.session.commit()
    assert all_pending() == planned


def claimed_at(moment: datetime, session_id: int) -> set[int]:
    """The session's reminders among all a claim at ``moment`` takes (not kept)."""
    ids = outbox.claim(moment, 10_000, timedelta(minutes=1))
    mine = set(db.session.scalars(select(OutboxMessage.id).where(
        OutboxMessage.id.in_(ids), OutboxMessage.session_id == session_id)))
    db.session.rollback()
    return mine


def test_a_crowds_reminders_wait_for_the_worker_and_none_goes_out_meanwhile(
        app, client, people, key, runner, dispatch):
    """A session of PUSH_FANOUT_FROM people or more: the release leaves its reminders
    to the dispatcher's first step, and until then no claim takes one, even at its old
    time; after it, the same rows at the new time."""
    app.config["PUSH_FANOUT_FROM"] = 1
    assert runner.invoke(args=["notifications", "plan"]).exit_code == 0
    keynotes, follower = key("keynotes"), people["follower"].id
    before = reminder_rows(keynotes)
    (mine,) = [message_id for message_id, (key_, *_) in before.items()
               if key_.startswith(f"reminder:{follower}:")]
    # 15:30 summer time is 13:30 UTC: the follower's reminder due at 13:20
    assert before[mine][1] == "2027-03-29T13:20:00+00:00"
    old_time = datetime(2027, 3, 29, 13, 21, tzinfo=timezone.utc)
    assert mine in claimed_at(old_time, keynotes)

    move_keynotes(client, people, key, "15:45", "16:15")
    assert reminder_rows(keynotes) == before  # not yet: the release left them
    (waiting,) = db.session.scalars(select(ReminderReplan)).all()
    assert (waiting.session_id, waiting.starts_before) == (
        keynotes, datetime(2027, 3, 29, 13, 30, tzinfo=timezone.utc))
    assert claimed_at(old_time, keynotes) == set()  # none at its old time meanwhile

    dispatch()  # the worker's first step
    after = reminder_rows(keynotes)
    assert after.keys() == before.keys()
    assert after[mine] == (f"reminder:{follower}:{keynotes}:2027-03-29T13:45:00+00:00",
                           "2027-03-29T13:35:00+00:00", "pending")
    assert not db.session.scalars(select(ReminderReplan)).all()
    assert mine not in claimed_at(old_time, keynotes)  # (the speaker's is due: 13:15)
    assert mine in claimed_at(old_time + timedelta(minutes=15), keynotes)


@pytest.mark.postgres
def test_a_session_another_worker_is_replanning_is_skipped_and_none_of_it_claimed(
        pg_conference):
    """PostgreSQL, two workers: while one holds a session's re-plan (its row locked,
    as ``replan_waiting`` takes it), the other neither waits for it nor claims one of
    the session's reminders at its old time; the first re-plans it and commits."""
    app = pg_conference
    app.config["PUSH_FANOUT_FROM"] = 1
    with app.app_context():
        event = schedule_ops.get_event("alliance-2020")
        organiser = Attendee(event=event, email="olga@example.org", name="Olga",
                             roles=["organiser"])
        follower = Attendee(event=event, email="fay@example.org", name="Fay")
        db.session.add_all([organiser, follower])
        db.session.flush()
        keynotes = db.session.scalar(select(Session.id).where(Session.key == "keynotes"))
        db.session.add(Bookmark(attendee_id=follower.id, session_id=keynotes))
        db.session.commit()
        reminders.sync_event(event)
        token, _ = auth.issue_token(organiser)
        db.session.commit()
        follower_id = follower.id
    client = app.test_client()
    assert client.patch(f"{API}/sessions/{keynotes}", headers={
        "Authorization": f"Bearer {token}"}, json={
        "starts_at": "2020-03-30T15:45:00+02:00",
        "ends_at": "2020-03-30T16:15:00+02:00"}).status_code == 200
    assert client.post(f"{API}/schedule/publish", json={"note": "Later"}, headers={
        "Authorization": f"Bearer {token}"}).status_code == 201
    # the follower's reminder was due at 13:20 UTC, 10 minutes before 15:30 summer time
    old_time = datetime(2020, 3, 30, 13, 21, tzinfo=timezone.utc)
    with app.app_context():  # the first worker takes the re-plan
        (taken,) = db.session.scalars(
            select(ReminderReplan.id).with_for_update(skip_locked=True)).all()
        with app.app_context():  # the second, meanwhile
            started = time.monotonic()
            assert notification_releases.replan_waiting() == 0  # skipped, not waited for
            assert claimed_at(old_time, keynotes) == set()
            assert time.monotonic() - started < 5
        assert notification_releases.replan_waiting() == 1
        db.session.commit()
        assert claimed_at(old_time, keynotes) == set()
        mine = claimed_at(old_time + timedelta(minutes=15), keynotes)
        assert [key_ for key_, in db.session.execute(
            select(OutboxMessage.key).where(OutboxMessage.id.in_(mine)))] == [
            f"reminder:{follower_id}:{keynotes}:2020-03-30T13:45:00+00:00"]


def test_a_tried_reminder_is_not_rekeyed_and_a_cancelled_one_is_not_duplicated(
        client, people, key, runner, replanned):
    """A reminder already tried (waiting for a retry) is cancelled and a new one made;
    moved back, the session's cancelled reminder of that time is pending again, and the
    other one cancelled: one pending reminder each, whatever holds the key."""
    assert runner.invoke(args=["notifications", "plan"]).exit_code == 0
    keynotes, follower = key("keynotes"), people["follower"].id
    first = reminder_rows(keynotes)
    (tried,) = [message_id for message_id, (key_, *_) in first.items()
                if key_.startswith(f"reminder:{follower}:")]
    db.session.execute(text("UPDATE push_outbox SET attempts = 1 WHERE id = :id"),
                       {"id": tried})
    db.session.commit()
    move_keynotes(client, people, key, "15:45", "16:15", replanned)
    moved = reminder_rows(keynotes)
    assert moved[tried][2] == "cancelled"
    (fresh,) = [message_id for message_id, (key_, _, status) in moved.items()
                if key_.startswith(f"reminder:{follower}:") and status == "pending"]
    assert fresh not in first and moved[fresh][0].endswith("T13:45:00+00:00")

    move_keynotes(client, people, key, "15:30", "16:00", replanned)  # back: the tried one's key
    back = reminder_rows(keynotes)
    mine = {message_id: row for message_id, row in back.items()
            if row[0].startswith(f"reminder:{follower}:")}
    assert mine[tried][0] == first[tried][0] and mine[tried][2] == "pending"
    assert mine[fresh][2] == "cancelled"
    pending = [row for row in back.values() if row[2] == "pending"]
    assert len(pending) == len({row[0].split(":")[1] for row in pending})  # one each


def test_a_speaker_is_reminded_30_minutes_ahead_of_a_new_session(client, people, key,
                                                                  replanned):
    added = client.post(f"{API}/sessions", headers=people["headers"], json={
        "kind": "side_event", "title": "Side event", "starts_at": f"{DAY_2}T17:00:00+02:00",
        "ends_at": f"{DAY_2}T18:00:00+02:00", "speakers": [people["bystander"].id]}).json
    publish(client, people)
    replanned()
    assert pending_reminders(added["id"]) == ["2027-03-30T14:30:00+00:00"]
    people["bystander"].notify = {**people["bystander"].notify, "reminders": False}
    db.session.commit()
    client.patch(f"{API}/sessions/{added['id']}", json={"title": "Side event (moved)",
                 "starts_at": f"{DAY_2}T17:30:00+02:00", "ends_at": f"{DAY_2}T18:30:00+02:00"},
                 headers=people["headers"])
    publish(client, people)
    replanned()
    assert pending_reminders(added["id"]) == []


def all_pending() -> set[tuple[str, str]]:
    db.session.expire_all()
    return {(key_, due.isoformat()) for key_, due in db.session.execute(
        select(OutboxMessage.key, OutboxMessage.due_at).where(
            OutboxMessage.kind == "reminder", OutboxMessage.status == "pending"))}


# --- public reads change only with a release ----------------------------------------

def fresh_get(client, url: str, **options):
    """A GET as in production, where each request has its own app context: the tests'
    app context outlives requests, and flask-smorest keeps an ETag set by a view
    (the exports') in ``g``."""
    g.pop("_flask_smorest", None)
    return client.get(url, **options)


def test_public_reads_exports_and_etags_change_only_with_a_release(client, people, key):
    urls = [f"{API}/sessions", f"{API}/sessions/{key('panel-1')}", f"{API}/rooms",
            f"{API}/schedule.ics", f"{API}/schedule.xml", f"{API}/schedule.json",
            f"{API}/schedule/versions", f"{API}/schedule/changes?since={BASE}"]
    etags = {url: fresh_get(client, url).headers["ETag"] for url in urls}
    assert client.get(f"{API}/schedule.json").json["schedule"]["version"].startswith(f"{BASE} (")

    client.patch(f"{API}/sessions/{key('panel-1')}", json={"title": "Panel One"},
                 headers=people["headers"])
    client.patch(f"{API}/rooms/{client.get(f'{API}/rooms').json[0]['id']}",
                 json={"capacity": 500}, headers=people["headers"])
    for url in urls:
        again = fresh_get(client, url, headers={"If-None-Match": etags[url]})
        assert again.status_code == 304, url

    publish(client, people)
    for url in urls:
        assert fresh_get(client, url,
                         headers={"If-None-Match": etags[url]}).status_code == 200, url
    assert client.get(f"{API}/schedule.json").json["schedule"]["version"].startswith(f"{BASE + 1} (")
    assert f"<version>{BASE + 1} (".encode() in client.get(f"{API}/schedule.xml").data
    assert client.get(f"{API}/sessions/{key('panel-1')}").json["title"] == "Panel One"
    assert client.get(f"{API}/rooms").json[0]["capacity"] == 500


def test_versions_and_changes_since(client, people, key):
    panel_2 = key("panel-2")
    client.patch(f"{API}/sessions/{key('panel-1')}", json={"title": "Panel One"},
                 headers=people["headers"])
    publish(client, people, note="First")
    client.delete(f"{API}/sessions/{panel_2}", headers=people["headers"])
    publish(client, people, note="Second")

    versions = client.get(f"{API}/schedule/versions")
    assert [(v["version"], v["note"]) for v in versions.json[:2]] == [
        (BASE + 2, "Second"), (BASE + 1, "First")]
    assert versions.json[0]["changes"][0]["changes"][0]["kind"] == "removed"
    assert versions.json[1]["released_at"].endswith("+01:00") or (
        versions.json[1]["released_at"].endswith("+02:00"))

    since_0 = client.get(f"{API}/schedule/changes?since={BASE}").json
    assert since_0["version"] == BASE + 2
    assert [s["id"] for s in since_0["sessions"]] == [key("panel-1")]
    assert since_0["removed"] == [panel_2]
    since_1 = client.get(f"{API}/schedule/changes?since={BASE + 1}").json
    assert since_1["sessions"] == [] and len(since_1["removed"]) == 1
    since_2 = client.get(f"{API}/schedule/changes?since={BASE + 2}").json
    assert since_2 == {"version": BASE + 2, "since": BASE + 2, "sessions": [], "removed": []}
    assert client.get(f"{API}/schedule/changes").status_code == 422
    assert client.get(f"{API}/schedule/changes?since=-1").status_code == 422


def test_nothing_to_release_is_a_409(client, people):
    response = client.post(f"{API}/schedule/publish", json={}, headers=people["headers"])
    assert response.status_code == 409
    assert set(response.json) == SHAPE
    assert db.session.scalar(select(func.count()).select_from(ScheduleVersion)) == BASE


# --- validation ----------------------------------------------------------------------

@pytest.mark.parametrize("edit,field", [
    ({"ends_at": f"{DAY_1}T15:00:00+02:00"}, "ends_at"),
    ({"starts_at": "2027-04-02T15:30:00+02:00", "ends_at": "2027-04-02T16:00:00+02:00"},
     "starts_at"),
    ({"ends_at": "2027-03-31T00:30:00+02:00"}, "ends_at"),
    ({"starts_at": f"{DAY_1}T15:30:00"}, "starts_at"),
    ({"room_id": 999999}, "room_id"),
    ({"speakers": [999999]}, "speakers"),
    ({"moderators": ["x"]}, "moderators"),
    ({"online_url": "javascript:alert(1)"}, "online_url"),
    ({"status": "postponed"}, "status"),
    ({"title": ""}, "title"),
    ({"force": "yes"}, "force"),
])
def test_each_refusal_is_a_422_naming_the_field(client, people, key, edit, field):
    response = client.patch(f"{API}/sessions/{key('keynotes')}", json=edit,
                            headers=people["headers"])
    assert response.status_code == 422, response.json
    assert set(response.json) == SHAPE
    assert field in response.json["errors"] or field in response.json["errors"].get("json", {})
    assert db.session.scalar(select(func.count()).select_from(DraftEdit)) == 0


def test_force_accepts_a_session_outside_the_days(client, people, key):
    response = client.patch(f"{API}/sessions/{key('keynotes')}", headers=people["headers"],
                            json={"starts_at": "2027-04-02T15:30:00+02:00",
                                  "ends_at": "2027-04-02T16:00:00+02:00", "force": True})
    assert response.status_code == 200, response.json
    assert response.json["starts_at"] == "2027-04-02T15:30:00+02:00"


def test_a_speaker_of_another_event_is_refused(client, people, key, app):
    from companion.people.models import Attendee
    from companion.schedule.models import Event
    other = Event(slug="other", name="Other", starts_on=date(2027, 1, 1),
                  ends_on=date(2027, 1, 1), timezone="Europe/Vienna")
    db.session.add(other)
    db.session.flush()
    stranger = Attendee(event_id=other.id, email="x@example.org", name="X")
    db.session.add(stranger)
    db.session.commit()
    response = client.patch(f"{API}/sessions/{key('keynotes')}", headers=people["headers"],
                            json={"speakers": [stranger.id]})
    assert response.status_code == 422
    assert "speakers" in response.json["errors"]


def test_a_room_in_use_cannot_be_deleted(client, people):
    room_id = client.get(f"{API}/rooms").json[0]["id"]
    response = client.delete(f"{API}/rooms/{room_id}", headers=people["headers"])
    assert response.status_code == 409
    assert set(response.json) == SHAPE


# --- running late ---------------------------------------------------------------------

def local_times(client, *keys_) -> list[tuple[str, str]]:
    sessions = {s["id"]: s for s in client.get(f"{API}/sessions").json}
    return [(sessions[k]["starts_at"][11:16], sessions[k]["ends_at"][11:16]) for k in keys_]


def test_a_delay_moves_the_session_and_the_break_absorbs_it(client, people, key, pushed):
    panel_2, coffee, panel_3 = key("panel-2"), key("coffee-break-2"), key("panel-3")
    response = client.post(f"{API}/sessions/{panel_2}/delay", headers=people["headers"],
                           json={"minutes": 20, "shift_following": True})
    assert response.status_code == 201, response.json
    assert response.json["version"] == BASE + 1
    assert response.json["note"].startswith("Running late: Panel 2")
    assert local_times(client, panel_2, coffee, panel_3) == [
        ("09:20", "10:50"), ("10:50", "11:00"), ("11:00", "12:30")]
    received = pushed()
    title = db.session.get(Session, panel_2).title
    assert received["bystander"]["body"] == f"{title} now starts at 09:20 · Neuer Saal"
    assert "muter" in received  # Panel 2 is not the one they muted


def test_a_long_delay_over_the_rest_of_the_day_is_one_release_one_push_each(
        client, people, key, pushed):
    ids = [key(k) for k in ("panel-3", "lunch", "panel-4", "closing")]
    response = client.post(f"{API}/sessions/{ids[0]}/delay", headers=people["headers"],
                           json={"minutes": 150, "shift_following": True})
    assert response.status_code == 201, response.json
    # lunch absorbs all it can (down to 5 minutes), the rest moves on by what is left
    assert local_times(client, *ids) == [
        ("13:30", "15:00"), ("15:00", "15:05"), ("15:05", "16:35"), ("16:35", "17:05")]
    assert db.session.scalar(select(func.count()).select_from(ScheduleVersion)) == BASE + 1
    received = pushed()
    assert set(received) == {"organiser", "follower", "speaker", "moderator",
                             "bystander", "muter"}
    assert received["bystander"]["body"] == "2 sessions changed"  # panels 3 and 4


def test_a_delay_past_midnight_needs_force(client, people, key):
    closing = key("closing")
    refused = client.post(f"{API}/sessions/{closing}/delay", headers=people["headers"],
                          json={"minutes": 480})
    assert refused.status_code == 422
    assert "minutes" in refused.json["errors"]
    assert db.session.scalar(select(func.count()).select_from(ScheduleVersion)) == BASE
    forced = client.post(f"{API}/sessions/{closing}/delay", headers=people["headers"],
                         json={"minutes": 480, "force": True})
    assert forced.status_code == 201


def test_a_delay_keeps_a_pending_draft_edit_of_that_session(client, people, key):
    panel_2 = key("panel-2")
    client.patch(f"{API}/sessions/{panel_2}", json={"title": "Panel Two"},
                 headers=people["headers"])
    client.post(f"{API}/sessions/{panel_2}/delay", headers=people["headers"],
                json={"minutes": 10})
    draft = client.get(f"{API}/schedule/draft", headers=people["headers"]).json
    assert [c["kind"] for c in draft["changes"][0]["changes"]] == ["retitled"]
    publish(client, people)
    assert local_times(client, panel_2) == [("09:10", "10:40")]


# --- moving the whole event ----------------------------------------------------------

def test_moving_the_event_by_days_and_online_is_one_release(client, people, key, pushed):
    response = client.post(f"{API}/schedule/move", headers=people["headers"], json={
        "days": -7, "online_url": "https://meet.example.org/alliance20"})
    assert response.status_code == 201, response.json
    assert len(response.json["changes"]) == 12
    assert {tuple(c["kind"] for c in entry["changes"]) for entry in response.json["changes"]} \
        == {("moved", "online_link_changed")}
    event = client.get(API).json
    assert (event["starts_on"], event["ends_on"]) == ("2027-03-22", "2027-03-23")
    panel = client.get(f"{API}/sessions/{key('panel-1')}").json
    # 22 March is still winter time: the same 16:30 local, now at +01:00
    assert panel["starts_at"] == "2027-03-22T16:30:00+01:00"
    assert panel["online_url"] == "https://meet.example.org/alliance20"
    assert set(pushed()) == {"organiser", "follower", "speaker", "moderator",
                             "bystander", "muter"}
    assert db.session.scalar(select(func.count()).select_from(ScheduleVersion)) == BASE + 1


# --- rooms -----------------------------------------------------------------------------

def test_rooms_carry_the_sourced_facilities_and_organisers_fill_in_the_rest(
        client, people, runner):
    (room,) = client.get(f"{API}/rooms").json
    assert room["address"] == "Heldenplatz, 1014 Vienna"
    assert [f["kind"] for f in room["facilities"]] == ["entrance", "cafeteria"]
    assert "far left wing of the Neue Burg" in room["facilities"][0]["where"]
    assert room["interpretation"] is None and room["capacity"] is None
    facilities = room["facilities"] + [
        {"kind": "cloakroom", "name": "Cloakroom", "where": "By the entrance"}]
    interpretation = {"channels": ["1", "2", "3", "4", "5", "6"],
                      "languages": ["en", "fr", "de", "it", "ru", "es"]}
    patched = client.patch(f"{API}/rooms/{room['id']}", headers=people["headers"],
                           json={"facilities": facilities, "interpretation": interpretation})
    assert patched.status_code == 200, patched.json
    bad = client.patch(f"{API}/rooms/{room['id']}", headers=people["headers"],
                       json={"facilities": [{"kind": "spa", "name": "Spa"}]})
    assert bad.status_code == 422 and "facilities" in bad.json["errors"]["json"]
    released = publish(client, people)
    assert kinds_of(released["changes"]) == {("room", "Neuer Saal"): ["room_changed"]}
    assert released["notified"] == 0
    assert runner.invoke(args=["seed", "--shift-to", SHIFT_TO]).exit_code == 0
    (room,) = client.get(f"{API}/rooms").json
    assert room["facilities"] == facilities and room["interpretation"] == interpretation


# --- the audit log ----------------------------------------------------------------------

def test_every_organiser_action_is_audited(client, people, key):
    h = people["headers"]
    client.patch(f"{API}/sessions/{key('panel-1')}", json={"title": "Panel One"}, headers=h)
    publish(client, people, note="Retitle")
    client.post(f"{API}/sessions/{key('panel-2')}/delay", json={"minutes": 5}, headers=h)

    entries = client.get(f"{API}/audit", headers=h)
    assert entries.status_code == 200
    # after the seed's: its first release, and the move to SHIFT_TO
    assert [e["action"] for e in entries.json] == [
        "session.delay", "schedule.publish", "session.update",
        "event.dates", "event.move", "schedule.publish"]
    update = entries.json[2]
    assert update["actor"] == {"id": people["organiser"].id, "name": "Olga Organiser"}
    assert update["before"]["title"].startswith("Panel 1") and update["after"]["title"] == (
        "Panel One")
    assert entries.json[1]["recipients"] == 5  # not who muted Panel 1 or changes
    assert entries.json[1]["after"]["note"] == "Retitle"
    filtered = client.get(f"{API}/audit?action=schedule.publish&page_size=1", headers=h)
    assert [e["action"] for e in filtered.json] == ["schedule.publish"]
    assert '"total": 2' in filtered.headers["X-Pagination"]  # and the seed's
    assert client.get(f"{API}/audit?since=2020-01-01T00:00:00", headers=h).status_code == 422
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 3 + 3


# --- two organisers at once -------------------------------------------------------------

def waiting_for_a_lock() -> bool:
    """Whether a PostgreSQL backend waits for a row another transaction wrote."""
    waiting = db.session.scalar(text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE wait_event_type = 'Lock' AND datname = current_database()"))
    db.session.rollback()  # the activity seen is a snapshot per transaction
    return waiting > 0


@pytest.mark.postgres
@pytest.mark.parametrize("edit", ["create", "first edit"])
def test_two_draft_edits_at_once_both_succeed(edit, pg_conference, make_pg_app):
    """One organiser's edit has written its draft row and not committed yet when
    another's writes the same row (two creates pick the same fresh id; two first edits
    of a session): the second waits, then succeeds, never a 500 (on PostgreSQL, where
    the two run at the same time)."""
    with pg_conference.app_context():
        event = schedule_ops.get_event("alliance-2020")
        organiser = Attendee(event=event, email="olga@example.org", name="Olga",
                             roles=["organiser"])
        db.session.add(organiser)
        db.session.commit()
        token, _ = auth.issue_token(organiser)
        db.session.commit()
        organiser_id, event_id = organiser.id, event.id
        keynotes = db.session.scalar(select(Session.id).where(Session.key == "keynotes"))
    new = {"kind": "panel", "title": "Side event", "starts_at": "2020-03-30T09:00:00+02:00",
           "ends_at": "2020-03-30T10:00:00+02:00"}
    wrote, go_on, answers = threading.Event(), threading.Event(), {}

    def first():
        with pg_conference.app_context():
            try:
                event = db.session.get(Event, event_id)
                actor = db.session.get(Attendee, organiser_id)
                if edit == "create":
                    values = {**new, "starts_at": instant(new["starts_at"]),
                              "ends_at": instant(new["ends_at"])}
                    answers["first"] = create_session(event, actor, values).id
                else:
                    update_session(event, actor, keynotes, {"title": "First"})
            finally:
                wrote.set()  # the second goes ahead alone if the first failed
            go_on.wait()
            db.session.commit()

    def second():
        wrote.wait()
        client = make_pg_app().test_client()
        headers = {"Authorization": f"Bearer {token}"}
        if edit == "create":
            answers["second"] = client.post(f"{API}/sessions", json=new, headers=headers)
        else:
            answers["second"] = client.patch(f"{API}/sessions/{keynotes}",
                                             json={"title": "Second"}, headers=headers)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    with pg_conference.app_context():
        wrote.wait()
        while threads[1].is_alive() and not waiting_for_a_lock():
            time.sleep(0.01)
    go_on.set()
    for thread in threads:
        thread.join()

    answer = answers["second"]
    assert answer.status_code in (200, 201), answer.json
    with pg_conference.app_context():
        drafts = {edit.target_id: edit.state["title"]
                  for edit in db.session.scalars(select(DraftEdit))}
    if edit == "create":
        assert answer.json["id"] == answers["first"] + 1
        assert drafts == {answers["first"]: "Side event", answer.json["id"]: "Side event"}
    else:
        assert drafts == {keynotes: "Second"}  # the last edit wins, as one after the other


def test_a_lone_starts_at_moves_the_session_and_keeps_its_length(client, event, key,
                                                                  make_attendee, bearer):
    headers = bearer(make_attendee(roles=["organiser"]))
    panel_1 = f"{API}/sessions/{key('panel-1')}"  # 16:30 to 18:00
    moved = client.patch(panel_1, headers=headers, json={"starts_at": f"{DAY_1}T17:00:00+02:00"})
    assert moved.status_code == 200, moved.json
    assert (moved.json["starts_at"], moved.json["ends_at"]) == (
        f"{DAY_1}T17:00:00+02:00", f"{DAY_1}T18:30:00+02:00")
    # any offset: 15:15 UTC is 17:15 in Vienna
    assert client.patch(panel_1, headers=headers, json={"starts_at": f"{DAY_1}T15:15:00Z"}
                        ).json["ends_at"] == f"{DAY_1}T18:45:00+02:00"
    both = client.patch(panel_1, headers=headers, json={
        "starts_at": f"{DAY_1}T16:00:00+02:00", "ends_at": f"{DAY_1}T17:00:00+02:00"}).json
    assert (both["starts_at"], both["ends_at"]) == (
        f"{DAY_1}T16:00:00+02:00", f"{DAY_1}T17:00:00+02:00")  # sent together: as sent
    longer = client.patch(panel_1, headers=headers, json={"ends_at": f"{DAY_1}T17:30:00+02:00"})
    assert longer.json["starts_at"] == f"{DAY_1}T16:00:00+02:00"
    publish(client, {"headers": headers})
    public = client.get(panel_1).json
    assert (public["starts_at"], public["ends_at"]) == (
        f"{DAY_1}T16:00:00+02:00", f"{DAY_1}T17:30:00+02:00")


def test_a_move_past_the_year_9999_is_a_422(client, event, key, make_attendee, bearer):
    response = client.patch(f"{API}/sessions/{key('panel-1')}",
                            headers=bearer(make_attendee(roles=["organiser"])),
                            json={"starts_at": "9999-12-31T23:00:00+00:00", "force": True})
    assert response.status_code == 422, response.json
    assert set(response.json) == SHAPE
    assert "starts_at" in response.json["errors"]["json"]  # outside the instants taken


def test_the_session_fields_are_named_once_and_cover_the_session():
    """Every column of a session (and its people) is a field of `states.SESSION`, which
    drafts, diffs, applies and serves them; each field's change is one a changelog tells."""
    from companion.schedule import changelog, states

    columns = {column.key for column in Session.__table__.columns} - {"id", "event_id"}
    assert columns | {"speakers", "moderators"} == set(states.SESSION_FIELDS)
    assert {f.change for f in states.SESSION} - {None} <= set(changelog.PRIORITY)
    assert set(states.NEW_SESSION) == set(states.SESSION_FIELDS) - {
        "guid", "kind", "title", "starts_at", "ends_at"}


def test_who_a_release_concerns_takes_as_many_queries_for_a_crowd_as_for_one(
        conference, make_attendee, statements):
    """`releasing.affected` asks the one agenda rule for all the changed sessions at once:
    a crowd of followers costs no more queries than one follower."""
    sessions = {s.key: s.id for s in db.session.scalars(select(Session))}
    for key in ("keynotes", "panel-1"):
        update_session(conference, None, sessions[key], {"title": f"{key} (new)"})
    db.session.commit()

    def concerned() -> tuple[int, int]:
        db.session.expire_all()
        event = schedule_ops.get_event("alliance-2020")
        the_plan = changelog.draft_plan(event)
        statements.clear()
        found = releasing.affected(event, the_plan)
        return len(statements), len(found.sessions)

    make_attendee()
    few = concerned()
    for _ in range(40):
        follower = make_attendee()
        db.session.add(Bookmark(attendee_id=follower.id, session_id=sessions["keynotes"]))
    db.session.commit()
    many = concerned()
    assert many[1] == few[1] + 40
    # the sessions and their people, the bookmarks, the event's attendees, the rooms
    assert many[0] == few[0] <= 5
