"""Attendees, roles, sign-in, preferences, bookmarks, devices."""

from . import models  # noqa: F401  (registers the tables)


def init_app(app, api):
    from . import cli, privacy, views

    api.register_blueprint(views.auth_blp)
    api.register_blueprint(views.me_blp)
    api.register_blueprint(views.calendars_blp)
    app.cli.add_command(cli.attendees)
    app.cli.add_command(privacy.privacy)
