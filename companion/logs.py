"""Logs as JSON lines on standard error, each line of a request with its request id.

One line per record: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, the
record's ``extra`` fields, ``exc_info`` for an exception, and ``request_id`` for a line
written while a request is handled. The request id is the caller's ``X-Request-ID`` when
it looks like an id (1 to 128 letters, digits and ``- _ . :``), else a fresh one; the
response carries it back in ``X-Request-ID``, and gunicorn's access line shows it too
(see gunicorn.conf.py). That line's query string goes through `loggable_query`: no
email, search or code a query may carry is kept in a log.

`configure()` sets up the root logger; `create_app` calls it, so the web app and every
``flask --app wsgi ...`` command (the notifications worker among them) log the same way.
"""

import logging
import re
import sys
import uuid
from urllib.parse import unquote_plus

from flask import has_request_context, request
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
_ENVIRON_KEY = "companion.request_id"

# Query parameters that may carry personal data or a secret: their values are never logged.
PERSONAL_PARAMETERS = frozenset({"confirm", "email", "q", "code", "token", "access_code",
                                 "name", "phone", "next"})
REDACTED = "[redacted]"

FIELDS = ["levelname", "name", "message"]
RENAMED = {"levelname": "level", "name": "logger"}


def request_id() -> str:
    """This request's id: the caller's when sane, else a new one (same for the request)."""
    environ = request.environ
    found = environ.get(_ENVIRON_KEY)
    if found is None:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        found = given if SANE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        environ[_ENVIRON_KEY] = found
    return found


def loggable_query(query: str | None) -> str | None:
    """A query string as a log may keep it: the values of `PERSONAL_PARAMETERS` redacted
    (``?confirm=vera@example.org&page=2`` -> ``confirm=[redacted]&page=2``)."""
    if not query:
        return None
    pairs = []
    for pair in query.split("&"):
        name, equals, _ = pair.partition("=")
        if equals and unquote_plus(name).strip().casefold() in PERSONAL_PARAMETERS:
            pair = f"{name}={REDACTED}"
        pairs.append(pair)
    return "&".join(pairs)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to the records written while a request is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context() and not hasattr(record, "request_id"):
            record.request_id = request_id()
        return True


def formatter() -> JsonFormatter:
    return JsonFormatter(
        FIELDS, rename_fields=RENAMED, timestamp="time", json_ensure_ascii=False,
        reserved_attrs=[*RESERVED_ATTRS, "taskName", "color_message"],
    )


class StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record comes (tests swap it)."""

    ours = True  # marks the handler configure() installed, to replace it and only it

    def __init__(self):
        super().__init__()
        self.setFormatter(formatter())
        self.addFilter(RequestIdFilter())

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def configure(level: str | int = "INFO") -> None:
    """JSON lines on standard error for every logger that propagates to the root.

    Safe to call again (each app created does): it replaces its own handler and leaves
    other handlers (pytest's, gunicorn's access log) alone.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "ours", False):
            root.removeHandler(handler)
    root.addHandler(StderrHandler())
    root.setLevel(level)


def echo_request_id(response):
    response.headers[REQUEST_ID_HEADER] = request_id()
    return response


def init_app(app) -> None:
    configure(app.config["LOG_LEVEL"])
    app.after_request(echo_request_id)
