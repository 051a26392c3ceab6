"""Push notifications: outbox, senders (fcm, log), dispatcher, reminders, in-app inbox."""

from . import cli, models, networking, privacy  # noqa: F401  (tables; receivers)


def init_app(app, api):
    from companion.organising import delivery

    from . import broadcasts, releases, views  # noqa: F401  (releases receives schedule_released)

    api.register_blueprint(views.blp)
    delivery.provide(app, broadcasts)  # the push side of announcements and pings
    cli.init_app(app)
