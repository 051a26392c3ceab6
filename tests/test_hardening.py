"""Issue 8 (hardening): what trying the API as an attacker and as a newcomer found.

Each test names the point of the issue it covers.
"""

import base64
import hashlib
import io
import json
import logging
import os
import re
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from companion import create_app, keys, ratelimit
from companion.extensions import db
from companion.people import calendar
from companion.people.models import AccessToken, Attendee, Device
from companion.people.agenda import personal_schedule
from notifications import senders
from notifications.dispatcher import Dispatcher

SHAPE = {"code", "status", "message", "errors"}
CODE = "7KQ4-MX2P-9DHT"
ROOT = Path(__file__).resolve().parents[1]


def assert_error(response, code):
    assert response.status_code == code, (response.status_code, response.get_data(as_text=True))
    assert set(response.json) == SHAPE
    assert response.json["code"] == code


def login(client, email, code=CODE, address="10.0.0.1", **extra):
    return client.post("/api/v1/auth/login", json={"email": email, "access_code": code},
                       environ_base={"REMOTE_ADDR": address}, **extra)


# --- 1. secret keys ------------------------------------------------------------------

def test_1_without_a_secret_key_one_is_made_once_and_kept_private(make_app, tmp_path):
    first = make_app(SECRET_KEY="", ACCESS_CODE_KEY="", KEYS_FOLDER=str(tmp_path))
    key = first.config["SECRET_KEY"]
    assert key != "dev-only-not-secret" and len(key) >= 32
    kept = tmp_path / "secret_key"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "access_code_key").stat().st_mode) == 0o600
    second = make_app(SECRET_KEY="", ACCESS_CODE_KEY="", KEYS_FOLDER=str(tmp_path))
    assert second.config["SECRET_KEY"] == key  # every process of the setup agrees
    assert first.config["ACCESS_CODE_KEY"] not in (key, "")


def test_1_a_feed_url_cannot_be_computed_from_the_old_default_key(make_attendee, app):
    import hmac

    ada = make_attendee()
    forged_digest = hmac.new(b"dev-only-not-secret", f"calendar:{ada.id}:0".encode(),
                             hashlib.sha256).digest()
    forged = f"{ada.id}-{base64.urlsafe_b64encode(forged_digest).rstrip(b'=').decode()}"
    assert calendar.attendee_for_feed(forged) is None
    assert calendar.attendee_for_feed(calendar.feed_token(ada)) == ada


@pytest.mark.parametrize("value", ["", "dev-only-not-secret", "short"])
def test_1_production_refuses_to_start_without_a_real_key(migrated, value):
    with pytest.raises(keys.MissingSecret, match="SECRET_KEY"):
        create_app({"COMPANION_ENV": "production", "SECRET_KEY": value,
                    "ACCESS_CODE_KEY": "k" * 40, "SQLALCHEMY_DATABASE_URI": migrated})


def test_1_a_postgresql_database_url_means_production(tmp_path):
    env = {**os.environ, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    for name in ("SECRET_KEY", "ACCESS_CODE_KEY", "COMPANION_ENV"):
        env.pop(name, None)
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "routes"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "SECRET_KEY is missing or weak" in result.stderr


# --- 2. request size ---------------------------------------------------------------------

class Unreadable(io.BytesIO):
    """A request body that must not be read."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read1 = readinto = read


def test_2_a_huge_body_is_refused_with_413_before_it_is_read(client):
    response = client.post("/api/v1/auth/login", input_stream=Unreadable(),
                           content_type="application/json",
                           environ_overrides={"CONTENT_LENGTH": str(200 * 1024 * 1024)})
    assert_error(response, 413)


def test_2_a_body_over_the_limit_is_413_a_normal_one_is_not(client, make_attendee):
    big = b'{"email": "' + b"a" * (300 * 1024) + b'", "access_code": "x"}'
    assert_error(client.post("/api/v1/auth/login", data=big,
                             content_type="application/json"), 413)
    assert client.application.config["MAX_CONTENT_LENGTH"] <= 512 * 1024
    assert_error(login(client, "nobody@example.org"), 401)


# --- 3. the login limiter -----------------------------------------------------------

def test_3_the_default_store_is_shared_by_every_worker(make_app, tmp_path, make_attendee):
    assert make_app(RATELIMIT_STORAGE_URI="").config["RATELIMIT_STORAGE_URI"] \
        .startswith("sqlite:///")
    uri = ratelimit.default_uri(str(tmp_path))
    workers = [make_app(RATELIMIT_STORAGE_URI=uri).test_client() for _ in range(2)]
    make_attendee(code=CODE, email="ada@example.org")
    answers = [login(workers[n % 2], "ada@example.org", "WRONG").status_code
               for n in range(12)]
    assert answers == [401] * 5 + [429] * 7  # 5 per minute, whichever worker answers


def test_3_failures_from_one_address_do_not_lock_out_the_victim_elsewhere(
        app, client, make_attendee):
    make_attendee(code=CODE, email="ada@example.org")
    for _ in range(5):
        assert_error(login(client, "ada@example.org", "WRONG", address="10.6.6.6"), 401)
    assert_error(login(client, "ada@example.org", address="10.6.6.6"), 429)
    assert login(client, "ada@example.org", address="10.0.0.2").status_code == 200


def test_3_a_sign_in_says_its_limit_and_other_routes_do_no_limiter_work(client, make_attendee):
    make_attendee(code=CODE, email="ada@example.org")
    failed = login(client, "ada@example.org", "WRONG")
    assert int(failed.headers["X-RateLimit-Limit"]) == 5
    assert int(failed.headers["X-RateLimit-Remaining"]) == 4  # the failure was counted
    assert "X-RateLimit-Limit" not in client.get("/api/v1/events").headers


@pytest.mark.parametrize("proxies,escapes", [(0, False), (1, True)])
def test_3_x_forwarded_for_counts_only_behind_trusted_proxies(make_app, make_attendee,
                                                            proxies, escapes):
    make_attendee(code=CODE, email="ada@example.org")
    client = make_app(TRUSTED_PROXIES=proxies).test_client()
    for n in range(5):
        headers = {"X-Forwarded-For": f"192.0.2.{n}"}
        assert login(client, "ada@example.org", "WRONG", headers=headers).status_code == 401
    fresh = login(client, "ada@example.org", "WRONG", headers={"X-Forwarded-For": "192.0.2.99"})
    assert fresh.status_code == (401 if escapes else 429)


# --- 4. sign out everywhere ------------------------------------------------------------

def test_4_logout_all_ends_every_token_of_the_attendee_only(client, make_attendee, bearer):
    ada, bob = make_attendee(), make_attendee()
    phone, laptop, bobs = bearer(ada), bearer(ada), bearer(bob)
    assert client.post("/api/v1/auth/logout-all", headers=phone).status_code == 204
    assert_error(client.get("/api/v1/me", headers=phone), 401)
    assert_error(client.get("/api/v1/me", headers=laptop), 401)
    assert client.get("/api/v1/me", headers=bobs).status_code == 200
    assert_error(client.post("/api/v1/auth/logout-all"), 401)
    live = select(AccessToken).where(AccessToken.revoked_at.is_(None))
    assert [token.attendee_id for token in db.session.scalars(live)] == [bob.id]


# --- 5-9. inputs that gave 500 -------------------------------------------------------------

@pytest.mark.parametrize("depth", [40, 327, 5000, 100_000])
def test_5_deeply_nested_json_is_a_400_without_a_traceback(client, conference, caplog, depth):
    body = "[" * depth + "]" * depth
    with caplog.at_level(logging.ERROR):
        response = client.get("/api/v1/events", data=body, content_type="application/json")
        assert_error(response, 400)
        assert_error(client.post("/api/v1/auth/login", data=body,
                                 content_type="application/json"), 400)
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


@pytest.mark.parametrize("body", [
    '{"email": "\\ud800@example.org", "access_code": "x"}',
    '{"email": "a@example.org", "access_code": "\\udfff"}',
    '{"email": "a@example.org", "access_code": "x", "event": "alliance\\ud800"}',
])
def test_6_lone_surrogates_in_a_login_are_422(client, conference, body):
    assert_error(client.post("/api/v1/auth/login", data=body,
                             content_type="application/json"), 422)


def test_6_a_lone_surrogate_in_a_device_token_is_422(client, make_attendee, bearer):
    body = '{"token": "fid-\\ud83d", "platform": "android"}'
    response = client.post("/api/v1/me/devices", data=body, content_type="application/json",
                           headers=bearer(make_attendee()))
    assert_error(response, 422)
    assert db.session.scalar(select(Device)) is None


def test_7_an_integer_of_thousands_of_digits_is_a_400(client, make_attendee, bearer):
    huge = "9" * 5000
    assert_error(client.post("/api/v1/auth/login", data='{"email": ' + huge + "}",
                             content_type="application/json"), 400)
    assert_error(client.patch("/api/v1/me", data='{"reminder_minutes": ' + huge + "}",
                              content_type="application/json",
                              headers=bearer(make_attendee())), 400)


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "9998-12-31"])
def test_8_days_at_the_ends_of_the_calendar_are_not_a_500(client, conference, day):
    response = client.get(f"/api/v1/events/alliance-2020/sessions?day={day}")
    if day == "9998-12-31":
        assert response.status_code == 200 and response.json == []
    else:
        assert_error(response, 422)


@pytest.mark.parametrize("content_type,data", [
    ("text/plain", '{"language": "fr"}'),
    ("application/x-www-form-urlencoded", "language=fr"),
    ("application/xml", "<me><language>fr</language></me>"),
])
def test_9_a_patch_that_is_not_json_is_415(client, make_attendee, bearer, content_type, data):
    ada = make_attendee()
    response = client.patch("/api/v1/me", data=data, content_type=content_type,
                            headers=bearer(ada))
    assert_error(response, 415)
    db.session.refresh(ada)
    assert ada.language == "en"


# --- 10. weak validators -------------------------------------------------------------------

def test_10_a_weak_if_none_match_is_304(client, make_attendee, bearer):
    first = client.get("/api/v1/events/alliance-2020/sessions")
    etag = first.headers["ETag"]
    assert etag.startswith('"')
    again = client.get("/api/v1/events/alliance-2020/sessions",
                       headers={"If-None-Match": f'"nope", W/{etag}'})
    assert again.status_code == 304
    headers = bearer(make_attendee())
    mine = client.get("/api/v1/me/schedule", headers=headers).headers["ETag"]
    assert client.get("/api/v1/me/schedule",
                      headers={**headers, "If-None-Match": f"W/{mine}"}).status_code == 304


# --- 11. the database down -------------------------------------------------------------

@pytest.mark.parametrize("uri", [
    "sqlite:////nonexistent-folder/companion.db",
    "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2",
])
def test_11_no_database_is_503_with_retry_after(make_app, uri):
    client = make_app(SQLALCHEMY_DATABASE_URI=uri).test_client()
    response = client.get("/api/v1/events")
    assert_error(response, 503)
    assert int(response.headers["Retry-After"]) > 0
    assert client.get("/healthz").status_code == 200
    not_ready = client.get("/readyz")
    assert_error(not_ready, 503)


def test_11_ready_when_the_database_answers(client):
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json == {"status": "ok", "database": "ok"}


# --- 13. a 0-minute reminder -----------------------------------------------------------

def test_13_every_accepted_lead_time_delivers(client, app, make_attendee, bearer):
    ada = make_attendee()
    headers = bearer(ada)
    assert_error(client.patch("/api/v1/me", json={"reminder_minutes": 0}, headers=headers), 422)
    assert client.patch("/api/v1/me", json={"reminder_minutes": 1},
                        headers=headers).status_code == 200
    db.session.add(Device(attendee_id=ada.id, token="fid-ada", platform="android"))
    db.session.commit()
    panel = next(item for item in personal_schedule(ada) if item.session.kind == "panel")
    assert panel.reminder_at == panel.session.starts_at - timedelta(minutes=1)
    dispatcher = Dispatcher(senders.LogSender(stream=io.StringIO()))
    tally = dispatcher.run_once(now=panel.reminder_at)
    assert tally.pushes >= 1 and tally.expired == 0


def test_13_a_stored_zero_still_delivers(make_attendee):
    ada = make_attendee(reminder_minutes=0)
    for item in personal_schedule(ada):
        assert item.reminder_at < item.session.starts_at


# --- 14, 15. headers ---------------------------------------------------------------------

def test_14_personal_answers_are_private_and_vary_by_authorization(client, make_attendee,
                                                                   bearer):
    make_attendee(code=CODE, email="ada@example.org")
    signed_in = login(client, "ada@example.org")
    headers = {"Authorization": f"Bearer {signed_in.json['token']}"}
    answers = {"/auth/login": signed_in}
    for path in ("/me", "/me/schedule", "/me/notifications", "/me/calendar"):
        answers[path] = client.get("/api/v1" + path, headers=headers)
    for path, response in answers.items():
        assert response.status_code == 200, path
        cache = response.headers["Cache-Control"]
        assert "private" in cache, path
        assert "no-store" in cache or ("no-cache" in cache and response.headers["ETag"]), path
        assert "Authorization" in response.headers["Vary"], path
    assert "no-store" in answers["/me/calendar"].headers["Cache-Control"]
    assert "no-store" in answers["/auth/login"].headers["Cache-Control"]


def test_15_nosniff_referrer_policy_and_a_csp_for_the_docs(client, conference):
    for path in ("/api/v1/events", "/api/v1/nowhere", "/api/v1/docs"):
        response = client.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Referrer-Policy"] == "no-referrer", path
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], path
    docs = client.get("/api/v1/docs")
    policy = docs.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    for script in re.findall(r"<script>(.*?)</script>", docs.text, re.DOTALL):
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert docs.headers["X-Frame-Options"] == "DENY"


# --- 18. the codes file -------------------------------------------------------------------

def test_18_the_codes_file_has_plain_line_ends(runner, conference, tmp_path):
    source = tmp_path / "attendees.csv"
    source.write_text("email,name,organisation,country,roles\nada@example.org,Ada,,,\n")
    codes = tmp_path / "codes.csv"
    result = runner.invoke(args=["attendees", "import", str(source), "--codes", str(codes)])
    assert result.exit_code == 0, result.output
    raw = codes.read_bytes()
    assert b"\r" not in raw
    code = raw.decode().splitlines()[1].split(",")[1]  # what `cut -d, -f2` gives
    assert len(code) == 14


# --- 16. the newcomer's demo ----------------------------------------------------------------

def test_16_make_run_rehearses_and_a_reminder_falls_due_within_minutes(app, client, runner,
                                                                       tmp_path):
    from companion.timeutil import utcnow
    from notifications.models import OutboxMessage

    assert "seed $(SEED_ARGS)" in (ROOT / "Makefile").read_text()
    assert "SEED_ARGS ?= --rehearsal" in (ROOT / "Makefile").read_text()
    app.instance_path = str(tmp_path)
    started = utcnow()
    result = runner.invoke(args=["seed", "--rehearsal"])
    assert result.exit_code == 0, result.output
    codes = (tmp_path / "demo-codes.csv").read_text()
    code = codes.splitlines()[1].split(",")[1]
    assert login(client, "demo@example.org", code).status_code == 200
    # the demo attendee's (the demo speaker's and moderator's, 30 minutes ahead, and the
    # release that put them on Panel 1 are due at once: tests/test_demo.py)
    due = db.session.scalars(
        select(OutboxMessage).join(OutboxMessage.attendee)
        .where(OutboxMessage.status == "pending", OutboxMessage.kind == "reminder",
               Attendee.email == "demo@example.org")
        .order_by(OutboxMessage.next_attempt_at)
    ).first()
    assert started < due.next_attempt_at <= started + timedelta(minutes=3)
    assert due.expires_at > due.next_attempt_at
    out = io.StringIO()
    tally = Dispatcher(senders.LogSender(stream=out)).run_once(now=due.next_attempt_at)
    (push,) = [push for push in map(json.loads, out.getvalue().splitlines())
               if push["outbox_id"] == due.id]
    assert tally.pushes >= 1 and push["title"].startswith("Reminder: Panel 1")
    again = runner.invoke(args=["seed", "--rehearsal"])  # make run a second time
    assert again.exit_code == 0, again.output
    assert (tmp_path / "demo-codes.csv").read_text() == codes


def test_16_dispatch_now_as_the_readme_writes_it(app, runner, make_attendee):
    ada = make_attendee()
    db.session.add(Device(attendee_id=ada.id, token="fid-ada", platform="android"))
    db.session.commit()
    assert runner.invoke(args=["notifications", "plan"]).exit_code == 0
    # the worker of `make run`, on today's clock, expires the 2020 reminders at once
    today = Dispatcher(senders.LogSender(stream=io.StringIO())).run_once()
    assert today.pushes == 0 and today.expired > 0
    result = runner.invoke(args=["notifications", "dispatch", "--once",
                                 "--now", "2020-03-30T14:20:00Z"])
    assert result.exit_code == 0, result.output
    assert '"title": "Reminder: Panel 1' in result.output
    assert "1 pushes" in result.output


# --- 17. a big import ---------------------------------------------------------------------

def test_17_hashing_a_code_costs_microseconds_not_scrypts_40_ms(app):
    from time import perf_counter

    from companion import auth

    started = perf_counter()
    for _ in range(200):
        auth.hash_access_code(auth.new_access_code())
    assert perf_counter() - started < 2.0  # scrypt: 200 x 40 ms = 8 s


def test_17_an_import_reads_as_often_for_many_as_for_a_few(conference, statements):
    """No query per row: one for the event's attendees, a handful to plan all reminders.
    (How the ORM sends the inserts, row by row or batched, depends on the database.)"""
    from companion.people import importer

    def rows(start, count):
        return [{"email": f"p{n}@example.org", "name": f"P {n}", "organisation": None,
                 "country": None, "roles": ["attendee"], "line": n + 2}
                for n in range(start, start + count)]

    def reads():
        return [sql for sql in statements if sql.lstrip().upper().startswith("SELECT")]

    db.session.expire_all()
    statements.clear()
    importer.import_rows(conference, rows(0, 5))
    db.session.commit()
    few = len(reads())
    db.session.expire_all()
    statements.clear()
    importer.import_rows(conference, rows(100, 200))
    db.session.commit()
    assert len(reads()) == few
