"""The dispatcher: claims due messages, sends them, and records what happened.

`Dispatcher.run_once()` sends everything due at one moment and returns; tests drive it
directly. `Worker` repeats it until stopped (``flask notifications worker``).
"""

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from time import monotonic

from flask import current_app

from companion.extensions import db
from companion.timeutil import utcnow

from . import kinds, notify, outbox, releases
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
# A message that every device took at the first go: written with the others like it.
SENT_CLEANLY = {"status": "sent"}


def texts_for(message, language: str | None) -> tuple[str, str]:
    """Title and body for a phone: in its own language when it has one and we can."""
    if language and message.text_values and message.kind in kinds.KINDS:
        texts = kinds.render(message.kind, language, message.text_values)
        return texts.title, texts.body
    return message.title, message.body


@dataclass
class Batch:
    """Claimed messages, and the pushes to their attendees' devices."""

    messages: list
    pushes: list[Push]


class Dispatcher:
    """Claims due messages in batches and sends them, one batch ahead.

    While a batch is on the network (in a helper thread), the next one is claimed and
    read from the database, so that database work does not add to the sending time;
    each batch's outcome is committed before the next one goes out. A run's first batch
    is small (``first_batch``): its first push leaves without waiting for a whole
    batch to be claimed and built, and the full one is claimed while it is out.
    """

    def __init__(self, sender: Sender, policy: RetryPolicy = RetryPolicy(),
                 batch_size: int = 500, lease: timedelta = timedelta(seconds=10),
                 clock=utcnow, first_batch: int = 50):
        self.sender = sender
        self.policy = policy
        self.batch_size = batch_size
        self.first_batch = min(first_batch, batch_size)
        # A worker that dies frees its messages after this; alive, its heartbeat renews it.
        self.lease = lease
        self.clock = clock

    def run_once(self, now: datetime | None = None, should_stop=lambda: False) -> Tally:
        """Send everything due at ``now`` (default: the clock, batch by batch).

        What a batch's send call did is recorded (committed) as soon as it returns, before
        the next call goes out: a crash resends at most the one call in flight. The next
        batch is claimed while this one is on the network; a heartbeat keeps the lease of
        everything claimed and not yet recorded, so a dead worker's claim lapses soon.
        """
        tally = Tally()
        heartbeat = Heartbeat(self, now)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="push-send") as network:
            heartbeat.start()
            try:
                batch = None if should_stop() else self.claim(now, tally, heartbeat,
                                                              self.first_batch)
                while batch is not None:
                    in_flight = network.submit(self.send, batch, now)
                    upcoming = None if should_stop() else self.claim(now, tally, heartbeat)
                    moment, results = in_flight.result()
                    tally.add(self.settle_batch(batch, results, moment))
                    heartbeat.release(message.id for message in batch.messages)
                    batch = upcoming
            finally:
                heartbeat.stop()
        return tally

    def claim(self, now: datetime | None, tally: Tally, heartbeat: "Heartbeat | None" = None,
              size: int | None = None) -> Batch | None:
        """Claim the next due messages (``size``, else a batch) and commit; None when
        nothing is due."""
        moment = now or self.clock()
        releases.replan_waiting()  # what releases left to the worker, first
        notify.expand()
        tally.expired += outbox.expire_overdue(moment)
        ids = outbox.claim(moment, size or self.batch_size, self.lease)
        if not ids:
            db.session.commit()
            return None
        if heartbeat is not None:
            heartbeat.hold(ids)
        claimed = outbox.load(ids)
        inbox = outbox.open_inbox(ids, moment)
        db.session.commit()  # claimed: nothing is held while we talk to the network
        pushes = []
        for entry in claimed:
            message = entry.message
            data = {**message.data, "notification_id": str(inbox[message.id])}
            pushes.extend(
                Push(message.id, device.device_id, device.token, device.platform,
                     *texts_for(message, device.language), data, message.collapse_key,
                     message.expires_at, message.priority)
                for device in entry.devices if device.device_id not in message.delivered_to
            )
        return Batch([c.message for c in claimed], pushes)

    def send(self, batch: Batch, now: datetime | None):
        """Send the pushes that are not too late (no database here: another thread)."""
        moment = now or self.clock()
        live = [p for p in batch.pushes if p.expires_at is None or p.expires_at > moment]
        results = self.sender.send(live, moment) if live else []
        return moment, list(zip(live, results))

    def settle_batch(self, batch: Batch, results: list[tuple[Push, Result]],
                     now: datetime) -> Tally:
        """Record each message's new state, and forget the devices FCM does not know."""
        tally = Tally()
        by_message: dict[int, list[tuple[Push, Result]]] = {}
        gone = set()
        for push, result in results:
            by_message.setdefault(push.outbox_id, []).append((push, result))
            if result.outcome == SENT:
                tally.pushes += 1
            elif result.outcome == GONE:
                gone.add(push.device_id)
        sent, changes = [], []
        for message in batch.messages:
            change = self.settle(message, by_message.get(message.id, []), now)
            counter = STATUS_COUNTERS[change["status"]]
            setattr(tally, counter, getattr(tally, counter) + 1)
            if change is SENT_CLEANLY:
                sent.append(message.id)
            else:
                changes.append(change)
        outbox.settle(sent, changes, gone, now)
        db.session.commit()
        tally.devices_removed = len(gone)
        return tally

    def settle(self, message, results: list[tuple[Push, Result]], now: datetime) -> dict:
        """The message's new state from its devices' results.

        `SENT_CLEANLY` when every device took it at the first go; otherwise all the
        columns to write, every time.
        """
        in_time = message.expires_at is None or message.expires_at > now
        first_go = not message.delivered_to and message.last_error is None
        if in_time and first_go and all(result.outcome == SENT for _, result in results):
            return SENT_CLEANLY
        done = list(message.delivered_to) + [
            push.device_id for push, result in results if result.outcome in (SENT, REJECTED)
        ]
        errors = [result.error for _, result in results if result.outcome != SENT]
        pruned = sum(1 for _, result in results if result.outcome == GONE)
        change = {"message_id": message.id, "status": "sent", "delivered_to": done,
                  "pruned": pruned,
                  "next_attempt_at": message.next_attempt_at, "locked_until": None,
                  "sent_at": None, "last_error": errors[-1] if errors else message.last_error}
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
            change["sent_at"] = now
        return change


class Heartbeat:
    """Renews the lease of the messages a dispatcher holds.

    A thread with its own app context (its own database session). A worker that dies
    stops beating, and its claim lapses within one lease; one that lives keeps its
    claim however long FCM takes. It looks every sixth of the lease and renews what was
    claimed or renewed a third of a lease ago or more, so each lease is renewed by half
    its time, and two failed beats in a row still leave it time. Batches that go out
    sooner need no write, and their settling never waits on a renewal's locks.
    """

    def __init__(self, dispatcher: Dispatcher, now: datetime | None = None):
        self.dispatcher = dispatcher
        self.now = now
        self.app = current_app._get_current_object()
        self.held: dict[int, float] = {}  # message id -> when its lease was last set
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name="push-heartbeat", daemon=True)

    def hold(self, ids) -> None:
        since = monotonic()
        with self.lock:
            self.held.update(dict.fromkeys(ids, since))

    def release(self, ids) -> None:
        with self.lock:
            for message_id in ids:
                self.held.pop(message_id, None)

    def due(self, at: float) -> list[int]:
        """The held messages whose lease was set a third of a lease before ``at``
        (``time.monotonic()``) or earlier."""
        age = self.dispatcher.lease.total_seconds() / 3
        with self.lock:
            return sorted(i for i, since in self.held.items() if at - since >= age)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()

    def run(self) -> None:
        while not self.stopping.wait(self.dispatcher.lease.total_seconds() / 6):
            beat = monotonic()
            ids = self.due(beat)
            if not ids:
                continue
            with self.app.app_context():
                try:
                    until = (self.now or self.dispatcher.clock()) + self.dispatcher.lease
                    outbox.renew(ids, until)
                    db.session.commit()
                except Exception:  # the next beat tries again; the lease has slack
                    log.exception("could not renew the lease of %s messages", len(ids))
                    db.session.rollback()
                    continue
            with self.lock:
                for message_id in ids:
                    if message_id in self.held:
                        self.held[message_id] = beat


class Worker:
    """Runs the dispatcher until stopped; sleeps until the next message is due.

    It polls at least every ``poll`` seconds (messages written by other processes) and
    wakes at the due time of the earliest known message. On PostgreSQL it also wakes as
    soon as a transaction that wrote messages commits (``LISTEN``, outbox.Listener); the
    poll is then the fallback. `stop()` (wired to SIGTERM) lets the batch in flight
    finish, then returns.
    """

    def __init__(self, dispatcher: Dispatcher, poll: float = 1.0):
        self.dispatcher = dispatcher
        self.poll = poll
        self.stopping = threading.Event()
        self.listener: outbox.Listener | None = None

    def stop(self, *_signal) -> None:
        self.stopping.set()

    def run(self) -> None:
        self.listen()  # before the first look: nothing committed after it is missed
        try:
            while not self.stopping.is_set():
                try:
                    tally = self.dispatcher.run_once(should_stop=self.stopping.is_set)
                    if tally != Tally():
                        log.info("dispatched: %s", tally, extra={"dispatched": asdict(tally)})
                    wait = self.pause()
                except Exception:  # the database or a bug: say so, keep serving
                    log.exception("dispatch failed; trying again in %s s", self.poll)
                    db.session.rollback()
                    wait = self.poll
                self.sleep(wait)
        finally:
            if self.listener is not None:
                self.listener.close()

    def listen(self) -> None:
        """Open the listener if there is none (PostgreSQL); if that fails, poll."""
        if self.listener is None:
            try:
                self.listener = outbox.Listener.open()
            except Exception:
                log.exception("could not listen for new messages; polling every %s s",
                              self.poll)

    def sleep(self, seconds: float) -> None:
        """``seconds``, or less: until a writer's commit is heard (PostgreSQL) or stop."""
        log.debug("idle for up to %.2f s", seconds)
        self.listen()
        if self.listener is None:
            self.stopping.wait(seconds)
            return
        try:
            self.listener.wait(seconds, self.stopping)
        except Exception:  # the connection broke: a new one next time, poll meanwhile
            log.exception("listening for new messages failed; polling until it is back")
            self.listener.close()
            self.listener = None
            self.stopping.wait(seconds)

    def pause(self) -> float:
        due = outbox.next_due()
        db.session.commit()
        if due is None:
            return self.poll
        seconds = (due - self.dispatcher.clock()).total_seconds()
        return min(self.poll, max(0.01, seconds))
