"""Commands an operator runs: ``flask --app wsgi seed`` and friends."""

from datetime import date

import click

from notifications import reminders

from .extensions import db
from .schedule import operations as schedule_ops


@click.command("seed")
@click.option("--shift-to", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Move the event to start on this day, same local times (YYYY-MM-DD).")
def seed_command(shift_to):
    """Load the 20th Alliance conference (alliance-2020); safe to run again."""
    day: date | None = shift_to.date() if shift_to else None
    data = schedule_ops.conference_data()
    counts = schedule_ops.seed_conference(data, shift_to=day)
    changed = counts["created"] or counts["updated"]
    if changed:  # sessions moved: their reminders move with them, in this transaction
        planned = reminders.sync_event(schedule_ops.get_event(data["event"]["slug"]))
    db.session.commit()
    click.echo(
        f"alliance-2020: {counts['created']} created, {counts['updated']} updated"
        + (f", starting {day.isoformat()}" if day else "")
        + (f"; {planned.wanted} reminders planned, {planned.cancelled} cancelled"
           if changed else "")
    )


def init_app(app):
    app.cli.add_command(seed_command)
