"""Networking, consent first: profiles, directory, contact cards, requests, blocks, vCard."""

from . import models  # noqa: F401  (registers the tables)


def init_app(app, api):
    from . import views

    api.register_blueprint(views.blp)
