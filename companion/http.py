"""What every request and answer goes through: body checks at the door, and headers.

At the door (before any view), for the API:
- a body larger than MAX_CONTENT_LENGTH is refused with 413 from its Content-Length,
  before it is read (werkzeug stops a chunked one at the limit);
- a body on a write that is not JSON is refused with 415 (it would be ignored otherwise);
- a JSON body is parsed once here: one that is not JSON (an integer of more than 4,300
  digits is not, for Python) or nested too deeply is a 400; one holding text PostgreSQL
  cannot store (NUL, a lone surrogate) or another control character (tab and line breaks
  are text; see companion/text.py) is a 422, wherever it is, also in the path and query.
- ``If-None-Match`` is compared weakly, as RFC 9110 says: ``W/"x"`` matches ``"x"``.

Answers are written by orjson (``JSONProvider``): the 7 KB of a personal agenda in 2 µs
rather than the standard library's 37.

A 413 says ``Connection: close``: its body is left unread, so the connection cannot carry
another request (gunicorn.conf.py makes gunicorn close it).

On the way out: ``nosniff`` and ``Referrer-Policy`` everywhere, a Content-Security-Policy
(with the hash of the docs page's own inline script), and for personal answers
``Cache-Control: private`` (``no-store``, or ``no-cache`` where an ETag revalidates)
with ``Vary: Authorization``.
"""

import base64
import hashlib
import json
import re

import orjson
from flask import current_app, request
from flask.json.provider import DefaultJSONProvider
from flask_smorest import abort

from .adapters.flask import forget_if_none_match, response_value
from .text import CONTROL

JSON_DEPTH = 32  # far deeper than anything the API takes
BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Text PostgreSQL cannot hold: NUL, and the halves of a UTF-16 pair on their own.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# What each refused kind of text is called: the message, and the message under its place.
REFUSED_TEXT = (
    (UNSTORABLE, "NUL characters and lone surrogates are not accepted.",
     "Contains a NUL character or a lone surrogate."),
    (CONTROL, "Control characters are not accepted.",
     "Contains a control character (of them, only tab and line breaks are text)."),
)
PERSONAL = ("/api/v1/me", "/api/v1/auth/")
DOCS_PAGE = "/api/v1/docs"
INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)
API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = ("default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; font-src 'self' data:; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, written by orjson: the same values, keys sorted, compact, UTF-8.
    What orjson refuses (an integer beyond 64 bits, a lone surrogate) is written by the
    standard library as before; indented output (debug) too."""

    OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS

    def orjson_bytes(self, obj) -> bytes | None:
        """``obj`` as compact, sorted JSON, or None where orjson refuses it."""
        try:
            return orjson.dumps(obj, default=self.default, option=self.OPTIONS)
        except TypeError:
            return None

    def dumps(self, obj, **kwargs) -> str:
        written = None if kwargs else self.orjson_bytes(obj)
        return super().dumps(obj, **kwargs) if written is None else written.decode()

    def response(self, *args, **kwargs):
        if self.compact is False or (self.compact is None and self._app.debug):
            return super().response(*args, **kwargs)
        body = self.orjson_bytes(response_value(self, args, kwargs))
        if body is None:
            return super().response(*args, **kwargs)
        return self._app.response_class(body + b"\n", mimetype=self.mimetype)


def has_body() -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get(
        "Transfer-Encoding", "").lower()


def strings_in(value):
    """Every string in a parsed JSON value (keys too), without recursion; 400 when too deep."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, (dict, list)):
            if depth >= JSON_DEPTH:
                abort(400, message=f"The JSON body is nested more than {JSON_DEPTH} levels deep.")
            if isinstance(item, dict):
                stack.extend((key, depth) for key in item)
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)


def parsed_json():
    """The request's JSON body; 400 when it is not JSON (then webargs never parses it)."""
    data = request.get_data(cache=True)  # 413 here when it is too large
    if not data:
        return None
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        abort(400, message="The body is not valid JSON.")
    return value


def at_the_door():
    """The checks every request goes through before its view (see the module's notes)."""
    check_body()
    weak_if_none_match()


# Routes whose body is a document (a schedule file: XML or JSON), with a limit of its own.
DOCUMENT_BODIES = re.compile(r"^/api/v1/events/[^/]+/schedule/import$")
DOCUMENT_TYPES = ("application/xml", "text/xml", "application/json")


def check_body():
    document = bool(DOCUMENT_BODIES.match(request.path))
    if document:
        request.max_content_length = current_app.config["IMPORT_MAX_CONTENT_LENGTH"]
        if request.mimetype not in DOCUMENT_TYPES and has_body():
            abort(415, message="Send the schedule as application/xml or application/json.")
    if request.method in BODY_METHODS and request.path.startswith("/api/") and has_body():
        if request.content_length and request.max_content_length is not None \
                and request.content_length > request.max_content_length:
            abort(413, message=f"The body is larger than {request.max_content_length} bytes.")
        if not request.is_json and not document:
            abort(415, message="Send the body as JSON (Content-Type: application/json).")
    body = parsed_json() if request.is_json else None
    texts = {
        "path": [request.path],
        "query": [part for pair in request.args.items(multi=True) for part in pair]
        if request.query_string else [],
        "json": [] if body is None else list(strings_in(body)),
    }
    for pattern, message, where in REFUSED_TEXT:
        found = [location for location, strings in texts.items()
                 if any(pattern.search(text) for text in strings)]
        if found:
            abort(422, message=message, errors={location: [where] for location in found})


def weak_if_none_match():
    """Compare If-None-Match weakly (RFC 9110 13.1.2): drop the W/ before the tags."""
    header = request.environ.get("HTTP_IF_NONE_MATCH")
    if header and "W/" in header:
        request.environ["HTTP_IF_NONE_MATCH"] = re.sub(r'W/(?=")', "", header)
        forget_if_none_match(request)


def security_headers(response):
    headers = response.headers
    path = request.path
    present = {name.lower() for name in headers.keys()}  # a view's own headers win

    def default(name: str, value: str) -> None:
        if name.lower() not in present:
            headers.add(name, value)

    default("X-Content-Type-Options", "nosniff")
    default("Referrer-Policy", "no-referrer")
    if path == DOCS_PAGE and response.mimetype == "text/html":
        body = response.get_data()
        hashes = " ".join(
            "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
            for script in INLINE_SCRIPT.findall(body)
        )
        headers["Content-Security-Policy"] = DOCS_CSP.format(hashes=hashes)
        headers["X-Frame-Options"] = "DENY"
    elif not path.startswith(DOCS_PAGE + "/"):
        default("Content-Security-Policy", API_CSP)
    if path.startswith(PERSONAL):
        if "vary" in present:
            response.vary.add("Authorization")
        else:
            headers.add("Vary", "Authorization")
        default("Cache-Control", "private, no-cache" if "etag" in present else "private, no-store")
    return response


def close_after_too_large(response):
    if response.status_code == 413:
        response.headers["Connection"] = "close"
    return response


def init_app(app):
    app.before_request(at_the_door)
    app.after_request(security_headers)
    app.after_request(close_after_too_large)
