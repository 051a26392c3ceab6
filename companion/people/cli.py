"""``flask --app wsgi attendees import FILE.csv --codes OUT.csv``."""

import csv
import os
from pathlib import Path

import click
from flask.cli import AppGroup
from ..extensions import db
from ..schedule.operations import find_event
from ..text import spreadsheet_cell
from . import importer

attendees = AppGroup("attendees", help="Attendees of an event.")


def append_codes(path: Path, codes: list[tuple[str, str]]) -> None:
    """Add the new codes to OUT.csv, readable by its owner only; earlier codes stay.
    A cell a spreadsheet would take for a formula (an email ``=1+2@x.org``) is quoted."""
    new_file = not path.exists() or path.stat().st_size == 0
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with open(descriptor, "a", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")  # `cut` would keep a \r
        if new_file:
            writer.writerow(["email", "access_code"])
        writer.writerows([spreadsheet_cell(cell) for cell in row] for row in codes)
        out.flush()
        os.fsync(out.fileno())


@attendees.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
@click.option("--codes", "codes_path", required=True,
              type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="CSV to which email,access_code of each new attendee is appended.")
@click.option("--event", "slug", default="alliance-2020", show_default=True,
              help="Slug of the event the attendees come to.")
@click.option("--skip-bad", is_flag=True,
              help="Import the good rows of a file that has bad ones.")
def import_command(file, codes_path, slug, skip_bad):
    """Create or update attendees from FILE (email,name,organisation,country,roles)."""
    event = find_event(slug)
    if event is None:
        raise click.BadParameter(f"no event {slug!r} (run `flask seed` first?)",
                                 param_hint="--event")
    rows, problems = importer.read_rows(file)
    for problem in problems:
        click.echo(f"{file.name}: {problem}", err=True)
    if problems and not skip_bad:
        raise click.ClickException(
            f"nothing imported: {len(problems)} bad row(s); fix them or use --skip-bad"
        )

    def progress(items):
        with click.progressbar(items, label="Importing attendees") as bar:
            yield from bar

    outcome = importer.import_rows(event, rows, progress=progress)
    if outcome.codes:  # written before the commit: a code is never lost once it works
        append_codes(codes_path, outcome.codes)
    db.session.commit()
    skipped = f", {len(problems)} bad row(s) skipped" if problems else ""
    click.echo(
        f"{slug}: {outcome.created} created, {outcome.updated} updated, "
        f"{outcome.unchanged} unchanged{skipped}; "
        f"{len(outcome.codes)} new code(s) in {codes_path}"
    )
