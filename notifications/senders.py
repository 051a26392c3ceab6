"""Senders: where a push goes. ``fcm`` through firebase-admin, ``log`` as JSON lines.

A sender takes a list of pushes (one message to one device each) and returns one
`Result` per push, in order. It never raises for a push that failed: the dispatcher
decides from the result what happens next.
"""

import logging
import multiprocessing
import os
import signal
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from functools import partial
from typing import Protocol

import firebase_admin
import requests
from firebase_admin import exceptions, messaging
from urllib3.util.retry import Retry

from companion import logs
from companion.adapters.firebase import (  # noqa: F401 (messaging_service: tests)
    PINNED_SDK, close_messaging, messaging_service, send_to)
from companion.firebase import firebase_app

log = logging.getLogger(__name__)
PUSH_LOGGER = "notifications.push"  # the `logger` of the log backend's lines

SENT = "sent"          # accepted by the push service
GONE = "gone"          # the device is no longer there: forget it
REJECTED = "rejected"  # the message itself is wrong: retrying cannot help
RETRY = "retry"        # a passing failure: try again later


@dataclass(frozen=True)
class Push:
    outbox_id: int
    device_id: int
    address: str  # what the device registered: its Firebase installation ID (FID)
    platform: str
    title: str
    body: str
    data: dict
    collapse_key: str | None
    expires_at: datetime | None
    priority: str = "high"  # normal, high, urgent (kinds.PRIORITIES)


@dataclass(frozen=True)
class Result:
    outcome: str
    error: str | None = None
    retry_after: float | None = None  # seconds the service asked us to wait


class Sender(Protocol):
    batch_size: int

    def send(self, pushes: list[Push], now: datetime) -> list[Result]: ...

    def close(self) -> None: ...


class LogSender:
    """The default without credentials: one JSON line per push on standard output (the
    worker's log stays on standard error), written by the formatter of every log line
    (companion.logs): ``time``, ``level``, ``logger`` (`PUSH_LOGGER`), ``message`` and
    the push's fields."""

    batch_size = 500

    def __init__(self, stream=None):
        self.stream = stream
        self.formatter = logs.formatter()

    def send(self, pushes: list[Push], now: datetime) -> list[Result]:
        out = self.stream or sys.stdout
        for push in pushes:
            record = logging.makeLogRecord({
                "name": PUSH_LOGGER, "levelno": logging.INFO, "levelname": "INFO",
                "msg": "push", "outbox_id": push.outbox_id, "device_id": push.device_id,
                "platform": push.platform, "title": push.title, "body": push.body,
                "data": push.data, "collapse_key": push.collapse_key,
                "expires_at": push.expires_at.isoformat() if push.expires_at else None,
                "priority": push.priority,
            })
            print(self.formatter.format(record), file=out)
        out.flush()
        return [Result(SENT) for _ in pushes]

    def close(self) -> None:
        pass


# --- Firebase Cloud Messaging ---------------------------------------------------

GOOGLE_ENDPOINT = "https://fcm.googleapis.com"
SEND_PATH = "/v1/projects/{project}/messages:send"
CONNECTIONS = 500  # keep-alive connections per endpoint: one per thread of send_each

# send_each retries 500 and 503 up to four times with backoff, and urllib3 sleeps for
# any Retry-After: a batch could stall for seconds or minutes. We retry ourselves,
# per message and after the batch, so the SDK may only retry a connection that failed
# to open (nothing was sent yet).
NO_SDK_RETRIES = Retry(
    total=1, connect=1, read=0, redirect=0, status=0, other=0,
    respect_retry_after_header=False, raise_on_status=False, allowed_methods=None,
)

GONE_CODES = {"UNREGISTERED", "SENDER_ID_MISMATCH"}
REJECTED_CODES = {"INVALID_ARGUMENT"}


def point_at(app: firebase_admin.App, endpoint: str | None) -> str:
    """Make the SDK send to ``endpoint`` (default Google's) without retrying inside.

    firebase-admin has no option for the FCM URL (companion/adapters/firebase.py).
    """
    base = (endpoint or GOOGLE_ENDPOINT).rstrip("/")
    return send_to(app, base, SEND_PATH, lambda: requests.adapters.HTTPAdapter(
        pool_connections=1, pool_maxsize=CONNECTIONS, max_retries=NO_SDK_RETRIES
    ))


def close_app(app: firebase_admin.App) -> None:
    """Close the messaging HTTP connections and delete the app."""
    close_messaging(app)
    firebase_admin.delete_app(app)


def fcm_message(push: Push, now: datetime) -> messaging.Message:
    """The FCM message for one device: visible, as urgent as its kind, gone once too late.

    Android: ``priority`` high or normal, ``ttl`` running out at ``expires_at``, the
    collapse key of its kind; APNs: the same as ``apns-priority`` (10 or 5),
    ``apns-expiration`` and ``apns-collapse-id``, and an ``urgent`` push is
    ``time-sensitive`` (it breaks through Focus).
    """
    ttl = None
    high = push.priority in ("high", "urgent")
    headers = {"apns-priority": "10" if high else "5"}
    if push.expires_at is not None:
        ttl = timedelta(seconds=max(1, int((push.expires_at - now).total_seconds())))
        headers["apns-expiration"] = str(int(push.expires_at.timestamp()))
    if push.collapse_key:
        headers["apns-collapse-id"] = push.collapse_key
    aps = None
    if push.priority == "urgent":
        aps = messaging.APNSPayload(
            aps=messaging.Aps(custom_data={"interruption-level": "time-sensitive"})
        )
    return messaging.Message(
        fid=push.address,
        notification=messaging.Notification(title=push.title, body=push.body),
        data=push.data,
        android=messaging.AndroidConfig(
            priority="high" if high else "normal", ttl=ttl, collapse_key=push.collapse_key,
            notification=messaging.AndroidNotification(tag=push.collapse_key),
        ),
        apns=messaging.APNSConfig(headers=headers, payload=aps),
    )


def error_code(error: exceptions.FirebaseError) -> str:
    """FCM's own code (UNREGISTERED, QUOTA_EXCEEDED, ...) or else the platform code."""
    response = error.http_response
    if response is not None:
        try:
            details = response.json()["error"].get("details", [])
        except (ValueError, KeyError, TypeError, AttributeError):
            details = []
        for detail in details:
            if detail.get("@type", "").endswith("google.firebase.fcm.v1.FcmError"):
                return detail.get("errorCode") or error.code
    return error.code


def retry_after(error: exceptions.FirebaseError) -> float | None:
    """The Retry-After of a failed response, in seconds (a number or an HTTP date)."""
    response = error.http_response
    value = response.headers.get("Retry-After") if response is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def result_of(error: exceptions.FirebaseError) -> Result:
    code = error_code(error)
    reason = f"{code}: {error}"
    if code in GONE_CODES:
        return Result(GONE, reason)
    if code in REJECTED_CODES:
        return Result(REJECTED, reason)
    return Result(RETRY, reason, retry_after(error))


class FcmSender:
    """Sends through firebase-admin's ``messaging.send_each``, at most 500 at a time.

    Devices register their Firebase installation ID (FID): firebase-admin 7.7 deprecates
    ``Message.token`` (the legacy registration token) for ``Message.fid``.
    """

    batch_size = 500

    def __init__(self, app: firebase_admin.App, endpoint: str | None = None):
        self.app = app
        self.url = point_at(app, endpoint)

    @classmethod
    def from_config(cls, config) -> "FcmSender":
        """Send with the process's Firebase app (companion.firebase), made once."""
        app = firebase_app(config)
        if app is None:
            raise RuntimeError("PUSH_BACKEND=fcm needs FIREBASE_CREDENTIALS "
                               "(the path of a service-account JSON file)")
        return cls(app, config.get("FCM_ENDPOINT"))

    def send(self, pushes: list[Push], now: datetime) -> list[Result]:
        results: list[Result] = []
        for start in range(0, len(pushes), self.batch_size):
            results.extend(self._send_batch(pushes[start:start + self.batch_size], now))
        return results

    def _send_batch(self, pushes: list[Push], now: datetime) -> list[Result]:
        messages = [fcm_message(push, now) for push in pushes]
        try:
            return self._send_each(messages)
        except ValueError:
            pass
        # The SDK encodes the whole list before sending: one malformed message stops
        # them all. Reject the malformed ones and send the others.
        results: list[Result | None] = [None] * len(messages)
        valid = []
        for position, message in enumerate(messages):
            try:
                str(message)  # encodes with the SDK's own checks
                valid.append(position)
            except ValueError as error:
                results[position] = Result(REJECTED, f"INVALID_ARGUMENT: {error}")
        if valid:
            for position, result in zip(valid, self._send_each([messages[p] for p in valid])):
                results[position] = result
        return results

    def _send_each(self, messages: list[messaging.Message]) -> list[Result]:
        try:
            batch = messaging.send_each(messages, app=self.app)
        except exceptions.FirebaseError as error:  # the batch as a whole, e.g. no token
            return [Result(RETRY, f"{error.code}: {error}")] * len(messages)
        return [
            Result(SENT) if response.success else result_of(response.exception)
            for response in batch.responses
        ]

    def close(self) -> None:
        """Nothing to do: the Firebase app and its connections belong to the process
        (companion.firebase), which also checks ID tokens with it."""


# --- a process of its own ------------------------------------------------------------

class ProcessSender:
    """Runs another sender in a child process, with a GIL of its own.

    ``send_each`` keeps the GIL busy with its 500 threads building and posting requests.
    In the dispatcher's process they slowed the claiming and settling of the batches
    around them, and those slowed the sending (bench/README.md, "a sender of its own").
    Here the dispatcher only hands the pushes over and takes the results back, both
    pickled, while the child sends.

    The child is spawned (never forked from a process holding database connections and
    threads) and made ready before the first push: imports, credentials and a bad
    configuration show at start, not at the first due message. It ignores SIGINT and
    SIGTERM, so the worker can finish the batch in flight on a stop. It exits when the
    worker closes this sender, and at once when the worker dies. A child that
    dies during a call is replaced; that call's pushes are answered RETRY, as the network
    failing would be: some may have gone out, and a retry sends them again.
    """

    def __init__(self, make, batch_size: int = 500):
        """``make``: a picklable callable that builds the sender in the child."""
        self.make = make
        self.batch_size = batch_size
        self.pool, self.pid = self.start()

    def start(self) -> tuple[ProcessPoolExecutor, int]:
        """A new child, ready to send, and its process id."""
        pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=open_child, initargs=(self.make,))
        try:
            return pool, pool.submit(child_ready).result()
        except BrokenProcessPool:
            pool.shutdown()
            raise RuntimeError("the sending process could not start: its sender failed "
                               "(its error is above)") from None

    def send(self, pushes: list[Push], now: datetime) -> list[Result]:
        try:
            return self.pool.submit(child_send, pushes, now).result()
        except BrokenProcessPool:
            log.error("the sending process died with %s pushes in hand; starting another",
                      len(pushes))
            self.pool.shutdown(wait=False)
            self.pool, self.pid = self.start()
            return [Result(RETRY, "the sending process died during the call")
                    for _ in pushes]

    def close(self) -> None:
        try:
            self.pool.submit(child_close).result()
        except BrokenProcessPool:
            pass  # it died: nothing of it to close
        self.pool.shutdown()


_child_sender: Sender | None = None  # in the child: the sender ProcessSender runs


def open_child(make) -> None:
    global _child_sender
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(target=exit_with_parent, name="parent-watch", daemon=True).start()
    _child_sender = make()


def exit_with_parent() -> None:
    """A worker killed outright cannot close its sender: the child goes too, at once,
    as the worker's own sending threads would have (the call in hand is resent)."""
    multiprocessing.parent_process().join()
    os._exit(1)


def child_ready() -> int:
    return os.getpid()


def child_send(pushes: list[Push], now: datetime) -> list[Result]:
    return _child_sender.send(pushes, now)


def child_close() -> None:
    _child_sender.close()


# --- choosing ---------------------------------------------------------------------------

# What FcmSender.from_config reads: all a child process needs to make the same sender.
SENDER_SETTINGS = ("FIREBASE_CREDENTIALS", "FIREBASE_APP_NAME", "FCM_ENDPOINT")


def from_config(config) -> Sender:
    """The sender the configuration asks for: ``PUSH_BACKEND``, else fcm with credentials;
    fcm in a process of its own when ``PUSH_PROCESS`` and the credentials are a file
    (which the child reads)."""
    backend = config.get("PUSH_BACKEND") or (
        "fcm" if config.get("FIREBASE_CREDENTIALS") else "log"
    )
    if backend == "log":
        return LogSender()
    if backend == "fcm":
        if config.get("PUSH_PROCESS") and config.get("FIREBASE_CREDENTIALS"):
            settings = {name: config.get(name) for name in SENDER_SETTINGS}
            return ProcessSender(partial(FcmSender.from_config, settings))
        return FcmSender.from_config(config)
    raise RuntimeError(f"PUSH_BACKEND must be 'fcm' or 'log', not {backend!r}")
