"""How long `flask attendees import` takes for a big list (issue 8: 5,000 in <= 30 s).

    python bench/import_attendees.py [--attendees 5000] [--database-url URL]

Writes a CSV of that many attendees, then runs the real command (a subprocess, as an
organiser would) on a fresh SQLite file, or on URL (whose schema is DROPPED and rebuilt),
migrated and seeded first. Prints the time of the import alone.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 30.0  # seconds for 5,000


def drop_schema(url: str) -> None:
    import sqlalchemy as sa

    sys.path.insert(0, str(ROOT))
    from companion.config import database_url

    engine = sa.create_engine(database_url(url))
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def flask(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT,
                          env=env, check=True, capture_output=True, text=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attendees", type=int, default=5000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        url = args.database_url or f"sqlite:///{work / 'bench.db'}"
        env = {**os.environ, "DATABASE_URL": url, "COMPANION_ENV": "development"}
        if args.database_url:
            drop_schema(url)
        flask(env, "db", "upgrade")
        flask(env, "seed")
        source = work / "attendees.csv"
        with open(source, "w", encoding="utf-8") as out:
            out.write("email,name,organisation,country,roles\n")
            for n in range(args.attendees):
                out.write(f"person{n}@example.org,Person {n},Delegation {n % 57},Austria,"
                          f"{'speaker' if n % 100 == 0 else 'attendee'}\n")
        started = time.perf_counter()
        result = flask(env, "attendees", "import", str(source), "--codes", str(work / "codes.csv"))
        seconds = time.perf_counter() - started
        print(result.stdout.strip().splitlines()[-1])
        print(f"{args.attendees} attendees imported in {seconds:.1f} s "
              f"({seconds / args.attendees * 1000:.1f} ms each; target for 5,000: <= {TARGET:.0f} s)")


if __name__ == "__main__":
    main()
