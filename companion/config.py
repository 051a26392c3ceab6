"""Configuration read from the environment, with safe development defaults."""

import os

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


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    SQLALCHEMY_DATABASE_URI = database_url(
        os.environ.get("DATABASE_URL", "sqlite:///companion.db")
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

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

    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    # Failed sign-ins before 429: per email from one address, and per address (a venue's
    # Wi-Fi puts hundreds of honest attendees behind one address).
    LOGIN_FAILURE_LIMIT = os.environ.get("LOGIN_FAILURE_LIMIT", "5 per minute;20 per hour")
    LOGIN_FAILURE_LIMIT_PER_ADDRESS = os.environ.get(
        "LOGIN_FAILURE_LIMIT_PER_ADDRESS", "100 per hour"
    )

    # Pings a moderator (or organiser) may send to one session's speakers.
    PING_RATE_LIMIT = os.environ.get("PING_RATE_LIMIT", "6 per minute")

    # The console's session cookie (companion/console): HttpOnly, SameSite=Strict, and
    # Secure on every HTTPS request; set this to mark it Secure on plain HTTP too.
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "") == "1"
    # How many proxies in front of the app set X-Forwarded-For/-Proto/-Host (0: none
    # believed). Behind one TLS proxy, 1: the app then knows the request was HTTPS.
    PROXY_HOPS = int(os.environ.get("PROXY_HOPS", "0"))

    TOKEN_TTL_HOURS = int(os.environ.get("TOKEN_TTL_HOURS", "720"))

    PUSH_BACKEND = os.environ.get("PUSH_BACKEND", "")
    FIREBASE_CREDENTIALS = os.environ.get("FIREBASE_CREDENTIALS", "")
    FCM_ENDPOINT = os.environ.get("FCM_ENDPOINT", "")
