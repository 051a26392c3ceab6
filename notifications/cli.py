"""``flask notifications ...``: the worker, one-off dispatch, and reminder planning."""

import logging
import signal
from datetime import datetime, timedelta, timezone

import click
from flask import current_app

from companion.extensions import db
from companion.schedule.operations import find_event

from . import outbox, reminders, senders
from .dispatcher import Dispatcher, Worker

log = logging.getLogger("notifications.worker")


class AwareDateTime(click.ParamType):
    """An ISO 8601 instant with an offset (``2020-03-30T14:20:00Z``); naive is refused."""

    name = "ISO8601"

    def convert(self, value, param, ctx):
        if isinstance(value, datetime):
            moment = value
        else:
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                self.fail(f"{value!r} is not an ISO 8601 date and time", param, ctx)
        if moment.tzinfo is None or moment.utcoffset() is None:
            self.fail(f"{value!r} has no offset; write e.g. {value}Z or {value}+02:00",
                      param, ctx)
        return moment.astimezone(timezone.utc)


def make_dispatcher() -> Dispatcher:
    lease = timedelta(seconds=current_app.config["PUSH_LEASE_SECONDS"])
    return Dispatcher(senders.from_config(current_app.config), lease=lease)


@click.group("notifications")
def notifications_group():
    """Push notifications: the dispatcher and reminder planning."""


def default_poll() -> float:
    """PostgreSQL wakes the worker as soon as messages are committed (outbox.Listener):
    its poll is a fallback. SQLite cannot: it looks more often (an idle look is a few
    milliseconds of CPU), so that what is sent now leaves well within a second."""
    return 1.0 if db.engine.dialect.name == "postgresql" else 0.25


@notifications_group.command("worker")
@click.option("--poll", default=None, type=click.FloatRange(min=0.05),
              help="Seconds between looks at the outbox when nothing is due sooner "
                   "[default: 1.0 on PostgreSQL, which also wakes the worker when messages "
                   "are committed; 0.25 on SQLite].")
def worker_command(poll):
    """Send what is due, forever; SIGTERM stops after the batch in flight.

    It logs JSON lines on standard error (companion/logs.py, set up by create_app).
    """
    poll = default_poll() if poll is None else poll
    dispatcher = make_dispatcher()
    worker = Worker(dispatcher, poll=poll)
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    sender = type(dispatcher.sender).__name__
    log.info("notifications worker: sending through %s", sender,
             extra={"sender": sender, "poll": poll})
    try:
        worker.run()
    finally:
        dispatcher.sender.close()
    log.info("notifications worker: stopped")


@notifications_group.command("dispatch")
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
@click.option("--now", type=AwareDateTime(), default=None,
              help="Take this instant as now (ISO 8601 with an offset).")
def dispatch_command(once, now):
    """Send everything due at one moment, then exit.

    With --now, messages that expired unsent by the clock but are in time at that moment
    are sent too (a rehearsal of a past or future day, beside a worker on today's clock).
    """
    if not once:
        raise click.UsageError("dispatch runs once: pass --once "
                               "(`flask notifications worker` runs forever)")
    dispatcher = make_dispatcher()
    try:
        if now is not None:  # committed with the first claim: no worker expires them between
            outbox.revive(now)
        tally = dispatcher.run_once(now=now)
    finally:
        dispatcher.sender.close()
    click.echo(f"dispatched: {tally}")


@notifications_group.command("plan")
@click.option("--event", "slug", default="alliance-2020", show_default=True,
              help="Slug of the event whose reminders to plan.")
def plan_command(slug):
    """Plan every attendee's session reminders from their schedule (safe to repeat)."""
    event = find_event(slug)
    if event is None:
        raise click.BadParameter(f"no event {slug!r}", param_hint="--event")
    planned = reminders.sync_event(event)
    db.session.commit()
    click.echo(f"{slug}: {planned.wanted} reminders planned, {planned.cancelled} cancelled")


def init_app(app):
    app.cli.add_command(notifications_group)
