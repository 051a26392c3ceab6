"""The private internals the adapters (companion/adapters/) rely on, checked against the
installed libraries: an upgrade that removes or changes one fails here, by name, before
anything else does. One section per adapter module."""

import inspect
import json
from types import SimpleNamespace

import firebase_admin
import flask_limiter
import flask_smorest
import pytest
import requests
import sqlalchemy as sa
from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from flask.views import MethodView
from gunicorn.http import wsgi as gunicorn_wsgi
from gunicorn.workers import gthread
from sqlalchemy.events import ConnectionEvents

from companion import readcache
from companion.adapters import flask as flask_adapter
from companion.adapters import flask_limiter as limiter_adapter
from companion.adapters import flask_smorest as smorest_adapter
from companion.adapters import gunicorn as gunicorn_adapter
from companion.adapters import sqlalchemy as sqlalchemy_adapter
from companion.adapters.firebase import close_messaging, messaging_service, send_to
from firebase_admin import messaging


def parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


# --- SQLAlchemy ---------------------------------------------------------------------

def test_sqlalchemy_result_columns_name_and_type_each_column():
    table = sa.table("sessions", sa.column("id", sa.Integer), sa.column("title", sa.String))
    statement = sa.select(table.c.id, sa.func.count().label("n"), table.c.title)
    compiled = statement.compile(dialect=sa.dialects.sqlite.dialect())
    assert all(len(entry) == 4 for entry in compiled._result_columns), \
        "SQLCompiler._result_columns no longer holds (name, key, objects, type)"

    columns = sqlalchemy_adapter.result_columns(compiled)

    assert [name for name, _ in columns] == ["id", "n", "title"]
    assert [type(type_) for _, type_ in columns] == [sa.Integer, sa.Integer, sa.String]


def test_sqlalchemy_before_cursor_execute_listeners_hear_an_announced_statement():
    assert parameters(ConnectionEvents.before_cursor_execute) == [
        "self", "conn", "cursor", "statement", "parameters", "context", "executemany"]
    engine = sa.create_engine("sqlite://")
    heard = []
    sa.event.listen(engine, "before_cursor_execute",
                    lambda *args: heard.append(args))
    with engine.connect() as connection:
        sqlalchemy_adapter.announce_cursor_execute(connection, "SELECT ?", (1,))
        assert heard == [(connection, None, "SELECT ?", (1,), None, False)]
    engine.dispose()


def test_the_read_engine_honours_sqlalchemy_engine_options(make_app):
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS={"echo": True, "pool_pre_ping": True})
    with app.app_context():
        engine = readcache.reads().engine
        assert engine.echo is True
        assert readcache.read_row(sa.select(sa.literal(1).label("one"))).one == 1


# --- Flask and werkzeug ---------------------------------------------------------------

def test_flask_json_provider_prepares_what_jsonify_serialises():
    assert parameters(DefaultJSONProvider._prepare_response_obj) == ["self", "args", "kwargs"]
    provider = Flask(__name__).json

    assert flask_adapter.response_value(provider, ({"a": 1},), {}) == {"a": 1}
    assert flask_adapter.response_value(provider, (1, 2), {}) == (1, 2)
    assert flask_adapter.response_value(provider, (), {"b": 2}) == {"b": 2}
    with pytest.raises(TypeError):
        flask_adapter.response_value(provider, (1,), {"b": 2})


def test_werkzeug_if_none_match_is_parsed_again_once_forgotten():
    app = Flask(__name__)
    with app.test_request_context(headers={"If-None-Match": '"old"'}):
        assert "old" in request.if_none_match
        assert "if_none_match" in request.__dict__, "if_none_match is no longer cached there"
        request.environ["HTTP_IF_NONE_MATCH"] = '"new"'
        assert "new" not in request.if_none_match  # still the cached value

        flask_adapter.forget_if_none_match(request)

        assert "new" in request.if_none_match


# --- flask-limiter and Flask's hook lists ---------------------------------------------

def test_flask_limiter_hooks_are_found_dropped_and_wrapped():
    assert parameters(flask_limiter.Limiter._check_request_limit) == [
        "self", "callable_name", "in_middleware"]
    app = Flask(__name__)

    @app.after_request
    def other_after(response):
        return response

    limiter = flask_limiter.Limiter(key_func=lambda: "key", storage_uri="memory://")
    limiter.init_app(app)
    before = app.before_request_funcs[None]
    assert limiter._check_request_limit in before
    after = list(app.after_request_funcs[None])
    teardown = list(app.teardown_request_funcs[None])
    assert [limiter_adapter.is_limiters(limiter, hook) for hook in after] == [False, True]
    assert [limiter_adapter.is_limiters(limiter, hook) for hook in teardown] == [True]

    limiter_adapter.drop_request_check(app, limiter)
    limiter_adapter.wrap_hooks(app, limiter, after=lambda hook: ("after", hook),
                               teardown=lambda hook: ("teardown", hook))

    assert limiter._check_request_limit not in app.before_request_funcs[None]
    assert app.after_request_funcs[None] == [other_after, ("after", after[1])]
    assert app.teardown_request_funcs[None] == [("teardown", teardown[0])]


# --- flask-smorest --------------------------------------------------------------------

class Blueprint(smorest_adapter.Blueprint):
    pagination_metadata = staticmethod(lambda page, page_size, count: {"made": [page, count]})


class Api(smorest_adapter.Api):
    pagination_header = {"description": "ours", "schema": {"type": "string"}}


def test_flask_smorest_private_methods_keep_their_signatures():
    assert parameters(flask_smorest.Blueprint._make_pagination_metadata) == [
        "page", "page_size", "item_count"]
    assert parameters(flask_smorest.Blueprint._generate_etag) == ["etag_data", "extra_data"]
    assert parameters(flask_smorest.Api._register_pagination_header) == ["self"]


def test_flask_smorest_writes_and_documents_our_pagination_and_hashes_etags_so():
    app = Flask(__name__)
    app.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.0.2")
    api = Api(app)
    blp = Blueprint("things", __name__, url_prefix="/things")

    @blp.route("/")
    class Things(MethodView):
        @blp.etag
        @blp.response(200)
        @blp.paginate(flask_smorest.Page)
        def get(self):
            blp.set_etag({"version": 7})
            return list(range(25))

    api.register_blueprint(blp)
    answer = app.test_client().get("/things/?page=2&page_size=10")

    assert json.loads(answer.headers["X-Pagination"]) == {"made": [2, 25]}
    assert blp.metadata_of(2, 10, 25) == {"made": [2, 25]}
    assert answer.headers["ETag"] == f'"{blp.etag_of({"version": 7})}"'
    assert api.spec.to_dict()["components"]["headers"]["PAGINATION"] == Api.pagination_header


# --- firebase-admin -------------------------------------------------------------------

def test_firebase_messaging_posts_to_the_url_and_session_we_set(firebase_app, fake_fcm):
    service = messaging_service(firebase_app)
    assert service is messaging._get_messaging_service(firebase_app)
    assert service._fcm_url == messaging._MessagingService.FCM_URL.format(fake_fcm.project_id)
    assert isinstance(service._client.session, requests.Session)
    mounted = []

    def adapter():
        mounted.append(requests.adapters.HTTPAdapter())
        return mounted[-1]

    url = send_to(firebase_app, fake_fcm.url, "/v1/projects/{project}/messages:send", adapter)
    send_to(firebase_app, fake_fcm.url, "/v1/projects/{project}/messages:send", adapter)

    assert url == service._fcm_url == f"{fake_fcm.url}/v1/projects/{fake_fcm.project_id}/messages:send"
    assert len(mounted) == 1 and service._client.session.get_adapter(url) is mounted[0]
    messaging.send(messaging.Message(fid="fid-probe"), app=firebase_app)
    assert fake_fcm.targets() == ["fid-probe"]

    close_messaging(firebase_app)

    assert firebase_app._services["_messaging"]._client.session is None


def test_firebase_closing_an_app_whose_messaging_was_never_used(firebase_app):
    close_messaging(firebase_app)
    assert "_messaging" not in firebase_app._services
    assert firebase_admin.get_app(firebase_app.name) is firebase_app


# --- gunicorn -------------------------------------------------------------------------

def test_gunicorn_start_response_is_its_response_whose_force_close_closes():
    assert "self.wsgi(environ, resp.start_response)" in inspect.getsource(gthread), \
        "gunicorn's gthread worker no longer passes its response's start_response"
    req = SimpleNamespace(should_close=lambda: False, method="GET")
    response = gunicorn_wsgi.Response(req, None, None)
    response.response_length = 0
    assert response.should_close() is False

    close = gunicorn_adapter.closer_of(response.start_response)
    close()

    assert response.should_close() is True
    assert gunicorn_adapter.closer_of(lambda status, headers, exc_info=None: None) is None
