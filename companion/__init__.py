"""The Alliance companion web app."""

from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import notifications

from . import cli, console, docs, errors, organising, people, schedule  # noqa: F401
from .config import Config
from .db import commit_request
from .organising import audit_views
from .extensions import db, limiter, migrate
from .pagination import Api

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_object(Config)
    if config:
        app.config.update(config)
    if app.config["PROXY_HOPS"]:  # behind TLS proxies: believe their X-Forwarded-*
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    db.init_app(app)
    app.after_request(commit_request)  # one transaction per request
    migrate.init_app(app, db, directory=str(MIGRATIONS))
    limiter.init_app(app)
    api = Api(app)
    docs.init_app(app)
    errors.init_app(app)  # after the Api, so this shape wins over its handler

    schedule.init_app(app, api)
    people.init_app(app, api)
    organising.init_app(app, api)
    notifications.init_app(app, api)
    api.register_blueprint(audit_views.blp)  # GET /events/{event}/audit
    console.init_app(app)  # /console/: organisers' and moderators' pages
    cli.init_app(app)
    return app
