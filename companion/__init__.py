"""The Alliance companion web app."""

from inspect import iscoroutinefunction
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import notifications

from . import (  # noqa: F401
    cli, console, docs, errors, health, http, idempotency, keys, logs, networking, organising,
    people, ratelimit, schedule,
)
from .config import Config
from .db import commit_request
from .extensions import db, migrate
from .pagination import Api

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class Companion(Flask):
    """Flask, remembering which of its views and hooks are coroutines: Flask asks
    ``inspect.iscoroutinefunction`` of each of them on every request (eleven times for a
    kept answer, ~5 % of its CPU), and the answer never changes. Its JSON is orjson's
    (http.JSONProvider)."""

    json_provider_class = http.JSONProvider

    def ensure_sync(self, func):
        function = getattr(func, "__func__", func)  # a view's method, bound per request
        coroutines = self.__dict__.setdefault("coroutine_functions", {})
        if function not in coroutines:
            coroutines[function] = iscoroutinefunction(func)
        return self.async_to_sync(func) if coroutines[function] else func


def create_app(config: dict | None = None) -> Flask:
    app = Companion(__name__)
    app.config.from_object(Config)
    if config:
        app.config.update(config)
    keys.init_app(app)  # refuses to start in production without real keys
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:  # only then is X-Forwarded-For the client's address
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["RATELIMIT_STORAGE_URI"] = ratelimit.default_uri(app.instance_path)

    logs.init_app(app)  # first: JSON lines, and the request id of every response
    db.init_app(app)
    app.after_request(commit_request)  # one transaction per request
    migrate.init_app(app, db, directory=str(MIGRATIONS))
    ratelimit.init_app(app)
    api = Api(app)
    docs.init_app(app)
    errors.init_app(app)  # after the Api, so this shape wins over its handler
    http.init_app(app)
    health.init_app(app)

    schedule.init_app(app, api)
    people.init_app(app, api)
    networking.init_app(app, api)
    organising.init_app(app, api)
    notifications.init_app(app, api)
    console.init_app(app)  # /console/: organisers' and moderators' pages
    cli.init_app(app)
    return app
