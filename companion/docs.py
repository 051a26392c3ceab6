"""Swagger UI's files served by the app itself, so /api/v1/docs works with no CDN in reach.

flask-smorest renders the docs page and loads Swagger UI from OPENAPI_SWAGGER_UI_URL; the
files are the Swagger UI release shipped in the pinned flask-swagger-ui package (only its
``dist`` folder is used, not its blueprint). Only the files that page loads are served.
"""

from importlib.resources import files

from flask import send_from_directory

SWAGGER_UI_DIST = files("flask_swagger_ui") / "dist"
SWAGGER_UI_FILES = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js")


def swagger_ui_file(filename: str):
    return send_from_directory(SWAGGER_UI_DIST, filename)


def init_app(app):
    names = ", ".join(f"'{name}'" for name in SWAGGER_UI_FILES)
    app.add_url_rule(
        app.config["OPENAPI_SWAGGER_UI_URL"] + f"<any({names}):filename>",
        view_func=swagger_ui_file,
    )
