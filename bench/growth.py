"""The dispatcher's queries as the outbox grows: 10,000 and 100,000 pending messages.

    python bench/growth.py --database-url postgresql://postgres@127.0.0.1:5432/companion_bench
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
import os
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from common import (
    fresh_database,
    require_postgres,
    seed_messages,
    seed_people,
    start_fake,
    start_worker,
    stop_worker,
    wait_for,
)
from flask_migrate import upgrade

from companion import create_app
from companion.extensions import db
from companion.timeutil import utcnow
from notifications import outbox

BATCH = 500
LEASE = timedelta(minutes=2)
TARGET_RSS_MB = 200


def seed(count: int, now) -> None:
    """``count`` attendees with one device each, ``count`` sent and ``count`` pending
    messages ("a batch due": the first 500 due a second ago, the others later)."""
    first = seed_people(db.session, count, now)
    past = now - timedelta(days=1)
    seed_messages(db.session, now, {
        "key": "'sent-' || s.id", "attendee_id": "s.id", "status": "'sent'", "attempts": "1",
        "sent_at": ":past", "due_at": ":past", "next_attempt_at": ":past",
        "expires_at": ":past + interval '10 minutes'",
    }, {"past": past})
    # pending: the first BATCH attendees' messages are due; the rest spread over 3 days
    spread = ("CASE WHEN s.id < :first + :batch THEN :now - interval '1 second' "
              "ELSE :now + interval '1 hour' + ((s.id * 7919) % 259200) * interval '1 second' END")
    seed_messages(db.session, now, {
        "key": "'pending-' || s.id", "attendee_id": "s.id", "due_at": spread,
        "next_attempt_at": spread, "expires_at": f"({spread}) + interval '10 minutes'",
    }, {"now": now, "first": first, "batch": BATCH})
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


def plan(statement: str, parameters, repeat: int) -> tuple[list[str], float]:
    """EXPLAIN ANALYZE of one statement, rolled back each time (it may be an UPDATE):
    the last plan, and the median of the server's own Execution Time in ms."""
    times = []
    for _ in range(repeat):
        connection = db.session.connection()
        rows = connection.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) " + statement, parameters
        ).scalars().all()
        db.session.rollback()
        times.append(float(rows[-1].split(":")[1].split()[0]))
    return rows, statistics.median(times)


def vacuum() -> None:
    """Clear what earlier rolled-back claims left behind: each query starts alike."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM push_outbox"))


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
        vacuum()
        lines, server = plan(statement, parameters, repeat)
        vacuum()
        client = timed(call, repeat)
        scans = "Seq Scan" if any("Seq Scan on push_outbox" in line for line in lines) else "index"
        buffers = int(lines[1].split("hit=")[1].split()[0]) if "hit=" in lines[1] else 0
        results[(label, name, size)] = (server, client, buffers, scans)
        print(f"\n--- {label}, {size:,} pending: {name}{f' (claims {claimed})' if name == 'claim' else ''}:"
              f" server {server:.3f} ms, client {client:.2f} ms (medians of {repeat});"
              f" {buffers} buffers; {scans}")
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
          f"CPU {finished.cpu_seconds:.1f} s, exit {finished.returncode}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
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
                      f"{db.session.scalar(sa.text('SHOW server_version'))}; load average "
                      f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
                measure("a batch due", size, now, args.repeat, results)
                all_due(now)
                analyze()
                measure("all due", size, now, args.repeat, results)
                db.session.remove()
                db.engine.dispose()
            if size == max(args.sizes) and not args.no_worker:
                worker_rss(database, size, workdir)

    smallest, largest = min(args.sizes), max(args.sizes)
    print(f"\nsummary: medians at {', '.join(f'{n:,}' for n in args.sizes)} pending; "
          f"the ratio is {largest:,} to {smallest:,} (target: flat, no Seq Scan)")
    print(f"  {'shape':12} {'query':15} {'server ms':>20} {'client ms':>20} "
          f"{'buffers':>16}  {'ratio server/client/buffers':28} plan")
    for label in ("a batch due", "all due"):
        for name in ("next_due", "expire_overdue", "claim"):
            rows = [results[(label, name, size)] for size in args.sizes]
            first, last = rows[0], rows[-1]
            ratios = "/".join(f"{last[i] / first[i]:.2f}" if first[i] else "-" for i in range(3))
            print(f"  {label:12} {name:15} "
                  f"{' '.join(f'{r[0]:9.3f}' for r in rows):>20} "
                  f"{' '.join(f'{r[1]:9.2f}' for r in rows):>20} "
                  f"{' '.join(f'{r[2]:7d}' for r in rows):>16}  {ratios:28} "
                  f"{', '.join(sorted({r[3] for r in rows}))}")


if __name__ == "__main__":
    main()
