"""Session reminders: planned from the personal schedule, sent at the right minute, once."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from companion.extensions import db
from companion.people.models import Attendee, Bookmark
from companion.schedule.models import Session, SessionPerson
from notifications import kinds, reminders
from notifications.models import InboxNotification, OutboxMessage

PANEL_1 = "Panel 1 – The scope and nature of the problem"


@pytest.fixture
def dispatch_at(runner):
    """``dispatch_at("2020-03-30T14:20:00Z")``: the CLI's one-off dispatch."""

    def run(now: str) -> str:
        result = runner.invoke(args=["notifications", "dispatch", "--once", "--now", now])
        assert result.exit_code == 0, result.output
        return result.output

    return run


def plan(runner) -> str:
    result = runner.invoke(args=["notifications", "plan"])
    assert result.exit_code == 0, result.output
    return result.output


def reminders_of(attendee) -> dict[str, OutboxMessage]:
    """The attendee's reminders by session key and status."""
    db.session.expire_all()
    rows = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.attendee_id == attendee.id)
        .order_by(OutboxMessage.id)
    )
    return {f"{db.session.get(Session, row.session_id).key}/{row.status}": row for row in rows}


def test_the_panel_1_reminder_leaves_at_1420_utc_not_1520(fcm, make_attendee, add_device,
                                                         runner, dispatch_at, by_key):
    ada = make_attendee()
    add_device(ada, token="fid-ada")
    assert plan(runner) == "alliance-2020: 5 reminders planned, 0 cancelled\n"

    assert "0 sent" in dispatch_at("2020-03-30T14:19:59Z")
    assert fcm.received == []

    assert "1 sent" in dispatch_at("2020-03-30T14:20:00Z")
    (received,) = fcm.received
    assert received.message["notification"] == {
        "title": f"Reminder: {PANEL_1}", "body": "Starts at 16:30 · Neuer Saal",
    }
    panel = by_key["panel-1"]
    assert received.message["data"]["session_id"] == str(panel.id)
    assert received.message["android"]["collapse_key"] == f"session-{panel.id}"
    assert received.message["android"]["ttl"] == "600s"

    assert "0 sent" in dispatch_at("2020-03-30T15:20:00Z")
    assert len(fcm.received) == 1
    row = reminders_of(ada)["panel-1/sent"]
    assert row.key == f"reminder:{ada.id}:{panel.id}:2020-03-30T14:30:00+00:00"
    assert row.due_at.isoformat() == "2020-03-30T14:20:00+00:00"


def test_the_networking_cocktail_reminder_and_no_late_panel_reminder(
        fcm, make_attendee, add_device, runner, dispatch_at):
    ada = make_attendee()
    add_device(ada, token="fid-ada")
    plan(runner)

    # The worker was down from before 14:20 until 15:50: Panel 1 began at 14:30.
    output = dispatch_at("2020-03-30T15:50:00Z")

    assert "1 sent" in output and "1 expired" in output
    (received,) = fcm.received
    assert received.message["notification"] == {
        "title": "Reminder: Networking cocktail", "body": "Starts at 18:00 · Neuer Saal",
    }
    assert set(reminders_of(ada)) >= {"panel-1/expired", "networking-cocktail/sent"}


def test_speakers_and_moderators_are_reminded_30_minutes_ahead(fcm, make_attendee, add_device,
                                                              runner, dispatch_at, by_key):
    speaker = make_attendee(roles=["speaker"])
    add_device(speaker, token="fid-speaker")
    listener = make_attendee()
    add_device(listener, token="fid-listener")
    db.session.add(SessionPerson(session_id=by_key["panel-1"].id, attendee_id=speaker.id,
                                 role="speaker"))
    db.session.commit()
    plan(runner)

    dispatch_at("2020-03-30T14:00:00Z")
    assert fcm.targets() == ["fid-speaker"]
    dispatch_at("2020-03-30T14:20:00Z")
    assert fcm.targets() == ["fid-speaker", "fid-listener"]


def test_a_moved_session_moves_its_reminder(fcm, make_attendee, add_device, runner,
                                            dispatch_at, by_key):
    ada = make_attendee()
    add_device(ada, token="fid-ada")
    plan(runner)
    panel = by_key["panel-1"]

    panel.starts_at += timedelta(hours=1)
    panel.ends_at += timedelta(hours=1)
    planned = reminders.sync_session(panel)
    db.session.commit()

    assert (planned.wanted, planned.cancelled) == (1, 1)
    rows = reminders_of(ada)
    assert rows["panel-1/cancelled"].key.endswith(":2020-03-30T14:30:00+00:00")
    assert rows["panel-1/pending"].key.endswith(":2020-03-30T15:30:00+00:00")
    assert "0 sent" in dispatch_at("2020-03-30T14:20:00Z")
    assert "1 sent" in dispatch_at("2020-03-30T15:20:00Z")
    (received,) = fcm.received
    assert received.message["notification"]["body"] == "Starts at 17:30 · Neuer Saal"


def test_a_cancelled_session_is_never_reminded(fcm, make_attendee, add_device, runner,
                                               dispatch_at, by_key):
    ada = make_attendee()
    add_device(ada)
    plan(runner)

    by_key["panel-1"].status = "cancelled"
    reminders.sync_session(by_key["panel-1"])
    db.session.commit()

    assert "0 sent" in dispatch_at("2020-03-30T14:20:00Z")
    assert fcm.received == []
    assert "panel-1/cancelled" in reminders_of(ada)


def test_reminders_change_in_the_transaction_of_their_cause(make_attendee, runner, by_key):
    ada = make_attendee()
    plan(runner)
    panel = by_key["panel-1"]

    panel.starts_at += timedelta(hours=1)
    reminders.sync_session(panel)
    db.session.rollback()

    assert list(reminders_of(ada)) == [
        "panel-1/pending", "networking-cocktail/pending", "panel-2/pending",
        "panel-3/pending", "panel-4/pending",
    ]


def test_followed_muted_and_switched_off(make_attendee, runner, by_key):
    ada = make_attendee()
    plan(runner)
    db.session.add(Bookmark(attendee_id=ada.id, session_id=by_key["keynotes"].id,
                            following=True))
    db.session.add(Bookmark(attendee_id=ada.id, session_id=by_key["panel-2"].id,
                            following=False))
    reminders.sync_attendee(ada)
    db.session.commit()
    assert {"keynotes/pending", "panel-2/cancelled"} <= set(reminders_of(ada))

    ada.notify = {**ada.notify, "reminders": False}
    assert reminders.sync_attendee(ada).cancelled == 5
    db.session.commit()
    assert all(key.endswith("/cancelled") for key in reminders_of(ada))

    ada.notify = {**ada.notify, "reminders": True}
    ada.reminder_minutes = 25
    reminders.sync_attendee(ada)
    db.session.commit()
    rows = reminders_of(ada)
    assert rows["panel-1/pending"].due_at.isoformat() == "2020-03-30T14:05:00+00:00"
    assert "panel-2/cancelled" in rows


def test_a_followed_session_that_moves_moves_only_its_followers_reminders(make_attendee,
                                                                         runner, by_key):
    ada, bob = make_attendee(), make_attendee()
    keynotes = by_key["keynotes"]
    db.session.add(Bookmark(attendee_id=ada.id, session_id=keynotes.id, following=True))
    db.session.commit()
    plan(runner)

    keynotes.starts_at += timedelta(minutes=15)
    assert reminders.sync_session(keynotes).wanted == 1
    db.session.commit()

    assert reminders_of(ada)["keynotes/pending"].due_at.isoformat() == (
        "2020-03-30T13:35:00+00:00")
    assert not [key for key in reminders_of(bob) if key.startswith("keynotes")]


def test_a_session_change_also_reaches_those_who_dropped_it(make_attendee, runner, by_key):
    ada = make_attendee()
    keynotes = by_key["keynotes"]
    bookmark = Bookmark(attendee_id=ada.id, session_id=keynotes.id, following=True)
    db.session.add(bookmark)
    db.session.commit()
    plan(runner)
    bookmark.following = False  # unfollowed by a path that did not sync her reminders
    db.session.commit()

    keynotes.starts_at += timedelta(minutes=15)
    assert reminders.sync_session(keynotes).cancelled == 1
    db.session.commit()

    assert [key for key in reminders_of(ada) if key.startswith("keynotes")] == [
        "keynotes/cancelled"]


def test_planning_twice_changes_nothing(make_attendee, runner):
    ada = make_attendee()
    plan(runner)
    before = {key: (row.id, row.due_at, row.title) for key, row in reminders_of(ada).items()}
    assert plan(runner) == "alliance-2020: 5 reminders planned, 0 cancelled\n"
    after = {key: (row.id, row.due_at, row.title) for key, row in reminders_of(ada).items()}
    assert after == before


def test_a_crowd_is_planned_in_as_many_queries_as_a_few(make_attendee, by_key, statements):
    people = [make_attendee() for _ in range(40)]
    ids = [attendee.id for attendee in people]
    keynotes_id = by_key["keynotes"].id

    def follow_keynotes(attendee_ids):
        db.session.add_all(Bookmark(attendee_id=attendee_id, session_id=keynotes_id)
                           for attendee_id in attendee_ids)
        db.session.commit()

    def measured(sync) -> tuple[tuple[int, int], int]:
        """What ``sync`` planned and how many statements it sent, on a fresh session."""
        db.session.expunge_all()
        statements.clear()
        planned = sync()
        count = len(statements)
        db.session.commit()
        return (planned.wanted, planned.cancelled), count

    def attendees(attendee_ids):
        return db.session.scalars(select(Attendee).where(Attendee.id.in_(attendee_ids))).all()

    def move_keynotes():
        keynotes = db.session.get(Session, keynotes_id)
        keynotes.starts_at += timedelta(minutes=15)
        return reminders.sync_session(keynotes)

    few = measured(lambda: reminders.sync_attendees(attendees(ids[:4])))
    crowd = measured(lambda: reminders.sync_attendees(attendees(ids)))
    assert few[0] == (20, 0) and crowd[0] == (200, 0)
    assert crowd[1] == few[1]

    follow_keynotes(ids[:4])
    few = measured(move_keynotes)
    follow_keynotes(ids[4:])
    crowd = measured(move_keynotes)
    assert few[0] == (4, 0) and crowd[0] == (40, 4)
    assert crowd[1] == few[1] + 1  # the one statement that cancels the crowd's old ones


def test_plan_needs_a_known_event(runner):
    result = runner.invoke(args=["notifications", "plan", "--event", "nope"])
    assert result.exit_code == 2
    assert "no event 'nope'" in result.output


# --- the texts ---------------------------------------------------------------------

@pytest.mark.parametrize("language,title,body", [
    ("en", f"Reminder: {PANEL_1}", "Starts at 16:30 · Neuer Saal"),
    ("fr", f"Rappel : {PANEL_1}", "Commence à 16:30 · Neuer Saal"),
    ("de", f"Erinnerung: {PANEL_1}", "Beginnt um 16:30 Uhr · Neuer Saal"),
    ("it", f"Promemoria: {PANEL_1}", "Inizia alle 16:30 · Neuer Saal"),
    ("ru", f"Напоминание: {PANEL_1}", "Начало в 16:30 · Neuer Saal"),
    ("es", f"Recordatorio: {PANEL_1}", "Empieza a las 16:30 · Neuer Saal"),
])
def test_reminders_speak_the_attendees_language(language, title, body, make_attendee, runner):
    ada = make_attendee(language=language, name="Ada Lovelace", organisation="Analytical")
    plan(runner)
    row = reminders_of(ada)["panel-1/pending"]
    assert (row.title, row.body) == (title, body)
    assert "Ada" not in title + body and "Analytical" not in title + body


def test_a_phone_set_to_its_own_language_gets_its_pushes_in_it(fcm, make_attendee, add_device,
                                                              runner, dispatch_at):
    ada = make_attendee(language="fr")
    add_device(ada, token="fid-follows-ada")
    spanish = add_device(ada, token="fid-spanish")
    spanish.language = "es"
    db.session.commit()
    plan(runner)

    dispatch_at("2020-03-30T14:20:00Z")

    texts = {r.target: r.message["notification"] for r in fcm.received}
    assert texts == {
        "fid-follows-ada": {"title": f"Rappel : {PANEL_1}",
                            "body": "Commence à 16:30 · Neuer Saal"},
        "fid-spanish": {"title": f"Recordatorio: {PANEL_1}",
                        "body": "Empieza a las 16:30 · Neuer Saal"},
    }
    inbox = db.session.scalar(select(InboxNotification))
    assert inbox.title == f"Rappel : {PANEL_1}"  # the inbox speaks the attendee's language


def test_english_when_there_is_no_text_in_a_language(by_key):
    panel = by_key["panel-1"]
    panel.room = None
    values = reminders.session_values(panel)
    for language in ("pt", None):
        texts = kinds.render("reminder", language, values)
        assert (texts.title, texts.body) == (f"Reminder: {PANEL_1}", "Starts at 16:30")


def test_a_changed_language_changes_the_pending_texts(make_attendee, runner):
    ada = make_attendee()
    plan(runner)
    ada.language = "de"
    reminders.sync_attendee(ada)
    db.session.commit()
    assert reminders_of(ada)["panel-1/pending"].title == f"Erinnerung: {PANEL_1}"

