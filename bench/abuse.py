"""Two abuses of a real server, `make run`'s gunicorn with 2 workers (issue 8, points 2, 3).

    python bench/abuse.py [--megabytes 200] [--attempts 15]

- memory: the peak RSS (VmHWM) of the gunicorn workers after a body of that size is
  sent to /api/v1/auth/login, against their peak before;
- limiter: failed sign-ins for one email, a new connection each, until the first 429:
  how many failures the server let through (the documented limit is 5 a minute).

Serves a fresh SQLite database on a free port of 127.0.0.1 only.
"""

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def workers_of(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def send_big_body(port: int, megabytes: int) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    size = megabytes * 1024 * 1024
    connection.putrequest("POST", "/api/v1/auth/login")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(size))
    connection.endheaders()
    chunk = b'{"email": "' + b"a" * (1024 * 1024 - 11)
    try:
        for _ in range(megabytes):
            connection.send(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered and closed without reading it all
    try:
        return connection.getresponse().status
    except (http.client.HTTPException, OSError):
        return 0
    finally:
        connection.close()


def failed_logins_before_429(port: int, attempts: int) -> list[int]:
    email = f"victim-{uuid.uuid4().hex[:8]}@example.org"
    statuses = []
    for _ in range(attempts):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("POST", "/api/v1/auth/login",
                           body=json.dumps({"email": email, "access_code": "WRONG"}),
                           headers={"Content-Type": "application/json", "Connection": "close"})
        statuses.append(connection.getresponse().status)
        connection.close()
    return statuses


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--attempts", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder}/abuse.db",
               "COMPANION_ENV": "development"}
        env.pop("RATELIMIT_STORAGE_URI", None)
        for command in (["db", "upgrade"], ["seed"]):
            subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *command],
                           cwd=ROOT, env=env, check=True, capture_output=True)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
             "wsgi:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(3)
            for _ in range(4):  # every worker has served a request: its normal footprint
                failed_logins_before_429(port, 1)
            workers = workers_of(server.pid)
            before = {pid: peak_rss_mb(pid) for pid in workers}
            status = send_big_body(port, args.megabytes)
            time.sleep(1)
            after = {pid: peak_rss_mb(pid) for pid in workers}
            grown = max(after[pid] - before[pid] for pid in workers)
            print(f"memory: a {args.megabytes} MB body got {status}; peak RSS of the workers "
                  f"{max(before.values()):.0f} MB before, {max(after.values()):.0f} MB after "
                  f"(+{grown:.0f} MB)")
            statuses = failed_logins_before_429(port, args.attempts)
            let_through = statuses.index(429) if 429 in statuses else len(statuses)
            print(f"limiter: {let_through} failed sign-ins for one email before the first 429 "
                  f"with 2 workers (documented: 5); answers {statuses}")
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
