"""The organisers' and moderators' console: web pages at /console/ on the same operations
the API views call (schedule.drafts and releasing, organising.announcements and pings,
the audit log).

Everything of it is in this folder: pages.py (the blueprint and what every page
shares), a module of routes per page area (signing_in, agenda, release, announcing,
moderating, audit_log, rooms), forms.py (form input into the API's own schemas),
templates/ and static/ (htmx, vendored: see static/README).

Sign-in takes email and access code like POST /auth/login and keeps the bearer token it
issues in Flask's signed session cookie (HttpOnly, SameSite=Strict, Secure on HTTPS), so
that signing out, expiry and "sign out everywhere" apply to the console too. Roles are
per event: the cookie keeps one token per event signed into, and which one the pages
act on (see pages.py). Every form
that changes something carries a CSRF token (Flask-WTF), checked for the console only:
the JSON API, authenticated by bearer tokens, never reads the cookie and needs none.
"""

from flask import Flask, redirect, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()


class SessionCookie(SecureCookieSessionInterface):
    """Flask's signed cookie, for the console's pages only, Secure whenever the request
    came over HTTPS (behind a TLS proxy too, with TRUSTED_PROXIES set so that
    X-Forwarded-Proto is believed).

    Elsewhere (the API, the docs) a request gets the empty null session: opening the
    cookie's signer cost 0.1 ms of every API request, for a cookie the API never reads.
    """

    def open_session(self, app: Flask, request):
        if not request.path.startswith("/console"):
            return self.null_session_class()
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


def init_app(app: Flask) -> None:
    # the page areas' routes, on the one blueprint of pages.py
    from . import (  # noqa: F401
        agenda, announcing, audit_log, moderating, pages, release, rooms, signing_in)

    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config["SESSION_COOKIE_SAMESITE"] = "Strict"
    # Checked by the console's own before_request only (csrf.protect()): the API is free.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid while the session lives
    app.session_interface = SessionCookie()
    csrf.init_app(app)
    app.register_blueprint(pages.blp)
    # `make run` prints the server's address: its root leads to the console.
    app.add_url_rule("/", "root", lambda: redirect(url_for("console.home")))
