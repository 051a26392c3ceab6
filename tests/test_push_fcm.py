"""Pushes through the real firebase-admin SDK to a local fake FCM, over real HTTP."""

import os
import signal
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import firebase_admin
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from firebase_admin import credentials, messaging
from sqlalchemy import select

from companion.extensions import db
from companion.people.models import Device
from companion.timeutil import utcnow
from companion.firebase import firebase_app
from notifications import senders
from notifications.models import InboxNotification
from notifications.senders import (
    GONE,
    PINNED_SDK,
    REJECTED,
    RETRY,
    SENT,
    FcmSender,
    LogSender,
    ProcessSender,
    Push,
    close_app,
    messaging_service,
)

UTC = timezone.utc
# Panel 1 starts at 16:30 in Vienna on 30 March 2020: 14:30 UTC (summer time since the 29th).
PANEL_1_STARTS = datetime(2020, 3, 30, 14, 30, tzinfo=UTC)
NOW = PANEL_1_STARTS - timedelta(minutes=10)


ROOT = Path(__file__).resolve().parents[1]


# --- the SDK underneath ------------------------------------------------------------

def test_firebase_admin_is_the_pinned_version():
    assert firebase_admin.__version__ == PINNED_SDK
    assert f"firebase-admin=={PINNED_SDK}" in (ROOT / "requirements.txt").read_text()


def test_fcm_endpoint_is_set_where_the_sdk_builds_its_send_url(firebase_app, fake_fcm):
    """FCM_ENDPOINT relies on SDK internals: when they change, this fails first."""
    assert (messaging._MessagingService.FCM_URL
            == "https://fcm.googleapis.com/v1/projects/{0}/messages:send")
    service = messaging_service(firebase_app)
    assert service._fcm_url == messaging._MessagingService.FCM_URL.format(fake_fcm.project_id)

    sender = FcmSender(firebase_app, fake_fcm.url)

    assert sender.url == service._fcm_url == (
        f"{fake_fcm.url}/v1/projects/{fake_fcm.project_id}/messages:send"
    )
    name = messaging.send(messaging.Message(fid="fid-probe"), app=firebase_app)
    assert name.startswith(f"projects/{fake_fcm.project_id}/messages/")
    assert fake_fcm.targets() == ["fid-probe"]
    assert fake_fcm.token_requests == 1  # the service account's JWT, checked by the fake


def test_messages_address_the_fid_without_deprecated_calls(recwarn):
    message = senders.fcm_message(
        Push(1, 1, "fid-1", "ios", "T", "B", {}, None, None), NOW
    )
    assert message.fid == "fid-1" and message.token is None
    assert "token" not in str(message)
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]


# --- one push, done properly -------------------------------------------------------

def test_a_push_is_visible_urgent_collapsible_and_expires_at_the_start(
        fcm, make_attendee, add_device, queue, dispatch, reload):
    ada = make_attendee(language="fr")
    add_device(ada, token="fid-ada", platform="ios")
    row = queue(ada, title="Rappel : Panel 1", body="Commence à 16:30 · Neuer Saal",
                data={"type": "reminder", "session_id": "5"})

    tally = dispatch(NOW)

    assert (tally.sent, tally.pushes) == (1, 1)
    (received,) = fcm.received
    message = received.message
    assert message["fid"] == "fid-ada" and "token" not in message
    assert message["notification"] == {"title": "Rappel : Panel 1",
                                       "body": "Commence à 16:30 · Neuer Saal"}
    inbox = db.session.scalar(select(InboxNotification))
    assert message["data"] == {"type": "reminder", "session_id": "5",
                               "notification_id": str(inbox.id)}
    assert message["android"] == {
        "priority": "high", "ttl": "600s", "collapse_key": "session-5",
        "notification": {"tag": "session-5"},
    }
    assert message["apns"] == {"headers": {
        "apns-priority": "10",
        "apns-expiration": str(int(PANEL_1_STARTS.timestamp())),
        "apns-collapse-id": "session-5",
    }}
    row = reload(row)
    assert (row.status, row.attempts, row.sent_at, row.last_error) == ("sent", 1, NOW, None)
    assert (inbox.title, inbox.attendee_id, inbox.created_at) == ("Rappel : Panel 1", ada.id, NOW)


# --- what FCM answers --------------------------------------------------------------

@pytest.mark.parametrize("code", ["UNREGISTERED", "SENDER_ID_MISMATCH"])
def test_a_device_fcm_no_longer_knows_is_deleted(code, fcm, make_attendee, add_device,
                                                 queue, dispatch, reload):
    ada = make_attendee()
    add_device(ada, token="fid-gone")
    add_device(ada, token="fid-live")
    fcm.fail("fid-gone", code)
    row = queue(ada)

    tally = dispatch(NOW)

    assert tally.devices_removed == 1
    assert db.session.scalars(select(Device.token)).all() == ["fid-live"]
    row = reload(row)
    assert row.status == "sent"
    assert row.last_error.startswith(f"{code}: ")
    assert fcm.targets() == ["fid-live"]
    dispatch(NOW + timedelta(minutes=1))
    assert fcm.attempts["fid-gone"] == 1


def test_invalid_argument_fails_the_message_for_good_with_the_reason(
        fcm, make_attendee, add_device, queue, dispatch, reload):
    ada = make_attendee()
    add_device(ada, token="fid-bad")
    fcm.fail("fid-bad", "INVALID_ARGUMENT")
    row = queue(ada)

    tally = dispatch(NOW)

    assert tally.failed == 1
    row = reload(row)
    assert row.status == "failed"
    assert row.last_error == ("INVALID_ARGUMENT: "
                              "The registration token is not a valid FCM registration token")
    assert db.session.scalar(select(Device.token)) == "fid-bad"
    dispatch(NOW + timedelta(minutes=1))
    assert fcm.attempts["fid-bad"] == 1


@pytest.mark.parametrize("code", ["UNAVAILABLE", "INTERNAL", "QUOTA_EXCEEDED"])
def test_passing_failures_are_retried_with_exponential_backoff(
        code, fcm, make_attendee, add_device, queue, dispatch, reload):
    ada = make_attendee()
    add_device(ada, token="fid-ada")
    fcm.fail("fid-ada", code, times=2)
    row = queue(ada)

    assert dispatch(NOW).retrying == 1
    row = reload(row)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at == NOW + timedelta(seconds=2)
    assert row.last_error.startswith(f"{code}: ")

    assert dispatch(NOW + timedelta(seconds=1)).retrying == 0  # not due yet
    assert fcm.attempts["fid-ada"] == 1

    dispatch(NOW + timedelta(seconds=2))
    assert reload(row).next_attempt_at == NOW + timedelta(seconds=2 + 4)

    assert dispatch(NOW + timedelta(seconds=6)).sent == 1
    row = reload(row)
    assert (row.status, row.attempts, fcm.attempts["fid-ada"]) == ("sent", 3, 3)
    assert fcm.targets() == ["fid-ada"]
    assert db.session.scalar(select(db.func.count()).select_from(InboxNotification)) == 1


@pytest.mark.parametrize("form,wait", [("seconds", 30), ("http-date", 90)])
def test_retry_after_is_honoured(form, wait, fcm, make_attendee, add_device, queue, dispatch, reload):
    retry_after = str(wait) if form == "seconds" else format_datetime(
        utcnow() + timedelta(seconds=wait), usegmt=True)
    ada = make_attendee()
    add_device(ada, token="fid-ada")
    fcm.fail("fid-ada", "QUOTA_EXCEEDED", times=1, retry_after=retry_after)
    row = queue(ada)

    dispatch(NOW)

    delay = (reload(row).next_attempt_at - NOW).total_seconds()
    assert wait - 5 <= delay <= wait


def test_the_sdk_never_retries_or_sleeps_inside_a_batch(fcm, make_attendee, add_device, queue,
                                                       dispatch):
    for fid, code in [("fid-503", "UNAVAILABLE"), ("fid-500", "INTERNAL"),
                      ("fid-429", "QUOTA_EXCEEDED")]:
        attendee = make_attendee()
        add_device(attendee, token=fid)
        fcm.fail(fid, code, retry_after="30")
        queue(attendee)

    started = time.monotonic()
    tally = dispatch(NOW)

    assert time.monotonic() - started < 10  # no 30 s Retry-After sleep (margin for a busy CI)
    assert tally.retrying == 3
    assert fcm.attempts == {"fid-503": 1, "fid-500": 1, "fid-429": 1}


def test_a_message_expiring_while_retried_is_never_sent_late(
        fcm, make_attendee, add_device, queue, dispatch, reload):
    ada = make_attendee()
    add_device(ada, token="fid-ada")
    fcm.fail("fid-ada", "UNAVAILABLE")
    row = queue(ada, expires_at=NOW + timedelta(seconds=10))

    moments = []
    moment = NOW
    while (row := reload(row)).status == "pending":
        moments.append(moment)
        dispatch(moment)
        moment = reload(row).next_attempt_at

    # tried at +0, +2 and +6 s; the next try (+14 s) would come after the expiry (+10 s)
    assert moments == [NOW + timedelta(seconds=s) for s in (0, 2, 6)]
    assert (row.status, row.attempts) == ("expired", 3)
    assert row.last_error.startswith("UNAVAILABLE: ")
    fcm.errors.clear()
    dispatch(NOW + timedelta(seconds=10))
    assert fcm.attempts["fid-ada"] == 3
    assert fcm.received == []


def test_a_message_due_after_its_expiry_is_dropped_unsent(fcm, make_attendee, add_device,
                                                         queue, dispatch, reload):
    ada = make_attendee()
    add_device(ada, token="fid-ada")
    row = queue(ada)

    assert dispatch(PANEL_1_STARTS).expired == 1

    assert reload(row).status == "expired"
    assert fcm.attempts == {}
    assert db.session.scalar(select(InboxNotification)) is None


def test_a_retry_goes_only_to_the_devices_that_missed_it(fcm, make_attendee, add_device,
                                                        queue, dispatch, reload):
    ada = make_attendee()
    add_device(ada, token="fid-phone")
    add_device(ada, token="fid-tablet")
    fcm.fail("fid-tablet", "UNAVAILABLE", times=1)
    row = queue(ada)

    dispatch(NOW)
    dispatch(NOW + timedelta(seconds=2))

    assert sorted(fcm.targets()) == ["fid-phone", "fid-tablet"]
    assert reload(row).status == "sent"


def test_more_than_500_pushes_go_out_in_batches(fake_fcm, firebase_app):
    sender = FcmSender(firebase_app, fake_fcm.url)
    pushes = [Push(n, n, f"fid-{n}", "android", "T", "B", {}, None, None)
              for n in range(1001)]  # send_each itself refuses more than 500

    results = sender.send(pushes, NOW)

    assert [r.outcome for r in results] == [SENT] * 1001
    assert sorted(fake_fcm.targets()) == sorted(p.address for p in pushes)


def test_a_malformed_message_is_rejected_alone(fake_fcm, firebase_app):
    sender = FcmSender(firebase_app, fake_fcm.url)
    good = Push(1, 1, "fid-good", "android", "T", "B", {"session_id": "5"}, None, None)
    bad = Push(2, 2, "fid-bad", "android", "T", "B", {"session_id": 5}, None, None)

    results = sender.send([good, bad], NOW)

    assert results[0].outcome == SENT
    assert results[1].outcome == REJECTED
    assert results[1].error.startswith("INVALID_ARGUMENT: ")
    assert fake_fcm.targets() == ["fid-good"]


def test_without_an_access_token_the_batch_waits_for_a_retry(fake_fcm, tmp_path):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    account = fake_fcm.service_account()
    account["private_key"] = stranger.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    app = firebase_admin.initialize_app(credentials.Certificate(account), name="stranger")
    try:
        results = FcmSender(app, fake_fcm.url).send(
            [Push(1, 1, "fid-1", "android", "T", "B", {}, None, None)], NOW
        )
    finally:
        close_app(app)

    assert results[0].outcome == RETRY
    assert "invalid_grant" in results[0].error
    assert fake_fcm.attempts == {}


# --- choosing a sender -------------------------------------------------------------

def test_log_is_the_default_without_credentials():
    assert isinstance(senders.from_config({}), LogSender)
    with pytest.raises(RuntimeError, match="FIREBASE_CREDENTIALS"):
        senders.from_config({"PUSH_BACKEND": "fcm", "FIREBASE_APP_NAME": "nobody"})
    with pytest.raises(RuntimeError, match="'fcm' or 'log'"):
        senders.from_config({"PUSH_BACKEND": "pigeon"})


def test_credentials_alone_start_firebase_once_for_pushes_and_sign_in(fake_fcm, tmp_path):
    path = fake_fcm.write_service_account(tmp_path / "service-account.json")
    config = {"FIREBASE_CREDENTIALS": path, "FCM_ENDPOINT": fake_fcm.url}
    assert "companion" not in firebase_admin._apps
    sender = senders.from_config(config)
    try:
        assert isinstance(sender, FcmSender) and sender.app.name == "companion"
        results = sender.send([Push(1, 1, "fid-1", "web", "T", "B", {}, None, None)], NOW)
        # the ID-token check (POST /auth/firebase) uses the very same app
        assert firebase_app(config) is sender.app
        assert senders.from_config(config).app is sender.app
    finally:
        close_app(sender.app)

    assert results[0].outcome == SENT


# --- a process of its own -----------------------------------------------------------

@pytest.fixture
def process_config(fake_fcm, tmp_path):
    """What the worker reads to send to the fake from a process of its own."""
    return {"FIREBASE_CREDENTIALS": fake_fcm.write_service_account(tmp_path / "sa.json"),
            "FCM_ENDPOINT": fake_fcm.url, "PUSH_PROCESS": True}


def test_a_sender_process_sends_through_firebase_admin_from_its_own_process(
        fake_fcm, process_config, workers):
    fake_fcm.fail("fid-gone", "UNREGISTERED")
    fake_fcm.fail("fid-busy", "UNAVAILABLE")
    sender = senders.from_config(process_config)
    try:
        assert isinstance(sender, ProcessSender)
        child = sender.pid
        assert child != os.getpid() and workers.alive(child)
        results = sender.send([Push(n, n, fid, "android", "T", "B", {"n": str(n)}, None, None)
                               for n, fid in enumerate(["fid-1", "fid-gone", "fid-busy"])],
                              NOW)
    finally:
        sender.close()

    assert [r.outcome for r in results] == [SENT, GONE, RETRY]
    assert results[1].error.startswith("UNREGISTERED") and "UNAVAILABLE" in results[2].error
    assert [(r.target, r.message["data"]) for r in fake_fcm.received] == [("fid-1", {"n": "0"})]
    assert "companion" not in firebase_admin._apps  # the child's app, not ours
    assert workers.wait_for(lambda: not workers.alive(child), timeout=10)


def test_a_sender_process_that_dies_is_replaced_and_its_call_retried(
        fake_fcm, process_config, workers):
    sender = senders.from_config(process_config)
    push = Push(1, 1, "fid-1", "android", "T", "B", {}, None, None)
    try:
        first = sender.pid
        os.kill(first, signal.SIGKILL)
        assert workers.wait_for(lambda: not workers.alive(first), timeout=10)

        died = sender.send([push, push], NOW)
        again = sender.send([push], NOW)
        assert sender.pid != first
    finally:
        sender.close()

    assert [r.outcome for r in died] == [RETRY, RETRY]
    assert "sending process died" in died[0].error
    assert [r.outcome for r in again] == [SENT]
    assert fake_fcm.targets() == ["fid-1"]


def test_a_sender_process_that_cannot_be_replaced_says_so_and_still_closes(
        fake_fcm, process_config, workers):
    sender = senders.from_config(process_config)
    Path(process_config["FIREBASE_CREDENTIALS"]).unlink()  # the next child cannot sign in
    os.kill(sender.pid, signal.SIGKILL)
    assert workers.wait_for(lambda: not workers.alive(sender.pid), timeout=10)

    with pytest.raises(RuntimeError, match="sending process could not start"):
        sender.send([Push(1, 1, "fid-1", "android", "T", "B", {}, None, None)], NOW)
    sender.close()  # the worker's stop still goes through
    assert fake_fcm.targets() == []


def test_a_sender_process_ignores_the_stop_signals_its_worker_handles(fake_fcm, process_config):
    sender = senders.from_config(process_config)
    try:
        os.kill(sender.pid, signal.SIGTERM)
        os.kill(sender.pid, signal.SIGINT)
        results = sender.send([Push(1, 1, "fid-1", "android", "T", "B", {}, None, None)], NOW)
    finally:
        sender.close()
    assert [r.outcome for r in results] == [SENT]


def test_a_sender_process_that_cannot_start_says_so_at_once(fake_fcm, tmp_path):
    config = {"FIREBASE_CREDENTIALS": str(tmp_path / "missing.json"),
              "FCM_ENDPOINT": fake_fcm.url, "PUSH_PROCESS": True}
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="sending process could not start"):
        senders.from_config(config)
    assert time.monotonic() - started < 60


def test_fcm_error_codes_map_to_outcomes(fake_fcm, firebase_app):
    sender = FcmSender(firebase_app, fake_fcm.url)
    expected = {"UNREGISTERED": GONE, "SENDER_ID_MISMATCH": GONE,
                "INVALID_ARGUMENT": REJECTED, "UNAVAILABLE": RETRY, "INTERNAL": RETRY,
                "QUOTA_EXCEEDED": RETRY, "THIRD_PARTY_AUTH_ERROR": RETRY}
    for code in expected:
        fake_fcm.fail(f"fid-{code}", code)

    results = sender.send([Push(1, 1, f"fid-{code}", "android", "T", "B", {}, None, None)
                           for code in expected], NOW)

    assert [r.outcome for r in results] == list(expected.values())
    assert [r.error.split(":")[0] for r in results] == list(expected)
