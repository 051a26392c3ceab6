"""Who is calling: bearer tokens, access codes, and the checks views put in front of them.

Tokens and access codes are random and only their hashes are stored. A token is a
long random string, so a fast sha256 suffices to look it up. An access code has 60
random bits: it is stored as HMAC-SHA256 keyed with ACCESS_CODE_KEY, a key that is never
in the database, over a per-code salt. A stolen table alone is of no use without the key;
with the key too, 2^60 guesses per code (the salt forbids sharing work between codes) are
still years of a GPU's time. It costs microseconds, where scrypt's 40 ms made a 5,000
attendee import take minutes. Codes hashed earlier with scrypt still sign in, and are
hashed again the new way when they do.

Views use ``@login_required`` or ``@role_required("organiser")`` and then
``current_attendee()``. Both decorators also document themselves in the OpenAPI
document (``bearerAuth`` security, the 401 and 403 responses).
"""

import hashlib
import hmac
import secrets
from datetime import timedelta
from functools import wraps

from flask import current_app, g, request
from flask_limiter.util import get_remote_address
from flask_smorest import Blueprint, abort
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash

from . import ratelimit
from .extensions import db, limiter
from .people.models import AccessToken, Attendee
from .timeutil import utcnow

BEARER = [{"bearerAuth": []}]

# Crockford's base32 without the look-alikes I, L, O, U: easy to read out and type.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12  # 60 bits
CODE_GROUP = 4
CODE_HASH = "hmac-sha256"
# What werkzeug's scrypt hashes (the earlier format) start with.
LEGACY_PREFIX = "scrypt:"

# Builds the OpenAPI notes of the decorators below; never registered as routes.
_doc = Blueprint("auth-doc", __name__)


# --- access codes --------------------------------------------------------------

def new_access_code() -> str:
    """A fresh code, grouped for reading out: ``7KQ4-MX2P-9DHT``."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i:i + CODE_GROUP] for i in range(0, CODE_LENGTH, CODE_GROUP))


def normalise_access_code(code: str) -> str:
    """What counts of a typed code: case, spaces and dashes do not."""
    return "".join(code.split()).replace("-", "").upper()


def _code_digest(salt: str, code: str) -> str:
    key = current_app.config["ACCESS_CODE_KEY"].encode()
    message = f"{salt}:{normalise_access_code(code)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def hash_access_code(code: str) -> str:
    """``hmac-sha256$<salt>$<digest>``: keyed with ACCESS_CODE_KEY, salted per code."""
    salt = secrets.token_hex(16)
    return f"{CODE_HASH}${salt}${_code_digest(salt, code)}"


def is_legacy_hash(stored: str | None) -> bool:
    return bool(stored) and stored.startswith(LEGACY_PREFIX)


def check_access_code(attendee: Attendee | None, code: str) -> bool:
    """True when the code is the attendee's; a miss costs what a hit does."""
    stored = attendee.access_code_hash if attendee is not None else None
    if is_legacy_hash(stored):
        return check_password_hash(stored, normalise_access_code(code))
    _, salt, digest = (stored or f"{CODE_HASH}$-$-").split("$", 2)
    matches = hmac.compare_digest(_code_digest(salt, code), digest)
    return matches and stored is not None


# --- bearer tokens ---------------------------------------------------------------

def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(attendee: Attendee) -> tuple[str, AccessToken]:
    """A new bearer token for the attendee; the caller commits. Only the hash is kept."""
    token = secrets.token_urlsafe(32)
    hours = current_app.config["TOKEN_TTL_HOURS"]
    access = AccessToken(
        attendee=attendee,
        token_hash=hash_token(token),
        expires_at=utcnow() + timedelta(hours=hours),
    )
    db.session.add(access)
    return token, access


def revoke_token(access: AccessToken) -> None:
    if access.revoked_at is None:
        access.revoked_at = utcnow()


def revoke_all_tokens(attendee: Attendee) -> int:
    """Sign the attendee out everywhere; returns how many tokens were live."""
    live = db.session.scalars(
        select(AccessToken).where(
            AccessToken.attendee_id == attendee.id, AccessToken.revoked_at.is_(None)
        )
    ).all()
    for access in live:
        revoke_token(access)
    return len(live)


# The token, its attendee and their event in one query (every signed-in request needs
# all three), built once.
LIVE_TOKEN = (
    select(AccessToken)
    .options(joinedload(AccessToken.attendee).joinedload(Attendee.event))
    .where(AccessToken.token_hash == bindparam("token_hash"))
)


def find_live_token(token: str) -> AccessToken | None:
    access = db.session.scalar(LIVE_TOKEN, {"token_hash": hash_token(token)})
    if access is None or access.revoked_at is not None or access.expires_at <= utcnow():
        return None
    return access


def unauthorised(message: str, error: str | None = None):
    """401 in the one error shape, with the challenge RFC 6750 asks for."""
    challenge = "Bearer" if error is None else f'Bearer error="{error}"'
    abort(401, message=message, headers={"WWW-Authenticate": challenge})


def bearer_token() -> str | None:
    """The token of the request's ``Authorization: Bearer`` header, if it has one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def authenticate() -> Attendee:
    """Find the caller from the Authorization header, or answer 401."""
    token = bearer_token()
    if token is None:
        unauthorised("Sign in first: send Authorization: Bearer <token>")
    access = find_live_token(token)
    if access is None:
        unauthorised("The token is unknown, expired or signed out", error="invalid_token")
    g.access_token = access
    g.attendee = access.attendee
    return access.attendee


def current_attendee() -> Attendee:
    """The signed-in attendee of this request (inside a ``login_required`` view)."""
    attendee = g.get("attendee")
    if attendee is None:
        raise RuntimeError("current_attendee() outside a login_required view")
    return attendee


def current_token() -> AccessToken:
    return g.access_token


# --- decorators ------------------------------------------------------------------

def _documented(view, *statuses: int):
    view = _doc.doc(security=BEARER)(view)
    for status in statuses:
        name = {401: "UNAUTHORIZED", 403: "FORBIDDEN"}[status]
        view = _doc.alt_response(status, response=name)(view)
    return view


def login_required(view):
    """Only for a signed-in attendee; 401 otherwise."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        authenticate()
        return view(*args, **kwargs)

    return _documented(wrapper, 401)


def role_required(*roles: str):
    """Only for a signed-in attendee holding one of the roles: 401, then 403."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            attendee = authenticate()
            if not any(attendee.has_role(role) for role in roles):
                abort(403, message=f"Only for: {', '.join(roles)}")
            return view(*args, **kwargs)

        return _documented(wrapper, 401, 403)

    return decorator


# --- failed sign-ins ---------------------------------------------------------------

def _address_and_email() -> str:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        body = request.form  # the console's sign-in form
    email = body.get("email")
    return f"{get_remote_address()} {str(email or '').strip().lower()[:254]}"


def _failed(response) -> bool:
    return response.status_code == 401


def limit_failed_logins(view):
    """429 after too many failed sign-ins; a successful one costs nothing.

    Counted per email from one address (LOGIN_FAILURE_LIMIT) and per address
    (LOGIN_FAILURE_LIMIT_PER_ADDRESS), in the limiter's storage (RATELIMIT_STORAGE_URI).
    """
    message = "Too many failed sign-ins; try again later"
    view = limiter.limit(
        lambda: current_app.config["LOGIN_FAILURE_LIMIT"], key_func=_address_and_email,
        deduct_when=_failed, error_message=message,
    )(view)
    view = limiter.limit(
        lambda: current_app.config["LOGIN_FAILURE_LIMIT_PER_ADDRESS"],
        deduct_when=_failed, error_message=message,
    )(view)
    return _doc.alt_response(429, response="TOO_MANY_REQUESTS")(ratelimit.limited(view))
