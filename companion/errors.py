"""One JSON shape for every error: {"code", "status", "message", "errors"}."""

from flask import current_app, jsonify, request
from flask_smorest import abort
from werkzeug.exceptions import HTTPException, InternalServerError


def error_response(error: HTTPException):
    data = getattr(error, "data", None) or {}
    errors = data.get("errors") or data.get("messages") or {}
    message = data.get("message") or error.description or error.name
    if data.get("messages") and "message" not in data:
        message = "The request is not valid."
    body = {"code": error.code, "status": error.name, "message": message, "errors": errors}
    response = jsonify(body)
    response.status_code = error.code
    headers = dict(error.get_headers()) if error.code == 405 else {}
    headers.update(data.get("headers") or {})
    headers.pop("Content-Type", None)
    response.headers.update(headers)
    return response


def handle_unexpected(error: Exception):
    if isinstance(error, HTTPException):
        return error_response(error)
    current_app.logger.exception("unhandled error", exc_info=error)
    return error_response(InternalServerError())


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def refuse_nul_characters():
    """PostgreSQL text cannot hold NUL: refuse it at the door, as 422, for every route,
    rather than let it fail deep in a query as a 500."""
    where = {
        "path": "\x00" in request.path,
        "query": _holds_nul([part for pair in request.args.items(multi=True) for part in pair]),
        "json": request.is_json and _holds_nul(request.get_json(silent=True)),
    }
    found = [location for location, bad in where.items() if bad]
    if found:
        abort(422, message="NUL characters are not accepted.",
              errors={location: ["Contains a NUL character."] for location in found})


def init_app(app):
    app.before_request(refuse_nul_characters)
    app.register_error_handler(HTTPException, error_response)
    app.register_error_handler(Exception, handle_unexpected)
