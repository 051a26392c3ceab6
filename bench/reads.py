"""Reads under load: the API's busiest GETs against a bare Flask route, with wrk.

    .venv/bin/python bench/reads.py [--attendees 5000] [--seconds 10] [--connections 32]
        [--database-url postgresql://...] [--profile 300] [--worker-cpu]

Seeds the conference and --attendees attendees, each with a bearer token and a few
bookmarks (without --database-url: a SQLite file in a temporary folder; with one: that
database, its schema DROPPED first). Starts gunicorn with gunicorn.conf.py (as
``make run`` does; its access log goes to a file in the temporary folder) on 127.0.0.1,
and drives it with wrk (2 threads, --connections connections, --seconds each):

- the bare route (bench/bare.py under the same gunicorn settings), before and after;
- ``/api/v1/events``;
- ``/api/v1/events/alliance-2020/sessions``;
- ``/api/v1/me/schedule``, each request with the next attendee's token (bench/rotate.lua);
- the same with each token's current ETag in If-None-Match (answered 304).

Prints req/s, p50 and p99 latency, non-2xx/3xx answers, and the ratio of req/s to the
bare route (the mean of its two runs), with the target; and the load average beside it.
Then where the cores went during each run, per request: the CPU of the server's
processes and of PostgreSQL's (from /proc), of wrk, and the cores left idle.
With --worker-cpu: then the same routes against ONE worker (WEB_CONCURRENCY=1, wrk at 8
connections), printing the CPU the worker spent per request (utime + stime from
/proc/<pid>/stat): what the server pays for each route, whatever else the machine is
doing, the bare route included.
With --profile N: cProfile of N in-process requests of each route (the test client, no
server), the costliest functions by their own time.
"""

import argparse
import cProfile
import hashlib
import io
import os
import pstats
import re
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.request import Request, urlopen

import sqlalchemy as sa
from common import ROOT, fresh_database
from flask_migrate import upgrade

from companion.schedule import importing
from companion import create_app
from companion.extensions import db
from companion.people.models import AccessToken, Attendee, Bookmark
from companion.schedule import operations as schedule_ops
from companion.schedule.models import Session
from companion.timeutil import utcnow

BENCH = Path(__file__).resolve().parent
EVENTS = "/api/v1/events"
SESSIONS = "/api/v1/events/alliance-2020/sessions"
ME = "/api/v1/me/schedule"
TARGETS = {"events": 0.7, "sessions": 0.6, "me/schedule": 0.35, "me/schedule 304": 0.6}


def seed(attendees: int) -> list[str]:
    """The conference, the attendees, one token each and some bookmarks: the tokens."""
    importing.seed_conference(schedule_ops.conference_data())
    event = schedule_ops.get_event("alliance-2020")
    db.session.execute(sa.insert(Attendee), [
        {"event_id": event.id, "email": f"bench{n}@example.org", "name": f"Bench {n}"}
        for n in range(attendees)
    ])
    ids = db.session.scalars(sa.select(Attendee.id).order_by(Attendee.id)).all()
    sessions = db.session.scalars(sa.select(Session.id).order_by(Session.id)).all()
    tokens = [f"bench-token-{attendee_id}-{os.urandom(8).hex()}" for attendee_id in ids]
    expires = utcnow().replace(year=utcnow().year + 1)
    db.session.execute(sa.insert(AccessToken), [
        {"attendee_id": attendee_id, "token_hash": hashlib.sha256(token.encode()).hexdigest(),
         "expires_at": expires, "created_at": utcnow()}
        for attendee_id, token in zip(ids, tokens)
    ])
    db.session.execute(sa.insert(Bookmark), [
        {"attendee_id": attendee_id, "session_id": sessions[(attendee_id + k) % len(sessions)],
         "following": k != 2, "updated_at": utcnow()}
        for attendee_id in ids for k in range(attendee_id % 4)
    ])
    db.session.commit()
    return tokens


def children_cpu() -> float:
    """CPU seconds of the finished child processes (wrk, once each run is over)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(app_spec: str | None, env: dict, log: Path) -> tuple[subprocess.Popen, str]:
    """gunicorn -c gunicorn.conf.py (the companion API, or ``app_spec``) on a free port."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")]
    if app_spec:
        command += ["--pythonpath", str(BENCH), app_spec]
    server = subprocess.Popen(command, cwd=ROOT, env={**env, "PORT": str(port)},
                              stdout=log.open("a"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.1)
    else:
        sys.exit(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
    time.sleep(1.5)  # every worker booted
    if server.poll() is not None:
        sys.exit(f"gunicorn stopped:\n{log.read_text()[-3000:]}")
    return server, url


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait(timeout=60)


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def wrk(url: str, seconds: int, connections: int, tokens: Path | None = None) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    env = dict(os.environ)
    if tokens is not None:
        command += ["-s", str(BENCH / "rotate.lua")]
        env["READS_TOKENS"] = str(tokens)
    output = subprocess.run(command + [url], capture_output=True, text=True, env=env,
                            check=True).stdout
    latency = {p: float(v) * UNITS[u] for p, v, u in
               re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    broken = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       output)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
            "requests": int(re.search(r"(\d+) requests in", output).group(1)),
            "p50": latency.get("50"), "p99": latency.get("99"),
            "errors": int(errors.group(1)) if errors else 0,
            "socket_errors": sum(map(int, broken.groups())) if broken else 0}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_party(server_pid: int) -> dict[str, dict[int, float]]:
    """CPU seconds so far of each process of the server (its master and workers) and of
    each PostgreSQL process on this machine, by pid; and the machine's idle seconds."""
    workers = subprocess.run(["pgrep", "-P", str(server_pid)], capture_output=True,
                             text=True).stdout.split()
    found = {"server": {}, "database": {}}
    for pid in [server_pid, *map(int, workers)]:
        try:
            found["server"][pid] = cpu_seconds(pid)
        except OSError:
            pass
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    found["database"][int(entry.name)] = cpu_seconds(int(entry.name))
            except OSError:
                pass
    idle = Path("/proc/stat").read_text().split("\n")[0].split()[4]
    found["idle"] = {0: int(idle) / os.sysconf("SC_CLK_TCK")}
    return found


def spent(before: dict, after: dict) -> dict[str, float]:
    """CPU seconds each party spent between two `cpu_by_party` readings."""
    return {party: sum(after[party][pid] - before[party].get(pid, 0.0)
                       for pid in after[party]) for party in after}


def print_worker_cpu(env: dict, log: Path, seconds: int, plain: Path, conditional: Path):
    """Each route against one worker that is never recycled: its CPU per request."""
    env = {**env, "WEB_CONCURRENCY": "1", "GUNICORN_CMD_ARGS": "--max-requests 0"}
    routes = [("bare", "bare:app", "/bare", None), ("events", None, EVENTS, None),
              ("sessions", None, SESSIONS, None), ("me/schedule", None, ME, plain),
              ("me/schedule 304", None, ME, conditional)]
    costs = {}
    for name, spec, path, tokens in routes:
        server, url = serve(spec, env, log)
        try:
            (worker,) = map(int, subprocess.run(["pgrep", "-P", str(server.pid)],
                                                capture_output=True, text=True).stdout.split())
            before = cpu_seconds(worker)
            result = wrk(url + path, seconds, 8, tokens)
            costs[name] = (cpu_seconds(worker) - before) / result["requests"] * 1e6
        finally:
            stop(server)
    print(f"\nCPU per request in one worker (wrk -c8 -d{seconds}s each)")
    print(f"{'route':<18} {'µs':>6} {'bare/route':>10}")
    for name, cost in costs.items():
        print(f"{name:<18} {cost:6.0f} {costs['bare'] / cost:10.2f}")


def etags_of(url: str, tokens: list[str]) -> list[str]:
    def one(token):
        request = Request(f"{url}{ME}", headers={"Authorization": f"Bearer {token}"})
        with urlopen(request) as response:
            return response.headers["ETag"]

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, tokens))


def profile(app, tokens: list[str], count: int) -> None:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {tokens[0]}"}
    etag = client.get(ME, headers=headers).headers["ETag"]
    routes = {
        "events": (EVENTS, {}),
        "sessions": (SESSIONS, {}),
        "me/schedule": (ME, headers),
        "me/schedule 304": (ME, {**headers, "If-None-Match": etag}),
    }
    for name, (path, route_headers) in routes.items():
        client.get(path, headers=route_headers)
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for _ in range(count):
            client.get(path, headers=route_headers)
        profiler.disable()
        each = (time.perf_counter() - started) / count * 1000
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
        print(f"\n--- profile: {name}, {count} requests in-process, {each:.2f} ms each "
              f"(with the profiler's overhead) ---")
        body = out.getvalue()
        print(body[body.index("ncalls"):].rstrip())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attendees", type=int, default=5000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--database-url", default=None,
                        help="a database to use; its schema is dropped first")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="also profile N in-process requests of each route")
    parser.add_argument("--worker-cpu", action="store_true",
                        help="also measure each route's CPU per request in one worker")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk (see bench/README.md)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        database = fresh_database(args.database_url, folder)
        app = create_app({"SQLALCHEMY_DATABASE_URI": database})
        with app.app_context():
            upgrade()
            tokens = seed(args.attendees)
            print(f"database: {db.engine.dialect.name}; {len(tokens)} attendees with a token "
                  f"each; wrk -t2 -c{args.connections} -d{args.seconds}s; gunicorn.conf.py: "
                  f"WEB_CONCURRENCY={os.environ.get('WEB_CONCURRENCY', 'default')}, "
                  f"{os.cpu_count()} cores")
            if args.profile:
                profile(app, tokens, args.profile)
            db.engine.dispose()
        env = {**os.environ, "DATABASE_URL": database, "COMPANION_ENV": "production",
               "SECRET_KEY": secrets.token_urlsafe(48),
               "ACCESS_CODE_KEY": secrets.token_urlsafe(48), "LOG_LEVEL": "WARNING"}
        log = folder / "gunicorn.log"
        results = {}

        def run(name, url, token_file=None):
            print(f"  {name} ... load {os.getloadavg()[0]:.2f}", flush=True)
            before, wrk_before = cpu_by_party(server.pid), children_cpu()
            results[name] = wrk(url, args.seconds, args.connections, token_file)
            results[name]["cpu"] = {**spent(before, cpu_by_party(server.pid)),
                                    "wrk": children_cpu() - wrk_before}

        server, url = serve("bare:app", env, log)
        run("bare 1", f"{url}/bare")
        stop(server)

        server, url = serve(None, env, log)
        try:
            plain = folder / "tokens.txt"
            plain.write_text("\n".join(tokens) + "\n")
            conditional = folder / "etags.txt"
            conditional.write_text("".join(f"{t}\t{e}\n"
                                           for t, e in zip(tokens, etags_of(url, tokens))))
            run("events", f"{url}{EVENTS}")
            run("sessions", f"{url}{SESSIONS}")
            run("me/schedule", f"{url}{ME}", plain)
            run("me/schedule 304", f"{url}{ME}", conditional)
        finally:
            stop(server)

        server, url = serve("bare:app", env, log)
        run("bare 2", f"{url}/bare")
        stop(server)
        if args.worker_cpu:
            print_worker_cpu(env, log, args.seconds, plain, conditional)

    bare = (results["bare 1"]["rps"] + results["bare 2"]["rps"]) / 2
    print(f"\nload average now {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"(1, 5, 15 min) on {os.cpu_count()} cores shared with the load generator")
    print(f"{'route':<18} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
          f"{'ratio':>6} {'target':>7}")
    for name, result in results.items():
        ratio = result["rps"] / bare
        target = TARGETS.get(name)
        verdict = "" if target is None else f"≥ {target:.2f} {'met' if ratio >= target else 'MISSED'}"
        print(f"{name:<18} {result['rps']:8.0f} {result['p50'] or 0:8.2f} "
              f"{result['p99'] or 0:8.2f} {result['errors'] + result['socket_errors']:7d} "
              f"{ratio:6.2f} {verdict}")
    print("\nwhere the two cores went during each run: CPU per request (µs) of the server's "
          "processes, of PostgreSQL's (none on SQLite: it is in the server's), of wrk, "
          "and the cores left idle")
    print(f"{'route':<18} {'server':>7} {'database':>9} {'wrk':>6} {'idle':>6}")
    for name, result in results.items():
        per = {party: seconds / result["requests"] * 1e6
               for party, seconds in result["cpu"].items()}
        print(f"{name:<18} {per['server']:7.0f} {per['database']:9.0f} {per['wrk']:6.0f} "
              f"{per['idle']:6.0f}")


if __name__ == "__main__":
    main()
