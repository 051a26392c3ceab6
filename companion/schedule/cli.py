"""``flask --app wsgi events import SOURCE --event SLUG`` and ``events sync``."""

import logging
import time
from pathlib import Path

import click
from flask.cli import AppGroup

from ..extensions import db
from .importing import Imported, import_programme
from .programme import SourceError
from .sources import parse
from .sync import read_source, remember, sync_event, synced_events

events = AppGroup("events", help="Events and their programmes.")
log = logging.getLogger(__name__)


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def summary(slug: str, outcome: Imported) -> str:
    """One line of what an import did."""
    if outcome.version is not None:
        what = "created" if outcome.created else "released"
        return (f"{slug}: {what} version {outcome.version.number} "
                f"({len(outcome.changes)} changes, {outcome.version.notified} notified)")
    if outcome.changes:
        return (f"{slug}: {len(outcome.changes)} changes wait in the draft "
                f"(GET /api/v1/events/{slug}/schedule/draft, or the console's Release page)")
    return f"{slug}: no difference with the released agenda; nothing released"


def echo_warnings(outcome: Imported) -> None:
    for warning in outcome.warnings:
        click.echo(f"warning: {warning}", err=True)


@events.command("import")
@click.argument("source")
@click.option("--event", "slug", required=True, help="Slug of the event (new or existing).")
@click.option("--timezone", "timezone_name", default=None,
              help="Time zone of the event (e.g. Europe/Vienna), when the file names none.")
@click.option("--publish", is_flag=True,
              help="Release the changes at once (and, for a URL, every change sync finds).")
def import_command(source, slug, timezone_name, publish):
    """Import a programme from SOURCE: a file or an http(s) URL holding frab schedule XML,
    c3voc schedule.json (what pretalx serves) or our conference JSON."""
    try:
        if is_url(source):
            read = read_source(source, slug, timezone_name=timezone_name, publish=publish)
            outcome = read.imported
            remember(outcome.event, source, read, publish)
        else:
            try:
                content = Path(source).read_bytes()
            except OSError as error:
                raise SourceError(error.strerror or str(error)) from None
            outcome = import_programme(parse(content, timezone_name), slug,
                                       timezone_name=timezone_name, publish=publish)
    except SourceError as error:
        db.session.rollback()
        raise click.ClickException(f"{source}: {error}; nothing changed") from None
    db.session.commit()
    echo_warnings(outcome)
    click.echo(summary(slug, outcome))


@events.command("sync")
@click.option("--once", is_flag=True, help="Read each source once, then exit.")
@click.option("--every", type=click.IntRange(10, 86400), default=300, show_default=True,
              help="Seconds between two reads of the sources.")
def sync_command(once, every):
    """Read again the source URL of each event imported from one, and bring a changed
    programme in as `events import` would."""
    while True:
        for event in synced_events():
            slug = event.slug
            try:
                read = sync_event(event)
            except SourceError as error:  # logged; the next round tries again
                db.session.rollback()
                log.warning("events sync: %s: %s; nothing changed", slug, error)
                click.echo(f"{slug}: {error}; nothing changed, tried again next time", err=True)
                continue
            db.session.commit()
            if read.imported is None:
                click.echo(f"{slug}: not modified")
            else:
                echo_warnings(read.imported)
                click.echo(summary(slug, read.imported))
        if once:
            return
        time.sleep(every)


def init_app(app):
    app.cli.add_command(events)
