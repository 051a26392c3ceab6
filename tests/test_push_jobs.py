"""Deferred jobs (notifications/jobs.py): work left to the dispatcher, of one generic
kind, run before it claims; the claim knows nothing of them (issue 24)."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from companion.extensions import db
from companion.people.models import Bookmark
from notifications import jobs, outbox, reminders
from notifications.models import DeferredJob, OutboxMessage

from conftest import PANEL_1_STARTS

DONE: list[dict] = []


@jobs.job("test_note")
def note(payload: dict) -> None:
    DONE.append(payload)


def test_a_new_kind_of_deferred_work_is_a_function_run_once_before_the_claim(
        app, make_attendee, queue, dispatch):
    """A registered function and `defer`: no table, no claim clause. The dispatcher
    runs the job before it claims, in its claiming transaction, once."""
    DONE.clear()
    queue(make_attendee())
    jobs.defer("test_note", [{"n": 1}, {"n": 2}])
    db.session.commit()
    assert outbox.next_due() is not None
    dispatch(PANEL_1_STARTS - timedelta(minutes=9))
    assert DONE == [{"n": 1}, {"n": 2}]
    assert not db.session.scalar(select(func.count()).select_from(DeferredJob))
    dispatch(PANEL_1_STARTS - timedelta(minutes=9))
    assert DONE == [{"n": 1}, {"n": 2}]  # once


def test_a_job_of_an_unknown_kind_is_refused_where_it_is_deferred(app):
    with pytest.raises(LookupError):
        jobs.defer("no_such_kind", [{}])


def test_a_held_message_is_claimed_by_no_one_until_it_is_due_again(app, make_attendee, queue):
    """`outbox.hold` keeps messages from the claim (one UPDATE, the claim unchanged);
    `unhold` makes them due again at their due time."""
    message = queue(make_attendee())
    due = PANEL_1_STARTS - timedelta(minutes=9)
    outbox.hold(OutboxMessage.id == message.id)
    assert outbox.claim(due, 10, timedelta(minutes=1)) == []
    outbox.unhold(OutboxMessage.id == message.id)
    assert message.id in outbox.claim(due, 100, timedelta(minutes=1))


def test_one_threshold_decides_a_crowd(app):
    app.config["PUSH_FANOUT_FROM"] = 3
    assert not jobs.crowded(2)
    assert jobs.crowded(3)


def test_a_crowds_reminder_tried_already_is_held_then_due_again_after_its_replan(
        app, by_key, make_attendee):
    """A release to a crowd holds its sessions' pending reminders, a retry included (one
    UPDATE, no claim clause); the re-plan job keeps the one still wanted and makes it
    due again at its due time, since a refresh keeps a tried message's next attempt."""
    session = by_key["panel-1"]
    attendee = make_attendee()
    db.session.add(Bookmark(attendee_id=attendee.id, session_id=session.id))
    reminders.sync_attendee(attendee)
    (message,) = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.attendee_id == attendee.id, OutboxMessage.session_id == session.id))
    message.attempts = 1  # tried once, to be retried at its due time
    db.session.commit()
    due = message.due_at + timedelta(seconds=1)
    reminders.plan_later([session], {})
    db.session.commit()
    assert message.id not in outbox.claim(due, 100, timedelta(minutes=1))  # held
    db.session.rollback()
    assert jobs.run_waiting() == 1
    db.session.commit()
    assert message.id in outbox.claim(due, 100, timedelta(minutes=1))
