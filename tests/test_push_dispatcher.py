"""The outbox and the dispatcher: claiming, leases, the inbox, the CLI, the worker."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from companion.extensions import db
from companion.people.models import Attendee, Device
from companion.schedule import operations as schedule_ops
from companion.timeutil import utcnow
from notifications import outbox, senders
from notifications.dispatcher import Dispatcher, RetryPolicy, Tally, Worker
from notifications.models import InboxNotification, OutboxMessage
from notifications.notify import notify
from notifications.senders import FcmSender, LogSender

UTC = timezone.utc
# Panel 1 starts at 16:30 in Vienna on 30 March 2020: 14:30 UTC (summer time since the 29th).
PANEL_1_STARTS = datetime(2020, 3, 30, 14, 30, tzinfo=UTC)
NOW = PANEL_1_STARTS - timedelta(minutes=10)


ROOT = Path(__file__).resolve().parents[1]


def inbox_count() -> int:
    return db.session.scalar(select(func.count()).select_from(InboxNotification))


# --- the retry policy (pure) ---------------------------------------------------------

def test_retry_policy_backs_off_exponentially_up_to_a_ceiling():
    policy = RetryPolicy(first=2, factor=2, longest=60)
    assert [policy.delay(n) for n in (1, 2, 3, 4, 5, 6, 7)] == [2, 4, 8, 16, 32, 60, 60]


def test_retry_policy_honours_retry_after_and_the_expiry():
    policy = RetryPolicy()
    assert policy.delay(1, retry_after=30) == 30
    assert policy.delay(5, retry_after=1) == 32
    assert policy.next_attempt(NOW, 1, None, None) == NOW + timedelta(seconds=2)
    assert policy.next_attempt(NOW, 1, None, NOW + timedelta(seconds=3)) == (
        NOW + timedelta(seconds=2))
    assert policy.next_attempt(NOW, 1, None, NOW + timedelta(seconds=2)) is None
    assert policy.next_attempt(NOW, 1, 60, NOW + timedelta(seconds=30)) is None


# --- writing the outbox --------------------------------------------------------------

def test_a_key_is_written_once_and_history_is_kept(make_attendee, queue, dispatch, reload):
    ada = make_attendee()
    first = queue(ada, key="k", title="Old")
    again = queue(ada, key="k", title="New", due_at=NOW + timedelta(minutes=1))
    assert again.id == first.id
    assert (again.title, again.due_at) == ("New", NOW + timedelta(minutes=1))

    dispatch(NOW + timedelta(minutes=1))
    sent = queue(ada, key="k", title="Newer")
    assert (reload(sent).status, reload(sent).title) == ("sent", "New")
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_a_cancelled_message_is_never_sent_but_may_come_back(make_attendee, queue, dispatch):
    ada = make_attendee()
    row = queue(ada, key="k")
    row.status = "cancelled"  # as reminders do when the session leaves the agenda
    db.session.commit()
    assert dispatch(NOW) == Tally()

    queue(ada, key="k")
    assert dispatch(NOW).sent == 1


def test_the_outbox_row_commits_or_rolls_back_with_its_cause(make_attendee):
    ada = make_attendee()
    ada.reminder_minutes = 25
    notify("announcement", [ada], {"title": "T", "body": "B"}, key="k", due_at=NOW)
    db.session.rollback()
    assert db.session.scalar(select(OutboxMessage)) is None
    assert db.session.get(type(ada), ada.id).reminder_minutes == 10


# --- dispatching ---------------------------------------------------------------------

def test_two_dispatch_runs_send_nothing_twice(fcm, make_attendee, add_device, queue, runner):
    for _ in range(3):
        attendee = make_attendee()
        add_device(attendee)
        add_device(attendee, platform="ios")
        queue(attendee)

    first = runner.invoke(args=["notifications", "dispatch", "--once",
                                "--now", "2020-03-30T14:20:00Z"])
    second = runner.invoke(args=["notifications", "dispatch", "--once",
                                 "--now", "2020-03-30T14:21:00Z"])

    assert first.exit_code == 0, first.output
    assert "3 sent" in first.output and "6 pushes" in first.output
    assert "0 sent" in second.output and "0 pushes" in second.output
    assert len(fcm.received) == 6
    assert max(Counter(fcm.targets()).values()) == 1
    assert inbox_count() == 3


def test_every_message_reaches_the_inbox_once_even_without_a_device(make_attendee, queue,
                                                                   dispatch, reload):
    ada = make_attendee()
    row = queue(ada)

    assert dispatch(NOW).sent == 1

    assert reload(row).status == "sent"
    item = db.session.scalar(select(InboxNotification))
    assert (item.attendee_id, item.outbox_id, item.title) == (ada.id, row.id, "Panel 1")


def test_a_claim_whose_worker_died_is_taken_again_after_the_lease(make_attendee, add_device,
                                                                   queue, dispatch, reload):
    ada = make_attendee()
    add_device(ada)
    row = queue(ada)
    lease = timedelta(minutes=2)
    assert outbox.claim(NOW, 10, lease) == [row.id]  # ... and the worker dies here
    db.session.commit()

    assert outbox.claim(NOW + timedelta(seconds=30), 10, lease) == []  # still leased
    assert dispatch(NOW + timedelta(seconds=30)) == Tally()
    assert dispatch(NOW + lease + timedelta(seconds=1)).sent == 1

    assert reload(row).attempts == 2
    assert inbox_count() == 1


def test_a_claim_is_a_check_and_set(make_attendee, queue):
    ada = make_attendee()
    rows = [queue(ada) for _ in range(3)]
    lease = timedelta(minutes=2)

    first = outbox.claim(NOW, 2, lease)
    second = outbox.claim(NOW, 2, lease)
    db.session.commit()

    assert sorted(first + second) == sorted(r.id for r in rows)
    assert not set(first) & set(second)
    assert outbox.claim(NOW, 2, lease) == []
    # A worker that picked a row before another one claimed it misses when it sets it.
    assert outbox.take([first[0], 999], NOW, lease) == []
    assert outbox.take([first[0]], NOW + lease + timedelta(seconds=1), lease) == [first[0]]


def test_two_workers_on_the_suites_database_share_the_work(make_app, make_attendee, queue, statuses):
    for _ in range(60):
        queue(make_attendee())
    apps = [make_app(), make_app()]
    tallies = [None, None]
    start = threading.Barrier(2)

    def work(index):
        with apps[index].app_context():
            start.wait()
            dispatcher = Dispatcher(LogSender(stream=open(os.devnull, "w")), batch_size=7)
            try:
                tallies[index] = dispatcher.run_once(now=NOW)
            finally:
                dispatcher.sender.stream.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert tallies[0].sent + tallies[1].sent == 60
    assert statuses() == {"sent": 60}
    assert inbox_count() == 60


@pytest.mark.postgres
def test_the_heartbeat_locks_each_held_message_once_whatever_the_statistics(
        seed_recipients, pg_conference):
    """PostgreSQL's statistics say that hardly any message is being sent (most are
    sent, as in an outbox that has run a while). Spelt ``id IN (subquery)``, the
    renewal ran its locking subquery again for each row it scanned: 0.9 s for 1,000
    held messages, with the dispatcher's settling waiting on it (bench/releases.py)."""
    with pg_conference.app_context():
        seed_recipients(schedule_ops.get_event("alliance-2020"), 1000)
        db.session.execute(update(OutboxMessage).values(status="sent"))
        db.session.commit()
        db.session.execute(text("ANALYZE push_outbox"))
        held = db.session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)
                                  .limit(500)).all()
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(held))
                           .values(status="sending"))
        renewal = outbox.renewal("postgresql").compile(dialect=db.engine.dialect)
        until = utcnow() + timedelta(seconds=10)
        plan = db.session.connection().exec_driver_sql(
            f"EXPLAIN (ANALYZE, FORMAT JSON) {renewal}",
            {**renewal.params, "ids": held, "until": until},
        ).scalar()

        def nodes(node):
            yield node
            for child in node.get("Plans", []):
                yield from nodes(child)

        locking = [n for n in nodes(plan[0]["Plan"]) if n["Node Type"] == "LockRows"]
        assert [n["Actual Loops"] for n in locking] == [1]
        assert db.session.scalar(select(func.count()).where(
            OutboxMessage.locked_until == until)) == 500
        db.session.rollback()


@pytest.mark.postgres
def test_two_workers_against_postgresql_send_2000_messages_once(
        seed_recipients, statuses, pg_conference, make_pg_app, fake_fcm, firebase_app):
    # seed_recipients and statuses come first: they set up ``app``, which empties the
    # tables, and when the suite itself runs on PostgreSQL that is pg_conference's database
    with pg_conference.app_context():
        fids = seed_recipients(schedule_ops.get_event("alliance-2020"), 2000)
    sender = FcmSender(firebase_app, fake_fcm.url)
    apps = [pg_conference, make_pg_app()]
    tallies: list[Tally | None] = [None, None]
    start = threading.Barrier(2)

    def work(index):
        with apps[index].app_context():
            start.wait()
            tallies[index] = Dispatcher(sender, batch_size=100).run_once(now=NOW)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    received = Counter(fake_fcm.targets())
    assert sorted(received) == sorted(fids)  # none missing
    assert set(received.values()) == {1}  # no duplicate
    assert tallies[0].sent + tallies[1].sent == 2000
    assert tallies[0].sent > 0 and tallies[1].sent > 0
    with apps[0].app_context():
        assert statuses() == {"sent": 2000}
        assert inbox_count() == 2000


def test_a_run_sends_a_small_first_batch_then_full_ones(app, conference, fcm, seed_recipients):
    """The first push of a burst leaves once 50 messages are claimed and built, not 500.
    Each send call's messages are recorded as sent at that call's moment, so their
    sent_at groups them by call."""
    now = utcnow()
    seed_recipients(schedule_ops.get_event("alliance-2020"), 600,
                    due_at=now - timedelta(seconds=1), expires_at=now + timedelta(hours=1))

    tally = Dispatcher(senders.from_config(app.config)).run_once()

    assert tally.sent == 600
    calls = db.session.execute(
        select(OutboxMessage.sent_at, func.count()).group_by(OutboxMessage.sent_at)
        .order_by(OutboxMessage.sent_at)
    ).all()
    assert [count for _, count in calls] == [50, 500, 50]
    assert len(set(fcm.targets())) == 600


# --- the commands --------------------------------------------------------------------

def test_log_sender_writes_one_json_line_per_push(make_attendee, add_device, queue, runner):
    ada = make_attendee()
    add_device(ada, platform="android")
    add_device(ada, platform="ios")
    row = queue(ada)

    result = runner.invoke(args=["notifications", "dispatch", "--once",
                                 "--now", "2020-03-30T16:20:00+02:00"])

    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert [line["platform"] for line in lines] == ["android", "ios"]
    assert {line["outbox_id"] for line in lines} == {row.id}
    assert lines[0]["title"] == "Panel 1"
    assert lines[0]["expires_at"] == PANEL_1_STARTS.isoformat()
    assert result.output.splitlines()[-1].startswith("dispatched: 1 sent")
    assert inbox_count() == 1


@pytest.mark.parametrize("args,message", [
    (["--once", "--now", "2020-03-30T14:20:00"], "has no offset"),
    (["--once", "--now", "soon"], "is not an ISO 8601"),
    (["--now", "2020-03-30T14:20:00Z"], "pass --once"),
])
def test_dispatch_refuses_unclear_input(runner, args, message):
    result = runner.invoke(args=["notifications", "dispatch", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_the_worker_sleeps_until_a_message_is_due_and_stops_when_asked(
        app, fcm, make_attendee, add_device, queue):
    ada = make_attendee()
    add_device(ada, token="fid-ada")
    due = utcnow() + timedelta(seconds=0.5)
    queue(ada, due_at=due, expires_at=due + timedelta(hours=1))
    worker = Worker(Dispatcher(senders.from_config(app.config)), poll=5)

    def run():
        with app.app_context():
            worker.run()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while not fcm.received and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        worker.stop()
        thread.join(timeout=5)

    assert not thread.is_alive()
    assert fcm.targets() == ["fid-ada"]
    late = fcm.received[0].at - due.timestamp()
    assert 0 <= late < 2.5  # it woke at due, not after the 5 s poll (margin for a busy CI)


def test_the_worker_command_stops_cleanly_on_sigterm(app, migrated, make_attendee, add_device,
                                                     queue, reload):
    ada = make_attendee()
    add_device(ada, token="fid-sigterm")
    now = utcnow()
    row = queue(ada, due_at=now, expires_at=now + timedelta(hours=1))
    # development: a PostgreSQL DATABASE_URL alone means production, which needs real keys
    env = {**os.environ, "DATABASE_URL": migrated, "PUSH_BACKEND": "log",
           "COMPANION_ENV": "development", "PYTHONUNBUFFERED": "1"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "notifications", "worker",
         "--poll", "0.2"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while reload(row).status != "sent" and time.monotonic() < deadline:
            time.sleep(0.1)
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()

    assert worker.returncode == 0, err
    assert reload(row).status == "sent"
    assert '"outbox_id": %d' % row.id in out
    assert json.loads(err.splitlines()[-1])["message"] == "notifications worker: stopped"


@pytest.mark.postgres
def test_on_postgresql_the_worker_wakes_when_a_message_is_committed_not_at_its_poll(
        pg_conference, pg_migrated, fake_fcm, workers, tmp_path):
    """The transaction that writes a message NOTIFYs at commit and the idle worker,
    listening, sends it at once. Its poll here is an hour: without the wake-up nothing
    would go out before the test gives up."""
    with pg_conference.app_context():
        ada = Attendee(event=schedule_ops.get_event("alliance-2020"),
                       email="ada@example.org", name="Ada")
        db.session.add(ada)
        db.session.flush()
        db.session.add(Device(attendee_id=ada.id, token="fid-wake", platform="android"))
        db.session.commit()
        ada_id = ada.id
    log = tmp_path / "worker.log"
    worker = workers.start(pg_migrated, log, poll=3600, LOG_LEVEL="DEBUG")
    # its first look (nothing to send) is over: it sleeps for up to an hour
    assert workers.wait_for(lambda: "idle for up to 3600" in log.read_text(), 60), \
        log.read_text()[-3000:]
    with pg_conference.app_context():
        notify("announcement", [db.session.get(Attendee, ada_id)],
               {"title": "Lunch moved", "body": "To the Festsaal.", "texts": {}},
               key="announcement:wake")
        db.session.commit()
    assert workers.wait_for(lambda: fake_fcm.targets() == ["fid-wake"], 60), \
        log.read_text()[-3000:]
    assert workers.stop(worker) == 0, log.read_text()[-3000:]


def test_the_worker_polls_every_second_on_postgresql_and_every_quarter_second_on_sqlite(
        app, migrated, workers, tmp_path):
    """Without --poll: PostgreSQL wakes it when messages are committed, SQLite cannot."""
    log = tmp_path / "worker.log"
    worker = workers.start(migrated, log, poll=None)
    assert workers.wait_for(lambda: "sending through" in log.read_text(), 60), log.read_text()
    started = next(json.loads(line) for line in log.read_text().splitlines()
                   if "sending through" in line)
    assert started["poll"] == (1.0 if migrated.startswith("postgresql") else 0.25)
    assert workers.stop(worker) == 0, log.read_text()[-3000:]
