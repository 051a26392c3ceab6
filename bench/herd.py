"""The herd: phones fetching their agenda within seconds of a schedule-change push.

    .venv/bin/python bench/herd.py [--phones 5000] [--spread 10]
        [--database-url postgresql://...]

Seeds --phones attendees with a token each (as bench/reads.py does; without
--database-url a SQLite file, with one that database, its schema DROPPED), starts
gunicorn with gunicorn.conf.py on 127.0.0.1, and reads every phone's current ETag and
version. Then an organiser releases a change (a title, so every agenda changes version),
and locust (headless, on 127.0.0.1, one simulated user per phone, bench/herd_phones.py)
plays the phones: each, within --spread seconds of the push, fetches /me/schedule with
its ETag (200 with the new agenda) and then /schedule/changes?since=<its version>.
Prints the requests, the errors (target 0) and p50/p99 (target p99 ≤ 250 ms), per route
and overall, with the load average; and, for each second from the push, the cores used
by the server's processes, by PostgreSQL's, by locust, and left idle (from /proc), and
the server's own time for the herd's requests (its access log). The server runs at
--server-nice 10: on these two shared cores, locust (standing in for 5,000 phones, each
with a CPU of its own) would otherwise wait behind five workers for a core, and that
wait would be counted in every phone's latency; --server-nice 0 measures it so. Locust and the server share the machine's cores:
with --phones lower than 5000 the figures are of that many, as printed.
"""

import argparse
import csv
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from common import ROOT, fresh_database
from flask_migrate import upgrade
from reads import cpu_by_party, cpu_seconds, etags_of, seed, serve, spent, stop

from companion import create_app
from companion.extensions import db
from companion.schedule import operations as schedule_ops
from companion.schedule import drafts, releasing, states

BENCH = Path(__file__).resolve().parent


def release_a_change(app) -> int:
    with app.app_context():
        event = schedule_ops.get_event("alliance-2020")
        session = next(s for s in event.sessions if s.kind == "panel")
        state = {**states.session_state(session), "title": f"{session.title} (updated)"}
        drafts.put_draft(event, "session", session.id, state)
        version = releasing.publish(event, None, "Herd bench").number
        db.session.commit()
        return version


def lower_priority(server_pid: int, nice: int) -> None:
    """The server's processes (its master and workers; a replaced worker inherits it)
    get ``nice``: on two shared cores, locust waiting for a core behind five workers is
    counted in every phone's latency, which real phones, each with a CPU of its own,
    do not pay. The server's share of the cores stays what it takes (printed)."""
    workers = subprocess.run(["pgrep", "-P", str(server_pid)], capture_output=True,
                             text=True).stdout.split()
    for pid in [server_pid, *map(int, workers)]:
        os.setpriority(os.PRIO_PROCESS, pid, nice)


def server_durations(log: Path, push_at: float) -> list[float]:
    """``duration_ms`` of the access lines of the herd's two routes from the push on
    (not the ETags read before it), sorted."""
    durations = []
    for line in log.read_text().splitlines():
        if '"gunicorn.access"' in line and ("/me/schedule" in line or "/changes" in line):
            try:
                entry = json.loads(line)
                if datetime.fromisoformat(entry["time"]).timestamp() >= push_at:
                    durations.append(float(entry["duration_ms"]))
            except (ValueError, KeyError):
                pass
    return sorted(durations)


def percentile(ordered: list[float], p: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def cores_during(server_pid: int, locust: subprocess.Popen, push_at: float,
                 spread: float) -> list[dict[str, float]]:
    """Cores each party used in each second from the push to the spread's end plus 2 s:
    where the two cores go while the phones wait."""
    time.sleep(max(0.0, push_at - time.time()))
    seconds, previous = [], None
    while len(seconds) <= spread + 2 and locust.poll() is None:
        reading = {**cpu_by_party(server_pid), "locust": {locust.pid: cpu_seconds(locust.pid)}}
        if previous is not None:
            seconds.append(spent(previous, reading))
        previous = reading
        time.sleep(1.0)
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phones", type=int, default=5000)
    parser.add_argument("--spread", type=float, default=10.0)
    parser.add_argument("--server-nice", type=int, default=10,
                        help="the server's niceness: locust, which stands in for 5,000 "
                             "phones, is not to wait behind it for a core (0: as equals)")
    parser.add_argument("--database-url", default=None,
                        help="a database to use; its schema is dropped first")
    args = parser.parse_args()
    if args.phones < 5000:
        print(f"note: {args.phones} phones, not 5,000: locust and the server share "
              f"{os.cpu_count()} cores here")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        database = fresh_database(args.database_url, folder)
        app = create_app({"SQLALCHEMY_DATABASE_URI": database})
        with app.app_context():
            upgrade()
            tokens = seed(args.phones)
            version = schedule_ops.get_event("alliance-2020") and releasing.current_version(
                schedule_ops.get_event("alliance-2020"))
            db.engine.dispose()
        env = {**os.environ, "DATABASE_URL": database, "COMPANION_ENV": "production",
               "SECRET_KEY": secrets.token_urlsafe(48),
               "ACCESS_CODE_KEY": secrets.token_urlsafe(48), "LOG_LEVEL": "WARNING"}
        server, url = serve(None, env, folder / "gunicorn.log")
        lower_priority(server.pid, args.server_nice)
        try:
            phones = folder / "phones.txt"
            phones.write_text("".join(f"{t}\t{e}\t{version}\n"
                                      for t, e in zip(tokens, etags_of(url, tokens))))
            released = release_a_change(app)
            with app.app_context():
                db.engine.dispose()
            spawn = max(5.0, args.phones / 1000)
            push_at = time.time() + spawn + 2
            print(f"version {version} -> {released} released; {args.phones} phones open the "
                  f"app within {args.spread:.0f} s of the push; server at nice "
                  f"{args.server_nice}; load {os.getloadavg()[0]:.2f}", flush=True)
            prefix = folder / "herd"
            locust = subprocess.Popen(
                [sys.executable, "-m", "locust", "-f", str(BENCH / "herd_phones.py"),
                 "--headless", "--host", url, "-u", str(args.phones),
                 "-r", str(int(args.phones / spawn) + 1),
                 "--run-time", f"{int(spawn + 2 + args.spread + 20)}s", "--stop-timeout", "5",
                 "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING"],
                cwd=ROOT, env={**os.environ, "HERD_PHONES": str(phones),
                               "HERD_PUSH_AT": str(push_at), "HERD_SPREAD": str(args.spread)},
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            cores = cores_during(server.pid, locust, push_at, args.spread)
            locust.wait()
            rows = list(csv.DictReader(open(f"{prefix}_stats.csv")))
        finally:
            stop(server)
        served = server_durations(folder / "gunicorn.log", push_at)
    print(f"load average now {' '.join(f'{x:.2f}' for x in os.getloadavg())} on "
          f"{os.cpu_count()} cores (server and locust together)")
    print(f"{'route':<30} {'requests':>9} {'errors':>7} {'p50 ms':>7} {'p99 ms':>7}")
    for row in rows:
        print(f"{row['Name']:<30} {row['Request Count']:>9} {row['Failure Count']:>7} "
              f"{row['50%']:>7} {row['99%']:>7}")
    print("\ncores used each second from the push (of "
          f"{os.cpu_count()}): the server's processes, PostgreSQL's, locust's, idle")
    for second, used in enumerate(cores):
        print(f"  {second:2d}-{second + 1:<2d} s  server {used['server']:.2f}  database "
              f"{used['database']:.2f}  locust {used['locust']:.2f}  idle {used['idle']:.2f}")
    if served:
        print(f"the server's own time for the herd's {len(served)} requests (its access "
              f"log, from reading the request to the answer): p50 "
              f"{percentile(served, 50):.1f} ms, p99 {percentile(served, 99):.1f} ms, "
              f"max {served[-1]:.1f} ms; the rest of what a phone waits is the queue")
    total = rows[-1]
    errors = int(total["Failure Count"])
    expected = 2 * args.phones
    print(f"errors {errors} (target 0); requests {total['Request Count']} of {expected}; "
          f"p99 {total['99%']} ms (target ≤ 250): "
          f"{'met' if errors == 0 and float(total['99%']) <= 250 else 'MISSED'}")


if __name__ == "__main__":
    main()
