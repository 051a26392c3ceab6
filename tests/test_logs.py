"""JSON log lines with the request id: the app, gunicorn as configured, and the worker."""

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
from flask import current_app

from companion.timeutil import utcnow

ROOT = Path(__file__).resolve().parents[1]
HEX_ID = r"[0-9a-f]{32}"


def json_lines(text: str) -> list[dict]:
    """Every line parsed: a line that is not a JSON object fails the test here."""
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert all(isinstance(line, dict) for line in lines)
    return lines


@pytest.fixture
def logging_app(make_app):
    """An app with routes that log, and one that fails."""
    app = make_app()

    @app.get("/test/log")
    def writes_logs():
        current_app.logger.info("from the app's logger")
        logging.getLogger("companion.somewhere").warning("with a field", extra={"seats": 3})
        return {"ok": True}

    @app.get("/test/fail")
    def fails():
        raise RuntimeError("a bug")

    return app


def test_every_line_of_a_request_is_json_with_its_request_id(logging_app, capsys):
    capsys.readouterr()
    response = logging_app.test_client().get(
        "/test/log", headers={"X-Request-ID": "phone-7f3a:42"}
    )

    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "phone-7f3a:42"
    lines = json_lines(capsys.readouterr().err)
    assert [line["message"] for line in lines] == ["from the app's logger", "with a field"]
    assert {line["request_id"] for line in lines} == {"phone-7f3a:42"}
    first, second = lines
    assert first["level"] == "INFO" and first["logger"] == "companion"
    assert second["level"] == "WARNING" and second["logger"] == "companion.somewhere"
    assert second["seats"] == 3
    assert second["time"].endswith("+00:00")


@pytest.mark.parametrize("given", [
    None, "", "x" * 129, "has space", 'quote"', "tab\there", "a/b", "ünïcode", "a;b",
])
def test_a_missing_or_odd_request_id_is_replaced_by_a_fresh_one(logging_app, capsys, given):
    headers = {} if given is None else {"X-Request-ID": given}
    capsys.readouterr()
    response = logging_app.test_client().get("/test/log", headers=headers)

    request_id = response.headers["X-Request-ID"]
    assert request_id != given
    assert re.fullmatch(HEX_ID, request_id)
    assert {line["request_id"] for line in json_lines(capsys.readouterr().err)} == {request_id}


def test_the_longest_sane_request_id_is_kept(logging_app):
    given = "A-z_0.9:" * 16  # 128 characters
    response = logging_app.test_client().get("/test/log", headers={"X-Request-ID": given})
    assert response.headers["X-Request-ID"] == given


def test_two_requests_get_two_ids(logging_app):
    client = logging_app.test_client()
    ids = {client.get("/test/log").headers["X-Request-ID"] for _ in range(2)}
    assert len(ids) == 2


def test_an_unhandled_error_is_logged_with_its_traceback_and_request_id(logging_app, capsys):
    capsys.readouterr()
    response = logging_app.test_client().get("/test/fail", headers={"X-Request-ID": "r-500"})

    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "r-500"
    (line,) = json_lines(capsys.readouterr().err)
    assert line["message"] == "unhandled error" and line["level"] == "ERROR"
    assert line["request_id"] == "r-500"
    assert "RuntimeError: a bug" in line["exc_info"]


def test_errors_answered_by_the_api_carry_the_request_id(logging_app):
    client = logging_app.test_client()
    missing = client.get("/api/v1/events/nowhere", headers={"X-Request-ID": "r-404"})
    refused = client.get("/api/v1/me", headers={"X-Request-ID": "r-401"})
    assert (missing.status_code, missing.headers["X-Request-ID"]) == (404, "r-404")
    assert (refused.status_code, refused.headers["X-Request-ID"]) == (401, "r-401")


def test_a_line_outside_any_request_has_no_request_id(logging_app, capsys):
    capsys.readouterr()
    logging.getLogger("companion.somewhere").warning("between requests")
    (line,) = json_lines(capsys.readouterr().err)
    assert line["message"] == "between requests"
    assert "request_id" not in line


def test_creating_apps_again_keeps_one_json_handler(make_app):
    make_app()
    make_app()
    ours = [h for h in logging.getLogger().handlers if getattr(h, "ours", False)]
    assert len(ours) == 1


# --- the processes: gunicorn as the Procfile starts it, and the worker ---------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop(process: subprocess.Popen) -> tuple[str, str]:
    process.send_signal(signal.SIGTERM)
    try:
        return process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def gunicorn_run(migrated: str, *urls: str, headers: dict | None = None) -> tuple:
    """Start gunicorn as configured, ask it for these URLs (the first until it answers;
    an HTTP error is an answer too), stop it: its exit code, stdout and stderr."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": migrated, "PORT": str(port),
           "WEB_CONCURRENCY": "1", "WEB_THREADS": "2",
           "COMPANION_ENV": "development"}  # a PostgreSQL URL alone means production
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "--config", "gunicorn.conf.py"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 20
        for index, url in enumerate(urls):
            while True:
                try:
                    with urlopen(Request(f"http://127.0.0.1:{port}{url}",
                                         headers=headers or {})) as answer:
                        if headers and "X-Request-ID" in headers:
                            assert answer.headers["X-Request-ID"] == headers["X-Request-ID"]
                    break
                except HTTPError:
                    break
                except OSError:
                    if index or time.monotonic() > deadline or server.poll() is not None:
                        raise
                    time.sleep(0.1)
    finally:
        out, err = stop(server)
    return server.returncode, out, err


def test_gunicorn_as_configured_logs_json_and_the_request_id(migrated):
    code, out, err = gunicorn_run(migrated, "/api/v1/events",
                                  headers={"X-Request-ID": "from-the-phone"})

    assert code == 0, err
    lines = json_lines(err)
    (access,) = [line for line in lines if line["logger"] == "gunicorn.access"]
    assert access["request_id"] == "from-the-phone"
    assert (access["method"], access["path"], access["status"]) == ("GET", "/api/v1/events", 200)
    assert access["duration_ms"] >= 0 and access["time"]
    messages = [line["message"] for line in lines]
    assert "Using worker: gthread" in messages
    assert "Shutting down: Master" in messages  # SIGTERM: a graceful stop
    assert out == ""


def test_gunicorn_logs_no_personal_data_of_a_query(migrated):
    """An erasure's confirm=<email>, a search, a code: their values never reach the log."""
    code, _, err = gunicorn_run(
        migrated, "/api/v1/events",
        "/api/v1/events/alliance-2020/directory?q=Vandermolen&page=2",
        "/api/v1/me?confirm=quirinia.vandermolen%40example.org",
        "/api/v1/me/contact-card.png?Code=SECRET-CODE&EMAIL=vera@example.org&token=zz-token")

    assert code == 0, err
    assert not re.search(r"vandermolen|vera@|SECRET|zz-token", err, re.IGNORECASE)
    queries = {line["query"] for line in json_lines(err) if line["logger"] == "gunicorn.access"}
    assert queries == {None, "q=[redacted]&page=2", "confirm=[redacted]",
                       "Code=[redacted]&EMAIL=[redacted]&token=[redacted]"}


def test_the_worker_logs_json_lines(app, migrated, make_attendee, add_device, queue, reload):
    ada = make_attendee()
    add_device(ada, token="fid-json")
    now = utcnow()
    row = queue(ada, due_at=now, expires_at=now + timedelta(hours=1))
    env = {**os.environ, "DATABASE_URL": migrated, "PUSH_BACKEND": "log",
           "PYTHONUNBUFFERED": "1",
           "COMPANION_ENV": "development"}  # a PostgreSQL URL alone means production
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "notifications", "worker",
         "--poll", "0.2"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while reload(row).status != "sent" and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        out, err = stop(worker)

    assert worker.returncode == 0, err
    lines = json_lines(err)
    assert lines[0]["message"] == "notifications worker: sending through LogSender"
    assert (lines[0]["logger"], lines[0]["sender"], lines[0]["poll"]) == (
        "notifications.worker", "LogSender", 0.2)
    (dispatched,) = [line for line in lines if line["message"].startswith("dispatched")]
    assert dispatched["dispatched"]["sent"] == 1 and dispatched["level"] == "INFO"
    assert lines[-1]["message"] == "notifications worker: stopped"
    assert all(line["time"] for line in lines)
    assert '"outbox_id": %d' % row.id in out  # the pushes themselves: the log sender's output
