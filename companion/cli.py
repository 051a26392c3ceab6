"""Commands an operator runs: ``flask --app wsgi seed`` and friends."""

from datetime import date

import click

from .extensions import db
from .signals import sessions_changed
from .schedule import operations as schedule_ops


@click.command("seed")
@click.option("--shift-to", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Move the event to start on this day, same local times (YYYY-MM-DD).")
def seed_command(shift_to):
    """Load the 20th Alliance conference (alliance-2020); safe to run again."""
    day: date | None = shift_to.date() if shift_to else None
    data = schedule_ops.conference_data()
    counts = schedule_ops.seed_conference(data, shift_to=day)
    reactions = []
    if counts["created"] or counts["updated"]:  # reminders follow, in this transaction
        event = schedule_ops.get_event(data["event"]["slug"])
        reactions = sessions_changed.send(event, sessions=None)
    db.session.commit()
    click.echo(
        f"alliance-2020: {counts['created']} created, {counts['updated']} updated"
        + (f", starting {day.isoformat()}" if day else "")
        + "".join(f"; {outcome}" for _, outcome in reactions if outcome is not None)
    )


def init_app(app):
    app.cli.add_command(seed_command)
