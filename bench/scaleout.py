"""Scale-out: 1, 2 and 4 notification workers on one PostgreSQL against the fake FCM.

    python bench/scaleout.py --database-url postgresql://postgres@127.0.0.1:5432/companion_bench
        [--messages 20000] [--workers 1 2 4]

PostgreSQL only; that database's schema is DROPPED and rebuilt by the migrations.

Seeds --messages attendees with one phone each and one reminder each. For each count of
workers: every reminder is made pending again, the workers (each
``flask --app wsgi notifications worker``, a process of its own) are started and, once
all are up, the reminders fall due one second later. Timed from due to the last arrival
at the fake FCM (notifications/fake_fcm.py, its own process, as in bench/dispatch.py).
Prints the total msg/s, the ratio to one worker, the duplicates the fake counted
(target: 0), the messages sent according to the database, the CPU seconds of the
workers and of the fake, and how busy the machine's cores were meanwhile.
"""

import argparse
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import firebase_admin
import sqlalchemy as sa
from common import (
    cpu_seconds,
    fresh_database,
    machine_busy,
    require_postgres,
    reset_fake,
    seed_messages,
    seed_people,
    start_fake,
    start_worker,
    stop_worker,
    vacuum_outbox,
    wait_for,
)
from firebase_admin import credentials
from flask_migrate import upgrade

from companion import create_app
from companion.extensions import db
from companion.timeutil import utcnow
from notifications.senders import FcmSender, Push, close_app

LEAD = 1.0  # seconds from the workers being up to the reminders' due time


def make_due(due) -> None:
    """Every reminder pending again and not yet tried, due at ``due``."""
    db.session.execute(sa.text("DELETE FROM inbox_notifications"))
    db.session.execute(sa.text(
        "UPDATE push_outbox SET status = 'pending', attempts = 0, due_at = :due, "
        "next_attempt_at = :due, expires_at = :due + interval '10 minutes', "
        "locked_until = NULL, delivered_to = '[]', sent_at = NULL, last_error = NULL"
    ), {"due": due})
    db.session.commit()
    vacuum_outbox(db.engine)


def wait_until_up(workers, timeout: float = 60) -> None:
    """Until each worker has logged that it is sending (its first JSON line)."""
    deadline = time.monotonic() + timeout
    while not all("sending through" in Path(w.log).read_text() for w in workers):
        if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
            raise RuntimeError("a worker did not start: "
                               + " | ".join(Path(w.log).read_text()[-500:] for w in workers))
        time.sleep(0.1)


def run(count: int, messages: int, database: str, fake, fake_url: str, account: str,
        workdir: Path) -> dict:
    reset_fake(fake_url)
    make_due(utcnow() + timedelta(days=1))  # pending, not due: nothing moves yet
    workers = [start_worker(database, fake_url, account, workdir / f"worker-{count}-{n}.log")
               for n in range(count)]
    try:
        wait_until_up(workers)
        fake_cpu = cpu_seconds(fake.pid)
        worker_cpu = sum(cpu_seconds(w.pid) for w in workers)  # their start-up, not counted
        busy_before = machine_busy()
        due = utcnow() + timedelta(seconds=LEAD)
        make_due(due)
        arrived = wait_for(fake_url, messages, timeout=300)
        busy_after = machine_busy()
        fake_cpu = cpu_seconds(fake.pid) - fake_cpu
        worker_cpu = sum(cpu_seconds(w.pid) for w in workers) - worker_cpu
    finally:
        finished = [stop_worker(w) for w in workers]
    sent = db.session.scalar(sa.text("SELECT count(*) FROM push_outbox WHERE status = 'sent'"))
    seconds = arrived["last_at"] - due.timestamp()
    return {
        "workers": count, "received": arrived["received"], "seconds": seconds,
        "rate": arrived["received"] / seconds, "first": arrived["first_at"] - due.timestamp(),
        "duplicates": arrived["duplicates"], "sent": sent,
        "worker_cpu": worker_cpu, "fake_cpu": fake_cpu,
        "busy": (busy_after[0] - busy_before[0]) / max(1, busy_after[1] - busy_before[1]),
        "exits": [f.returncode for f in finished],
        "peak_rss": max(f.peak_rss_mb for f in finished),
        "load": os.getloadavg()[0],
    }


def sdk_cpu_per_message(account: str, fake_url: str, count: int = 2000) -> float:
    """CPU ms per message of FcmSender alone (firebase-admin's send_each and the
    messages it is given), in this process, against the same fake: what a worker cannot
    do with less."""
    firebase = firebase_admin.initialize_app(
        credentials.Certificate(account), {"httpTimeout": 10}, name="calibrate"
    )
    sender = FcmSender(firebase, fake_url)
    now = utcnow()
    pushes = [Push(n, n, f"fid-calibrate-{n}", "android", "Panel 1 starts in 10 minutes",
                   "Room A, 14:30", {"session": "1", "notification_id": str(n)},
                   "reminder-1", now + timedelta(minutes=10)) for n in range(count)]
    try:
        sender.send(pushes[:500], now)  # warm-up: the token, the connections
        reset_fake(fake_url)
        started = time.process_time()
        results = sender.send(pushes, now)
        spent = time.process_time() - started
    finally:
        close_app(firebase)
    assert all(result.outcome == "sent" for result in results)
    return spent / count * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL; its schema is dropped first")
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    url = require_postgres(args.database_url)

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        database = fresh_database(url, workdir)
        fake, fake_url, account = start_fake(workdir)
        app = create_app({"SQLALCHEMY_DATABASE_URI": database, "LOG_LEVEL": "WARNING"})
        results = []
        try:
            with app.app_context():
                upgrade()
                now = utcnow()
                seed_people(db.session, args.messages, now)
                seed_messages(db.session, now, {"key": "'reminder-' || s.id",
                                                "attendee_id": "s.id"}, {})
                db.session.commit()
                print(f"{args.messages:,} reminders to {args.messages:,} phones; "
                      f"PostgreSQL {db.session.scalar(sa.text('SHOW server_version'))}; "
                      f"fake FCM at {fake_url} (own process); batches of 500")
                for count in args.workers:
                    result = run(count, args.messages, database, fake, fake_url, account,
                                 workdir)
                    results.append(result)
                    base = results[0]["rate"]
                    print(f"{count} worker{'s' if count > 1 else ' '}: "
                          f"{result['rate']:6.0f} msg/s (x{result['rate'] / base:.2f} of "
                          f"{results[0]['workers']}), {result['received']:,} in "
                          f"{result['seconds']:.2f} s from due, first after "
                          f"{result['first'] * 1000:.0f} ms; duplicates at the fake "
                          f"{result['duplicates']}; sent in the database {result['sent']:,}; "
                          f"CPU s: workers {result['worker_cpu']:.1f}, fake "
                          f"{result['fake_cpu']:.1f}; cores busy {result['busy']:.0%}; "
                          f"peak RSS {result['peak_rss']:.0f} MB; exits {result['exits']}; "
                          f"load average {result['load']:.1f}")
                    assert result["duplicates"] == 0 and result["sent"] == args.messages
                db.session.remove()
                db.engine.dispose()
            sdk_ms = sdk_cpu_per_message(account, fake_url)
        finally:
            fake.terminate()
            fake.wait()
    one = results[0]
    print(f"\nper message, 1 worker: {one['worker_cpu'] / args.messages * 1000:.2f} ms of "
          f"worker CPU (of which firebase-admin's send_each alone, measured apart: "
          f"{sdk_ms:.2f} ms) and {one['fake_cpu'] / args.messages * 1000:.2f} ms of the fake's")
    print("summary: " + ", ".join(f"{r['workers']} -> {r['rate']:.0f} msg/s "
                                  f"(x{r['rate'] / one['rate']:.2f}, {r['duplicates']} dup)"
                                  for r in results))


if __name__ == "__main__":
    main()
