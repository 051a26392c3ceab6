"""Push notifications: outbox, senders (fcm, log), dispatcher, reminders, in-app inbox."""

from . import cli, models, networking  # noqa: F401  (tables; networking's receivers)


def init_app(app, api):
    from . import views

    api.register_blueprint(views.blp)
    cli.init_app(app)
