"""The app factory, the error shape, the OpenAPI document."""

import json
import re
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from companion import create_app

SHAPE = {"code", "status", "message", "errors"}
CONTRACT = Path(__file__).resolve().parents[2] / "shared" / "API.md"

# The contract's operations built so far, spelled as in ../shared/API.md.
BUILT = [
    "GET /events", "GET /events/{event}",
    "GET /events/{event}/sessions", "GET /events/{event}/sessions/{id}",
    "GET /events/{event}/rooms", "GET /events/{event}/rooms/{id}",
    "GET /events/{event}/schedule.ics", "GET /events/{event}/schedule.xml",
    "GET /events/{event}/schedule.json",
    "POST /auth/login", "POST /auth/logout", "POST /auth/logout-all", "GET /me", "PATCH /me",
    "GET /me/schedule", "PUT /me/bookmarks/{session_id}", "DELETE /me/bookmarks/{session_id}",
    "POST /me/devices", "DELETE /me/devices/{token}", "GET /me/calendar",
    "GET /me/notifications", "POST /me/notifications/{id}/read",
    "GET /me/export", "DELETE /me",
    "GET /events/{event}/directory", "GET /me/contact-card", "POST /me/contact-card/rotate",
    "POST /me/contacts", "GET /me/contacts", "GET /me/contact-requests",
    "POST /me/contact-requests/{id}/accept", "POST /me/contact-requests/{id}/decline",
    "GET /me/contacts.vcf", "POST /me/blocks",
    "POST /events/{event}/announcements", "GET /events/{event}/announcements",
    # (and PATCH, DELETE of one: the contract says so in words, without a path)
    "GET /events/{event}/announcements/{id}",
    "POST /sessions/{id}/pings", "GET /sessions/{id}/pings", "POST /me/pings/{id}/ack",
    "POST /events/{event}/sessions", "PATCH /events/{event}/sessions/{id}",
    "DELETE /events/{event}/sessions/{id}", "POST /events/{event}/rooms",
    "PATCH /events/{event}/rooms/{id}", "DELETE /events/{event}/rooms/{id}",
    "GET /events/{event}/schedule/draft", "POST /events/{event}/schedule/publish",
    "POST /events/{event}/sessions/{id}/delay", "GET /events/{event}/schedule/versions",
    "GET /events/{event}/schedule/changes", "GET /events/{event}/audit",
    "POST /events/{event}/schedule/import",
]
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def normalised(operation: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", operation)


def contract_operations(text: str) -> set[str]:
    """Every 'METHOD /path' the contract's tables name, placeholders normalised."""
    found = set()
    for row in text.splitlines():
        if not row.startswith("|"):
            continue
        methods, path = [], None
        for token in re.findall(r"`[^`]+`|\b(?:GET|POST|PUT|PATCH|DELETE)\b", row):
            if token in METHODS:
                if path is not None:
                    methods, path = [], None
                methods.append(token)
                continue
            item = token.strip("`")
            if re.fullmatch(r"/[\w-]+", item) and path is not None and path.count("/") > 1:
                path = path.rsplit("/", 1)[0] + item  # `.../accept` or `/decline`
            elif item.startswith("/"):
                path = item.split("?")[0]
            elif path is not None and re.fullmatch(r"[\w-]+\.\w+", item):
                path = path.rsplit("/", 1)[0] + "/" + item  # `schedule.xml` beside .ics
            else:
                continue
            for variant in (re.sub(r"\[([^]]*)\]", r"\1", path), re.sub(r"\[[^]]*\]", "", path)):
                found.update(normalised(f"{m} {variant}") for m in methods)
    return found


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
    served = {
        normalised(f"{method.upper()} {path.removeprefix('/api/v1')}")
        for path, item in spec["paths"].items() for method in item if method != "parameters"
    }
    for operation in BUILT:
        assert normalised(operation) in served, operation
    assert client.get("/api/v1/docs").status_code == 200


def test_the_served_document_names_the_imports_fields(client):
    """The contract's import: a schedule file as the body; sessions' guid, speakers by
    name (a null id), the new kinds; the draft's warnings."""
    spec = client.get("/api/v1/openapi.json").json
    schemas = spec["components"]["schemas"]
    assert "guid" in schemas["Session"]["properties"]
    assert {"talk", "workshop", "other"} <= set(schemas["Session"]["properties"]["kind"]["enum"])
    assert schemas["Person"]["properties"]["id"].get("nullable") or "null" in str(
        schemas["Person"]["properties"]["id"].get("type"))
    assert "warnings" in schemas["Draft"]["properties"]
    body = spec["paths"]["/api/v1/events/{slug}/schedule/import"]["post"]["requestBody"]
    assert {"application/xml", "application/json"} <= set(body["content"])


def test_built_operations_are_the_contracts():
    if not CONTRACT.exists():
        pytest.skip("no ../shared/API.md beside this clone")
    contract = contract_operations(CONTRACT.read_text("utf-8"))
    assert "GET /events/{}/schedule.xml" in contract  # the parser reads sibling names
    assert "POST /auth/logout" in contract
    for operation in BUILT:
        assert normalised(operation) in contract, operation


@pytest.mark.parametrize("method,path,body", [
    ("get", "/api/v1/events/alliance%00-2020/sessions", None),
    ("get", "/api/v1/events/alliance-2020/sessions?kind=pa%00nel", None),
    ("post", "/api/v1/auth/login", {"email": "a@example.org", "access_code": "x",
                                    "event": "alliance-2020\x00"}),
])
def test_nul_characters_are_refused_not_a_500(client, conference, method, path, body):
    """PostgreSQL cannot store NUL in text: every route refuses it up front."""
    response = getattr(client, method)(path, json=body)
    assert response.status_code == 422
    assert set(response.json) == SHAPE
    assert response.json["message"] == "NUL characters and lone surrogates are not accepted."


def test_answers_are_compact_sorted_json_and_what_orjson_refuses_is_still_written(app):
    with app.test_request_context():
        answer = app.json.response({"b": 1, "a": "Neuer Saal – Wien", 7: None})
        assert answer.get_data() == '{"7":null,"a":"Neuer Saal – Wien","b":1}\n'.encode()
        big = app.json.response({"n": 2 ** 70, "text": "\ud800"})  # orjson refuses both
        assert json.loads(big.get_data()) == {"n": 2 ** 70, "text": "\ud800"}
        assert app.json.dumps([2 ** 70]) == "[1180591620717411303424]"
