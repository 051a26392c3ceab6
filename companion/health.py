"""For the load balancer: /healthz (the process answers), /readyz (the database does too)."""

from flask import jsonify
from sqlalchemy import text

from .extensions import db


def healthz():
    return jsonify(status="ok")


def readyz():
    """200 when the database answers; else the 503 of errors.database_unavailable."""
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok", database="ok")


def init_app(app):
    app.add_url_rule("/healthz", view_func=healthz)
    app.add_url_rule("/readyz", view_func=readyz)
