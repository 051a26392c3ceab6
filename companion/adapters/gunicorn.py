"""gunicorn's response object, for gunicorn.conf.py's ``closing_when_asked``.

gunicorn drops an application's ``Connection`` header and has no public way for the
application to close the connection; ``start_response`` is a bound method of its
response, whose ``force_close`` does it.
"""

from collections.abc import Callable


def closer_of(start_response) -> Callable[[], None] | None:
    """What closes the connection after this answer, or None (another server)."""
    response = getattr(start_response, "__self__", None)
    return getattr(response, "force_close", None)
