"""Configuration read from the environment, with safe development defaults."""

import os

import orjson
from flask import current_app, request


def database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given in the usual short forms."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def public_url() -> str:
    """Base of the URLs the API hands out: PUBLIC_URL, else the host asked."""
    return (current_app.config["PUBLIC_URL"] or request.host_url).rstrip("/")


def default_environment() -> str:
    """production when DATABASE_URL names PostgreSQL, unless COMPANION_ENV says otherwise."""
    postgres = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql"))
    return os.environ.get("COMPANION_ENV") or ("production" if postgres else "development")


class Config:
    # production refuses to start without real keys; development makes them once in
    # instance/ (companion/keys.py)
    COMPANION_ENV = default_environment()
    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    # keys the hash of the access codes (companion/auth.py)
    ACCESS_CODE_KEY = os.environ.get("ACCESS_CODE_KEY", "")
    SQLALCHEMY_DATABASE_URI = database_url(
        os.environ.get("DATABASE_URL", "sqlite:///companion.db")
    )
    # The API takes small JSON bodies (the CSV import is a command): 413 beyond this.
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(256 * 1024)))
    # A schedule file sent to POST /events/{event}/schedule/import (FOSDEM's is ~2 MB).
    IMPORT_MAX_CONTENT_LENGTH = int(os.environ.get("IMPORT_MAX_CONTENT_LENGTH",
                                                   str(20 * 1024 * 1024)))
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are believed
    # (werkzeug's ProxyFix); 0: the client is the peer address.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    # JSON columns are read by orjson (the dispatcher reads three per message).
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "json_deserializer": orjson.loads}

    API_TITLE = "Alliance companion"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "docs"
    # Swagger UI's files, served by companion/docs.py (venue networks and CI reach no CDN).
    OPENAPI_SWAGGER_UI_URL = "/api/v1/docs/assets/"
    API_SPEC_OPTIONS = {
        "info": {
            "description": "Backend of the event companion app: agenda, rooms, "
            "personal schedules and push reminders."
        },
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"}
            }
        },
    }
    # Public base URL for links the API hands out (calendar feeds, exports).
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "")

    # Shared by every worker of the server: by default a SQLite file in instance/
    # (companion/ratelimit.py); redis://host:6379 when the servers are several machines.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "")
    RATELIMIT_HEADERS_ENABLED = True
    # Failed sign-ins before 429: per email from one address, and per address (a venue's
    # Wi-Fi puts hundreds of honest attendees behind one address).
    LOGIN_FAILURE_LIMIT = os.environ.get("LOGIN_FAILURE_LIMIT", "5 per minute;20 per hour")
    LOGIN_FAILURE_LIMIT_PER_ADDRESS = os.environ.get(
        "LOGIN_FAILURE_LIMIT_PER_ADDRESS", "100 per hour"
    )

    # Logs are JSON lines on standard error (companion/logs.py); this is the root's level.
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
    # Contact requests and card scans per attendee (429 past it), in the limiter's storage.
    CONTACT_REQUEST_LIMIT = os.environ.get("CONTACT_REQUEST_LIMIT", "30 per hour")
    # Pings a moderator (or organiser) may send to one session's speakers.
    PING_RATE_LIMIT = os.environ.get("PING_RATE_LIMIT", "6 per minute")
    # Announcements each organiser may send (dry runs are free), in the same storage.
    ANNOUNCEMENT_LIMIT = os.environ.get("ANNOUNCEMENT_LIMIT", "10 per minute")
    # How long a request waits for another one with its Idempotency-Key (seconds, on
    # PostgreSQL) before it answers 409 (companion/idempotency.py).
    IDEMPOTENCY_WAIT = float(os.environ.get("IDEMPOTENCY_WAIT", "10"))

    # The console's session cookie (companion/console): HttpOnly, SameSite=Strict, and
    # Secure on every HTTPS request; set this to mark it Secure on plain HTTP too.
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "") == "1"

    TOKEN_TTL_HOURS = int(os.environ.get("TOKEN_TTL_HOURS", "720"))

    PUSH_BACKEND = os.environ.get("PUSH_BACKEND", "")
    # How long a worker's claim on messages lasts unless its heartbeat renews it: a dead
    # worker's messages are taken over after at most this long.
    PUSH_LEASE_SECONDS = float(os.environ.get("PUSH_LEASE_SECONDS", "10"))
    # From this many recipients on, a push of a kind that fans out (a release's) is
    # written as one row per language and made a row per attendee by the dispatcher
    # (notifications.models.OutboxFanout), and a changed session with this many people
    # has its reminders re-planned by the dispatcher (models.ReminderReplan): the
    # release answers sooner.
    PUSH_FANOUT_FROM = int(os.environ.get("PUSH_FANOUT_FROM", "1000"))
    FIREBASE_CREDENTIALS = os.environ.get("FIREBASE_CREDENTIALS", "")
    # fcm sends from a child process of the worker, with its own GIL (senders.ProcessSender);
    # 0 sends from the worker's own threads.
    PUSH_PROCESS = os.environ.get("PUSH_PROCESS", "1") != "0"
    FCM_ENDPOINT = os.environ.get("FCM_ENDPOINT", "")
