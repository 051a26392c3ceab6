"""The dispatcher's queries as the outbox grows: 10,000 and 100,000 pending messages.

    python bench/growth.py --database-url postgresql://postgres@127.0.0.1:5432/bench_h13
        [--sizes 10000 100000] [--repeat 30] [--no-worker]

PostgreSQL only; that database's schema is DROPPED and rebuilt by the migrations.

For each size N it seeds N attendees with a device each, N messages already sent (the
history a table keeps) and N pending ones, ANALYZEs, and times what the worker runs on
every round (notifications/outbox.py): `next_due` (when to wake), `expire_overdue`
(give up on late ones) and `claim` (500 due messages, FOR UPDATE SKIP LOCKED), each
rolled back and repeated, median of --repeat. Two shapes of the same N:
- "a batch due": 500 messages due now, the rest spread over the next three days;
- "all due": every pending message due now (the minutes before a keynote).
It prints each statement's EXPLAIN (ANALYZE) plan at every size, whether it scans the
table (Seq Scan) or an index, and the time at each size as a ratio to the smallest.
Target: flat (ratio near 1), no Seq Scan on push_outbox.

Then, at the largest size with every message due, the real worker
(``flask --app wsgi notifications worker``, its own process) sends them all to the fake
FCM (notifications/fake_fcm.py, its own process); the kernel's peak RSS of the worker is printed.
Target: at most 200 MB.
"""

import argparse
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from common import (
    clone_rows,
    fresh_database,
    require_postgres,
    start_fake,
    start_worker,
    stop_worker,
    wait_for,
)
from flask_migrate import upgrade

from companion import create_app
from companion.extensions import db
from companion.people.models import Attendee, Device
from companion.schedule import operations as schedule_ops
from companion.timeutil import utcnow
from notifications import outbox
from notifications.models import OutboxMessage

BATCH = 500
LEASE = timedelta(minutes=2)
TARGET_RSS_MB = 200


def seed(count: int, now) -> None:
    """``count`` attendees with one device each, ``count`` sent and ``count`` pending
    messages ("a batch due": the first 500 due a second ago, the others later)."""
    schedule_ops.seed_conference(schedule_ops.conference_data())
    event = schedule_ops.get_event("alliance-2020")
    template = Attendee(event=event, email="template@example.org", name="Template")
    db.session.add(template)
    db.session.flush()
    clone_rows(db.session, Attendee.__table__, template.id, "generate_series(1, :n) s(g)",
               {"email": "'bench' || s.g || '@example.org'", "name": "'Bench ' || s.g"},
               {"n": count})
    db.session.delete(template)
    db.session.flush()
    db.session.execute(sa.text(
        "INSERT INTO devices (attendee_id, token, platform, created_at, last_seen_at) "
        "SELECT id, 'fid-bench-' || id, 'android', :now, :now FROM attendees"
    ), {"now": now})
    first = db.session.scalar(sa.select(sa.func.min(Attendee.id)))
    message = OutboxMessage(
        key="template", attendee_id=first, kind="reminder", status="pending", attempts=0,
        title="Panel 1 starts in 10 minutes", body="Room A, 14:30", data={"session": "1"},
        delivered_to=[], due_at=now, next_attempt_at=now, expires_at=now,
        collapse_key="reminder-1", created_at=now,
    )
    db.session.add(message)
    db.session.flush()
    history = {"key": "'sent-' || s.id", "attendee_id": "s.id", "status": "'sent'",
               "attempts": "1", "sent_at": ":past", "due_at": ":past",
               "next_attempt_at": ":past", "expires_at": ":past + interval '10 minutes'"}
    clone_rows(db.session, OutboxMessage.__table__, message.id, "attendees s", history,
               {"past": now - timedelta(days=1)})
    # pending: the first BATCH attendees' messages are due; the rest spread over 3 days
    spread = ("CASE WHEN s.id < :first + :batch THEN :now - interval '1 second' "
              "ELSE :now + interval '1 hour' + ((s.id * 7919) % 259200) * interval '1 second' END")
    pending = {"key": "'pending-' || s.id", "attendee_id": "s.id", "due_at": spread,
               "next_attempt_at": spread, "expires_at": f"({spread}) + interval '10 minutes'"}
    clone_rows(db.session, OutboxMessage.__table__, message.id, "attendees s", pending,
               {"now": now, "first": first, "batch": BATCH})
    db.session.delete(message)
    db.session.commit()


def all_due(now) -> None:
    """Every pending message due within the last ten minutes, expiring in an hour."""
    db.session.execute(sa.text(
        "UPDATE push_outbox SET due_at = :now - (id % 600) * interval '1 second', "
        "next_attempt_at = :now - (id % 600) * interval '1 second', "
        "expires_at = :now + interval '1 hour' WHERE status = 'pending'"
    ), {"now": now})
    db.session.commit()


def analyze() -> None:
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE push_outbox"))
        connection.execute(sa.text("ANALYZE attendees"))
        connection.execute(sa.text("ANALYZE devices"))


def statements_of(call) -> list[tuple[str, dict]]:
    """The SQL ``call`` sends (rolled back afterwards)."""
    sent = []

    def record(connection, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
        db.session.rollback()
    return sent


def plan(statement: str, parameters) -> list[str]:
    """EXPLAIN ANALYZE of one statement, rolled back (it may be an UPDATE)."""
    connection = db.session.connection()
    rows = connection.exec_driver_sql(
        "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) " + statement, parameters
    ).scalars().all()
    db.session.rollback()
    return rows


def timed(call, repeat: int) -> float:
    """Median milliseconds of ``call``, each run in a transaction rolled back."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
        db.session.rollback()
    return statistics.median(times)


def measure(label: str, size: int, now, repeat: int, results: dict) -> None:
    queries = {
        "next_due": lambda: outbox.next_due(),
        "expire_overdue": lambda: outbox.expire_overdue(now),
        "claim": lambda: outbox.claim(now, BATCH, LEASE),
    }
    claimed = len(outbox.claim(now, BATCH, LEASE))
    db.session.rollback()
    for name, call in queries.items():
        (statement, parameters), = statements_of(call)
        lines = plan(statement, parameters)
        scans = "Seq Scan" if any("Seq Scan on push_outbox" in line for line in lines) else "index"
        median = timed(call, repeat)
        results[(label, name, size)] = (median, scans)
        print(f"\n--- {label}, {size:,} pending: {name}: {median:.2f} ms median of {repeat}"
              f" ({scans}{f'; claims {claimed}' if name == 'claim' else ''})")
        for line in lines:
            print("    " + line)


def worker_rss(database: str, size: int, workdir: Path) -> None:
    fake, fake_url, account = start_fake(workdir)
    try:
        started = time.time()
        worker = start_worker(database, fake_url, account, workdir / "worker.log")
        arrived = wait_for(fake_url, size, timeout=600)
        finished = stop_worker(worker)
    finally:
        fake.terminate()
        fake.wait()
    seconds = (arrived["last_at"] or time.time()) - started
    print(f"\nworker with {size:,} pending, all due: sent {arrived['received']:,} in "
          f"{seconds:.1f} s from its start ({arrived['received'] / seconds:.0f} msg/s), "
          f"{arrived['duplicates']} duplicates; peak RSS {finished.peak_rss_mb:.0f} MB "
          f"(target <= {TARGET_RSS_MB} MB: "
          f"{'met' if finished.peak_rss_mb <= TARGET_RSS_MB else 'NOT met'}), "
          f"CPU {finished.cpu_seconds:.1f} s, exit {finished.returncode}")
    assert arrived["received"] == size, finished.log[-2000:]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL; its schema is dropped first")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--no-worker", action="store_true",
                        help="skip the worker's peak RSS run")
    args = parser.parse_args()
    url = require_postgres(args.database_url)

    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for size in args.sizes:
            database = fresh_database(url, workdir)
            app = create_app({"SQLALCHEMY_DATABASE_URI": database, "LOG_LEVEL": "WARNING"})
            with app.app_context():
                upgrade()
                now = utcnow()
                started = time.perf_counter()
                seed(size, now)
                analyze()
                print(f"\n=== {size:,} pending messages (and {size:,} sent), seeded in "
                      f"{time.perf_counter() - started:.1f} s; PostgreSQL "
                      f"{db.session.scalar(sa.text('SHOW server_version'))}")
                measure("a batch due", size, now, args.repeat, results)
                all_due(now)
                analyze()
                measure("all due", size, now, args.repeat, results)
                db.session.remove()
                db.engine.dispose()
            if size == max(args.sizes) and not args.no_worker:
                worker_rss(database, size, workdir)

    smallest = min(args.sizes)
    print(f"\nsummary (median ms; ratio to {smallest:,}; target: flat, no Seq Scan)")
    for label in ("a batch due", "all due"):
        for name in ("next_due", "expire_overdue", "claim"):
            base = results[(label, name, smallest)][0]
            cells = [f"{size:,}: {results[(label, name, size)][0]:7.2f} ms "
                     f"(x{results[(label, name, size)][0] / base:.2f}, "
                     f"{results[(label, name, size)][1]})" for size in args.sizes]
            print(f"  {label:12} {name:15} " + "   ".join(cells))


if __name__ == "__main__":
    main()
