"""A rate-limit store that every worker of one machine shares, with nothing to install.

``memory://`` counts in each worker process: with 2 gunicorn workers a limit of 5 is
really 10. Redis is not on every newcomer's machine, so the default store is a SQLite
file in the instance folder (``sqlite:////abs/path/ratelimit.db``): each count is one
atomic upsert, seen by every process. Fixed windows, as flask-limiter's default strategy
asks. Several machines need a store they all reach: set RATELIMIT_STORAGE_URI=redis://...
"""

import sqlite3
import time
from functools import wraps
from urllib.parse import urlsplit

from flask import current_app, request
from flask_smorest import abort
from limits import parse
from limits.storage import Storage

from .adapters.flask_limiter import drop_request_check, wrap_hooks
from .extensions import limiter

SCHEMA = """CREATE TABLE IF NOT EXISTS counters (
    key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires_at REAL NOT NULL)"""
INCREMENT = """
INSERT INTO counters (key, count, expires_at) VALUES (:key, :amount, :now + :expiry)
ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN expires_at <= :now THEN :amount ELSE count + :amount END,
    expires_at = CASE WHEN expires_at <= :now THEN :now + :expiry ELSE expires_at END
RETURNING count"""


class SQLiteStorage(Storage):
    STORAGE_SCHEME = ["sqlite"]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = urlsplit(uri).path
        with self._connect() as connection:
            connection.execute(SCHEMA)

    @property
    def base_exceptions(self):
        return sqlite3.Error

    def _connect(self) -> sqlite3.Connection:
        # a connection per call: safe in threads, and across gunicorn's fork
        connection = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        return connection

    def _run(self, statement: str, values: dict):
        connection = self._connect()
        try:
            return connection.execute(statement, values).fetchone()
        finally:
            connection.close()

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        values = {"key": key, "amount": amount, "expiry": expiry, "now": time.time()}
        return self._run(INCREMENT, values)[0]

    def get(self, key: str) -> int:
        row = self._run("SELECT count FROM counters WHERE key = :key AND expires_at > :now",
                        {"key": key, "now": time.time()})
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._run("SELECT expires_at FROM counters WHERE key = :key", {"key": key})
        return row[0] if row else time.time()

    def check(self) -> bool:
        try:
            self._run("SELECT 1", {})
            return True
        except sqlite3.Error:
            return False

    def reset(self) -> int | None:
        connection = self._connect()
        try:
            return connection.execute("DELETE FROM counters").rowcount
        finally:
            connection.close()

    def clear(self, key: str) -> None:
        self._run("DELETE FROM counters WHERE key = :key", {"key": key})


def default_uri(instance_path: str) -> str:
    return f"sqlite:///{instance_path}/ratelimit.db"


def count_or_refuse(setting: str, keys: tuple[str, ...], message: str) -> None:
    """Count one against the limit the config ``setting`` names (``"10 per minute"``)
    for ``keys``, in the shared storage; past it, 429 with ``Retry-After`` and
    ``message`` (``{limit}`` in it says the limit)."""
    limit = parse(current_app.config[setting])
    if not limiter.limiter.hit(limit, *keys):
        reset, _ = limiter.limiter.get_window_stats(limit, *keys)
        wait = max(1, int(reset - time.time() + 0.999))
        abort(429, message=message.format(limit=limit), headers={"Retry-After": str(wait)})


LIMITED = "companion.limited"  # in the environ of a request that met a limited view


def limited(view):
    """Mark the request as one that flask-limiter's after-request and teardown hooks
    must see (they deduct conditional hits and write the X-RateLimit headers)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        request.environ[LIMITED] = True
        return view(*args, **kwargs)

    return wrapper


def only_when_limited(hook):
    @wraps(hook)
    def wrapper(value=None):
        return hook(value) if request.environ.get(LIMITED) else value

    return wrapper


# Answers that tell the client when to come back (RFC 9110 section 10.2.3).
RETRY_STATUSES = frozenset({429, 503})


def retry_after_only_when_refused(inject_headers):
    """flask-limiter writes ``Retry-After`` on every answer of a limited view, with no
    setting to keep it off the others (a wrong code's 401 said 60 while
    ``X-RateLimit-Remaining`` said 4; a sign-in's 200 said 0). It belongs on a 429 or 503
    only; the ``X-RateLimit-*`` headers stay on every answer."""

    @wraps(inject_headers)
    def wrapper(response):
        response = inject_headers(response)
        if response.status_code not in RETRY_STATUSES:
            response.headers.pop("Retry-After", None)
        return response

    return wrapper


def init_app(app) -> None:
    """Bind the limiter, with no work on requests that have no limit.

    Only decorated routes have limits here (sign-ins, through ``limited``), and their
    decorator checks them itself. flask-limiter also checks default and application
    limits before every request; there are none, but finding that out cost 0.25 ms of
    every request, a quarter of what the public agenda's answer costs (bench/reads.py
    --profile). Its after-request and teardown hooks (~10 µs a request) run only where a
    limited view ran, and its headers leave out ``Retry-After`` unless the answer is a
    refusal.
    """
    limiter.init_app(app)
    drop_request_check(app, limiter)
    wrap_hooks(app, limiter,
               after=lambda hook: only_when_limited(retry_after_only_when_refused(hook)),
               teardown=only_when_limited)
