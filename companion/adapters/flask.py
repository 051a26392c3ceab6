"""Flask and werkzeug internals used by companion/http.py."""

from flask import Request
from flask.json.provider import DefaultJSONProvider


def response_value(provider: DefaultJSONProvider, args: tuple, kwargs: dict):
    """What ``jsonify(*args, **kwargs)`` serialises (one value, a list, or the kwargs),
    as Flask's provider decides it, for a provider that writes the bytes itself."""
    return provider._prepare_response_obj(args, kwargs)


def forget_if_none_match(request: Request) -> None:
    """Drop werkzeug's cached ``request.if_none_match`` (a cached property), so that it
    is parsed again from the environ that was just rewritten."""
    request.__dict__.pop("if_none_match", None)
