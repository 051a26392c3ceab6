"""Commands an operator runs: ``flask --app wsgi seed`` and friends."""

from datetime import timedelta
from pathlib import Path

import click
from flask import current_app

from . import demo
from .extensions import db
from .keys import is_production
from .people import devices, importer
from .schedule import importing
from .schedule import operations as schedule_ops
from .timeutil import localise

# The rehearsal: the first panel starts this long after the seed, so its reminders
# (10 minutes ahead by default) fall due 2 to 3 minutes after the seed (it starts on the
# minute): four to five minutes after `make run` on a fresh clone, which installs first.
REHEARSAL_LEAD = timedelta(minutes=12)
# Also an organiser, so that the same sign-in opens the console (/console/).
DEMO_ATTENDEE = ("email,name,organisation,country,roles\n"
                 "demo@example.org,Demo Attendee,,,attendee;organiser\n")
DEMO_PHONE = "demo-phone-fid"


def add_demo_attendee(event) -> tuple[Path, str | None]:
    """The demo attendee with a phone (log backend: its pushes are the worker's output);
    the access code, new or not, is in instance/demo-codes.csv."""
    codes = demo.import_demo(event, DEMO_ATTENDEE)
    attendee = importer.find_attendee(event, "demo@example.org")
    devices.register_device(attendee, DEMO_PHONE, "android")
    return demo.codes_path(), codes[0][1] if codes else None


@click.command("seed")
@click.option("--shift-to", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Move the event to start on this day, same local times (YYYY-MM-DD).")
@click.option("--rehearsal", is_flag=True,
              help="Move the event so that its first panel starts in 12 minutes, and add a "
                   "demo attendee with a phone (a reminder leaves the worker in 2 to 3), "
                   "a demo speaker and moderator of Panel 1 and two listed attendees.")
def seed_command(shift_to, rehearsal):
    """Load the 20th Alliance conference (alliance-2020) when it is missing; otherwise
    change nothing released, but for a move asked for, which is a release."""
    if rehearsal and shift_to:
        raise click.UsageError("--rehearsal and --shift-to move the event both: pick one")
    if rehearsal and is_production(current_app.config):
        raise click.UsageError("--rehearsal moves the event and adds a demo attendee: "
                               "not in production (COMPANION_ENV=production)")
    seeded = importing.seed_conference(
        shift_to=shift_to.date() if shift_to else None,
        rehearsal_lead=REHEARSAL_LEAD if rehearsal else None)
    event = seeded.event
    if rehearsal:
        path, code = add_demo_attendee(event)
        panel_news = demo.add_demo_people(
            event, organiser=importer.find_attendee(event, "demo@example.org"))
    db.session.commit()
    if seeded.created:
        click.echo(f"{event.slug}: created, version {seeded.version.number} "
                   f"({len(event.sessions)} sessions)")
    elif seeded.version is not None:
        click.echo(f"{event.slug}: moved to {event.starts_on.isoformat()}, "
                   f"version {seeded.version.number} ({seeded.version.notified} notified)")
    else:
        click.echo(f"{event.slug}: already there; nothing released changed")
    if rehearsal:
        panel = db.session.scalars(schedule_ops.sessions_query(event, kind="panel")).first()
        starts = localise(panel.starts_at, event.timezone)
        click.echo(f"rehearsal: {panel.title!r} starts at {starts:%H:%M} ({event.timezone}); "
                   f"the demo attendee's reminder leaves the worker about 10 minutes before")
        click.echo(f"demo attendee: demo@example.org, access code in {path}"
                   + (f" ({code})" if code else "")
                   + "; also an organiser: sign in to the console at /console/")
        click.echo(f"Panel 1's demo speaker {demo.SPEAKER} and moderator {demo.MODERATOR}: "
                   f"{panel_news}; in the directory: {', '.join(demo.LISTED)} "
                   f"(their codes in the same file)")


def init_app(app):
    app.cli.add_command(seed_command)
