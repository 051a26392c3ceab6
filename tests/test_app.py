"""The app factory, the error shape, the OpenAPI document."""

import re
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from companion import create_app

SHAPE = {"code", "status", "message", "errors"}
CONTRACT = Path(__file__).resolve().parents[2] / "shared" / "API.md"

# The contract's paths built so far, in OpenAPI spelling.
BUILT = [
    "/api/v1/events",
    "/api/v1/events/{slug}",
    "/api/v1/events/{slug}/sessions",
    "/api/v1/events/{slug}/sessions/{session_id}",
    "/api/v1/events/{slug}/rooms",
    "/api/v1/events/{slug}/rooms/{room_id}",
    "/api/v1/events/{slug}/schedule.ics",
    "/api/v1/events/{slug}/schedule.xml",
    "/api/v1/events/{slug}/schedule.json",
]


def test_factory_takes_config():
    assert not create_app().testing
    assert create_app({"TESTING": True}).testing


@pytest.mark.parametrize("method,path,code", [
    ("get", "/nowhere", 404),
    ("get", "/api/v1/events/nope", 404),
    ("delete", "/api/v1/events", 405),
    ("get", "/api/v1/events/alliance-2020/sessions?day=never", 422),
])
def test_one_error_shape(client, conference, method, path, code):
    response = getattr(client, method)(path)
    assert response.status_code == code
    assert set(response.json) == SHAPE
    assert response.json["code"] == code


def test_500_has_the_same_shape(make_app):
    app = make_app()
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert set(response.json) == SHAPE
    assert "secret detail" not in response.get_data(as_text=True)


def test_openapi_document_is_valid_and_lists_the_contract(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    validate(spec)
    for path in BUILT:
        assert path in spec["paths"], path
    assert client.get("/api/v1/docs").status_code == 200


def test_built_paths_are_in_the_contract():
    if not CONTRACT.exists():
        pytest.skip("no ../shared/API.md beside this clone")
    contract = CONTRACT.read_text("utf-8")
    for path in BUILT:
        tail = re.sub(r"\{[^}]+\}", "{x}", path.removeprefix("/api/v1"))
        spelled = re.sub(r"\{[^}]+\}", "{x}", contract)
        last = tail.rsplit("/", 1)[-1]
        assert last in spelled, path
