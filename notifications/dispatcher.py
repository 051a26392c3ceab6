"""The dispatcher: claims due messages, sends them, and records what happened.

`Dispatcher.run_once()` sends everything due at one moment and returns; tests drive it
directly. `Worker` repeats it until stopped (``flask notifications worker``).
"""

import logging
import threading
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from companion.extensions import db
from companion.timeutil import utcnow

from . import outbox
from .senders import GONE, REJECTED, RETRY, SENT, Push, Result, Sender

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff that honours Retry-After and gives up at the expiry.

    Pure: it only answers "when next", from the attempt count and the clock it is given.
    """

    first: float = 2.0  # seconds before the first retry
    factor: float = 2.0
    longest: float = 600.0

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        backoff = min(self.longest, self.first * self.factor ** max(0, attempts - 1))
        return max(backoff, retry_after or 0.0)

    def next_attempt(self, now: datetime, attempts: int, retry_after: float | None,
                     expires_at: datetime | None) -> datetime | None:
        """When to try again after ``attempts`` tries; None when that would be too late."""
        at = now + timedelta(seconds=self.delay(attempts, retry_after))
        if expires_at is not None and at >= expires_at:
            return None
        return at


@dataclass
class Tally:
    """What one run did, counted in messages (pushes: device messages accepted)."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    expired: int = 0
    pushes: int = 0
    devices_removed: int = 0

    def add(self, other: "Tally") -> None:
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))

    def __str__(self) -> str:
        return ", ".join(f"{getattr(self, f.name)} {f.name.replace('_', ' ')}"
                         for f in fields(self))


STATUS_COUNTERS = {"pending": "retrying", "sent": "sent", "failed": "failed",
                   "expired": "expired"}


class Dispatcher:
    def __init__(self, sender: Sender, policy: RetryPolicy = RetryPolicy(),
                 batch_size: int = 500, lease: timedelta = timedelta(minutes=2),
                 clock=utcnow):
        self.sender = sender
        self.policy = policy
        self.batch_size = batch_size
        self.lease = lease  # a worker that dies mid-batch frees its messages after this
        self.clock = clock

    def run_once(self, now: datetime | None = None, should_stop=lambda: False) -> Tally:
        """Send everything due at ``now`` (default: the clock, batch by batch)."""
        tally = Tally()
        while not should_stop():
            moment = now or self.clock()
            tally.expired += outbox.expire_overdue(moment)
            ids = outbox.claim(moment, self.batch_size, self.lease)
            if not ids:
                db.session.commit()
                break
            messages = outbox.load(ids)
            inbox = outbox.open_inbox(messages, moment)
            devices = outbox.devices_of(m.attendee_id for m in messages)
            db.session.commit()  # claimed: nothing is held while we talk to the network
            tally.add(self.deliver(messages, inbox, devices, now or self.clock()))
        return tally

    def deliver(self, messages, inbox: dict[int, int], devices: dict[int, list],
                now: datetime) -> Tally:
        """Send claimed messages to their attendees' devices and settle each one."""
        tally = Tally()
        changes, gone = [], set()
        pushes: list[Push] = []
        for message in messages:
            if message.expires_at is not None and message.expires_at <= now:
                continue  # became too late while claiming: settled as expired below
            data = {**message.data, "notification_id": str(inbox[message.id])}
            pushes.extend(
                Push(message.id, device.id, device.token, device.platform, message.title,
                     message.body, data, message.collapse_key, message.expires_at)
                for device in devices.get(message.attendee_id, [])
                if device.id not in message.delivered_to
            )
        results = self.sender.send(pushes, now) if pushes else []
        by_message: dict[int, list[tuple[Push, Result]]] = {}
        for push, result in zip(pushes, results):
            by_message.setdefault(push.outbox_id, []).append((push, result))
            if result.outcome == SENT:
                tally.pushes += 1
            elif result.outcome == GONE:
                gone.add(push.device_id)
        for message in messages:
            change = self.settle(message, by_message.get(message.id, []), now)
            counter = STATUS_COUNTERS[change["status"]]
            setattr(tally, counter, getattr(tally, counter) + 1)
            changes.append(change)
        outbox.settle(changes, gone)
        db.session.commit()
        tally.devices_removed = len(gone)
        return tally

    def settle(self, message, results: list[tuple[Push, Result]], now: datetime) -> dict:
        """The message's new state from its devices' results."""
        done = list(message.delivered_to) + [
            push.device_id for push, result in results if result.outcome in (SENT, REJECTED)
        ]
        errors = [result.error for _, result in results if result.outcome != SENT]
        change = {"id": message.id, "delivered_to": done, "locked_until": None,
                  "last_error": errors[-1] if errors else message.last_error}
        retry = [result for _, result in results if result.outcome == RETRY]
        if message.expires_at is not None and message.expires_at <= now:
            change["status"] = "expired"
        elif retry:
            wait = max(result.retry_after or 0.0 for result in retry)
            at = self.policy.next_attempt(now, message.attempts, wait, message.expires_at)
            if at is None:
                change["status"] = "expired"
            else:
                change.update(status="pending", next_attempt_at=at)
        elif results and all(result.outcome == REJECTED for _, result in results):
            change["status"] = "failed"
        else:
            change.update(status="sent", sent_at=now)
        return change


class Worker:
    """Runs the dispatcher until stopped; sleeps until the next message is due.

    It polls at least every ``poll`` seconds (messages written by other processes) and
    wakes at the due time of the earliest known message. `stop()` (wired to SIGTERM)
    lets the batch in flight finish, then returns.
    """

    def __init__(self, dispatcher: Dispatcher, poll: float = 1.0):
        self.dispatcher = dispatcher
        self.poll = poll
        self.stopping = threading.Event()

    def stop(self, *_signal) -> None:
        self.stopping.set()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                tally = self.dispatcher.run_once(should_stop=self.stopping.is_set)
                if tally != Tally():
                    log.info("dispatched: %s", tally)
                wait = self.pause()
            except Exception:  # the database or a bug: say so, keep serving
                log.exception("dispatch failed; trying again in %s s", self.poll)
                db.session.rollback()
                wait = self.poll
            self.stopping.wait(wait)

    def pause(self) -> float:
        due = outbox.next_due()
        db.session.commit()
        if due is None:
            return self.poll
        seconds = (due - self.dispatcher.clock()).total_seconds()
        return min(self.poll, max(0.01, seconds))
