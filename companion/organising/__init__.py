"""What organisers and moderators do to an event: announcements, pings, the audit log."""

from . import audit, models  # noqa: F401  (registers the tables)


def init_app(app, api):
    from . import views

    api.register_blueprint(views.blp)
