"""One JSON shape for every error: {"code", "status", "message", "errors"}."""

from flask import current_app, jsonify
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

# Seconds a client should wait when the database does not answer.
RETRY_AFTER = 5


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


def database_unavailable(error: Exception):
    """The database does not answer (down, unreachable, locked): 503, try again shortly."""
    current_app.logger.error("database unavailable: %s", error.__class__.__name__)
    unavailable = ServiceUnavailable("The database is not answering; try again shortly.")
    unavailable.data = {"headers": {"Retry-After": str(RETRY_AFTER)}}
    return error_response(unavailable)


def handle_unexpected(error: Exception):
    if isinstance(error, HTTPException):
        return error_response(error)
    current_app.logger.exception("unhandled error", exc_info=error)
    return error_response(InternalServerError())


def init_app(app):
    app.register_error_handler(HTTPException, error_response)
    for unavailable in (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError):
        app.register_error_handler(unavailable, database_unavailable)
    app.register_error_handler(Exception, handle_unexpected)
