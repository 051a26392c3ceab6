"""What the bench scripts share: a fresh database, the fake FCM in its own process,
bulk seeding on PostgreSQL, and the worker as a process of its own.

Each script runs as ``python bench/NAME.py``; bench/ is then on the import path, so
``import common`` needs no edits.
"""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.request import urlopen

import sqlalchemy as sa

from companion.schedule import importing
from companion.config import database_url

ROOT = Path(__file__).resolve().parents[1]


def start_fake(workdir: Path) -> tuple[subprocess.Popen, str, str]:
    """The fake FCM (notifications/fake_fcm.py) in its own process, as FCM would be:
    its process, its URL and the service-account JSON that signs in there."""
    account = workdir / "service-account.json"
    fake = subprocess.Popen(
        [sys.executable, "-m", "notifications.fake_fcm", "--service-account", str(account)],
        stdout=subprocess.PIPE, text=True,
    )
    url = fake.stdout.readline().strip()
    return fake, url, str(account)


def machine_speed() -> str:
    """A figure of this machine's own speed, printed with a bench's results: the same
    code gives other figures on a slower machine, and this says how much slower."""
    started = time.process_time()
    total = 0
    for step in range(10_000_000):
        total += step
    return (f"machine: a 10,000,000-step Python loop takes "
            f"{time.process_time() - started:.2f} s of CPU")


def add_sender_option(parser) -> None:
    """``--sender``: `make_sender`'s kind."""
    parser.add_argument("--sender", choices=("process", "threads"), default="process",
                        help="the dispatcher's: a process of its own, as the worker "
                             "sends, or threads in this process (PUSH_PROCESS=0)")


def make_sender(kind: str, firebase, fake_url: str, account: str):
    """The dispatcher's sender to the fake: ``process``, as the worker sends (a
    `senders.ProcessSender` made from the credentials file), or ``threads``, firebase-admin's
    threads in the bench's own process (the worker's way before, PUSH_PROCESS=0), with
    ``firebase``, the app raw send_each uses (pointed at the fake here either way)."""
    from notifications.senders import FcmSender, from_config, point_at

    point_at(firebase, fake_url)
    if kind == "threads":
        return FcmSender(firebase, fake_url)
    return from_config({"FIREBASE_CREDENTIALS": account, "FCM_ENDPOINT": fake_url,
                        "PUSH_PROCESS": True})


def stats(url: str) -> dict:
    """What the fake received: ``received``, ``first_at``, ``last_at``, ``duplicates``."""
    with urlopen(f"{url}/stats") as response:
        return json.load(response)


def reset_fake(url: str) -> None:
    with urlopen(f"{url}/reset", data=b"") as response:
        response.read()


def fresh_database(url: str | None, workdir: Path) -> str:
    """A SQLite file in ``workdir`` without a URL; else that database, schema DROPPED."""
    if url is None:
        return f"sqlite:///{workdir / 'bench.db'}"
    url = database_url(url)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def vacuum_outbox(engine) -> None:
    """PostgreSQL: ``VACUUM ANALYZE`` the outbox and the inbox after a bench has reset
    every message by ``UPDATE``. A real release's messages are new rows, and autovacuum
    visits a table once a fifth of it is dead; reset after reset, the bench's own dead
    row versions would pile up (18 per live row after four runs) and the dispatcher
    would read past them. Elsewhere nothing: SQLite rewrites rows in place."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE push_outbox"))
        connection.execute(sa.text("VACUUM ANALYZE inbox_notifications"))


def require_postgres(url: str | None) -> str:
    if not url or not database_url(url).startswith("postgresql"):
        sys.exit("this bench runs on PostgreSQL: pass --database-url postgresql://... "
                 "(its schema is dropped first; see bench/README.md)")
    return url


def clone_rows(session, table: sa.Table, template_id: int, source: str,
               overrides: dict[str, str], parameters: dict | None = None) -> int:
    """PostgreSQL: copy one template row once per row of ``source`` (SQL after FROM,
    aliased ``s``), with the columns in ``overrides`` set by SQL expressions over ``s``.

    The template is written through the ORM, so every default is the model's own; the
    copies are one INSERT ... SELECT, seconds for 100,000 rows.
    """
    columns = [c.name for c in table.c if c.name != "id"]
    values = [overrides.get(name, f"t.{name}") for name in columns]
    statement = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} FROM {table.name} t, {source} "
        f"WHERE t.id = :template"
    )
    result = session.execute(sa.text(statement), {"template": template_id, **(parameters or {})})
    return result.rowcount


@dataclass
class Finished:
    """A child process that has exited, with what the kernel counted for it."""

    returncode: int
    peak_rss_mb: float  # ru_maxrss: the most resident memory it ever had
    cpu_seconds: float  # user + system
    log: str


def start_worker(database: str, fake_url: str, account: str, log: Path,
                 poll: float = 0.2) -> subprocess.Popen:
    """``flask --app wsgi notifications worker`` sending through firebase-admin to the
    fake; its log lines (JSON) go to the file ``log``. In development: a PostgreSQL URL
    would otherwise make it production, which refuses to start without real keys."""
    env = {**os.environ, "DATABASE_URL": database, "PUSH_BACKEND": "fcm",
           "FIREBASE_CREDENTIALS": account, "FCM_ENDPOINT": fake_url,
           "COMPANION_ENV": "development"}
    with open(log, "a") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "notifications", "worker",
             "--poll", str(poll)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr,
        )
    process.log = log
    return process


def stop_worker(process: subprocess.Popen, timeout: float = 30) -> Finished:
    """SIGTERM, then wait for it (its rusage from wait4: peak RSS and CPU time)."""
    process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            process.kill()
            pid, status, usage = os.wait4(process.pid, 0)
            break
        time.sleep(0.05)
    process.returncode = os.waitstatus_to_exitcode(status)
    return Finished(process.returncode, usage.ru_maxrss / 1024,
                    usage.ru_utime + usage.ru_stime, Path(process.log).read_text())


def wait_for(fake_url: str, count: int, timeout: float) -> dict:
    """Poll the fake until ``count`` messages arrived (or ``timeout`` s passed)."""
    deadline = time.monotonic() + timeout
    while (arrived := stats(fake_url))["received"] < count and time.monotonic() < deadline:
        time.sleep(0.2)
    return arrived


def seed_people(session, count: int, now) -> int:
    """PostgreSQL: ``count`` attendees of the seeded conference with one phone each (an
    Android FID); the first attendee's id."""
    from companion.people.models import Attendee
    from companion.schedule import operations as schedule_ops

    importing.seed_conference(schedule_ops.conference_data())
    event = schedule_ops.get_event("alliance-2020")
    template = Attendee(event=event, email="template@example.org", name="Template")
    session.add(template)
    session.flush()
    clone_rows(session, Attendee.__table__, template.id, "generate_series(1, :n) s(g)",
               {"email": "'bench' || s.g || '@example.org'", "name": "'Bench ' || s.g"},
               {"n": count})
    session.delete(template)
    session.flush()
    session.execute(sa.text(
        "INSERT INTO devices (attendee_id, token, platform, created_at, last_seen_at) "
        "SELECT id, 'fid-bench-' || id, 'android', :now, :now FROM attendees"
    ), {"now": now})
    return session.scalar(sa.select(sa.func.min(Attendee.id)))


def seed_messages(session, now, overrides: dict[str, str], parameters: dict) -> int:
    """PostgreSQL: one message (a session reminder) per attendee, columns set by SQL
    over the attendee ``s`` in ``overrides``; how many."""
    from notifications.models import OutboxMessage

    first = session.scalar(sa.text("SELECT min(id) FROM attendees"))
    message = OutboxMessage(
        key="template", attendee_id=first, kind="reminder", status="pending", attempts=0,
        title="Panel 1 starts in 10 minutes", body="Room A, 14:30", data={"session": "1"},
        delivered_to=[], due_at=now, next_attempt_at=now, expires_at=now,
        collapse_key="reminder-1", created_at=now,
    )
    session.add(message)
    session.flush()
    count = clone_rows(session, OutboxMessage.__table__, message.id, "attendees s",
                       overrides, parameters)
    session.delete(message)
    session.flush()
    return count


def cpu_seconds(pid: int) -> float:
    """User + system CPU a running process has used (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of every core since boot; two readings give the busy share."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def add_crowd(event, count: int) -> list[int]:
    """``count`` attendees of ``event`` with one phone each (an Android FID), inserted in
    bulk on either database, in the app's session; their ids."""
    from companion.extensions import db
    from companion.people.models import Attendee, Device

    ids = db.session.scalars(
        sa.insert(Attendee).returning(Attendee.id),
        [{"event_id": event.id, "email": f"bench{n}@example.org", "name": f"Bench {n}"}
         for n in range(count)],
    ).all()
    db.session.execute(sa.insert(Device), [
        {"attendee_id": attendee_id, "token": f"fid-bench-{attendee_id}", "platform": "android"}
        for attendee_id in ids
    ])
    return ids
