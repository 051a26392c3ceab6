"""Attendees, roles, sign-in, preferences, bookmarks, devices."""

from . import models  # noqa: F401  (registers the tables)


def init_app(app, api):
    pass
