"""The conference: events, rooms, sessions, and the exports schedule apps read."""

from . import models  # noqa: F401  (registers the tables)


def init_app(app, api):
    from . import cli, views

    api.register_blueprint(views.blp)
    cli.init_app(app)
