"""The rehearsal's cast (``seed --rehearsal``, what ``make run`` does), beside the demo
attendee: a speaker and a moderator of Panel 1 and two attendees listed in the directory,
so that every role can be tried at once (pinging a speaker, acknowledging, finding and
contacting people). Each has a phone on the log backend (its pushes are the worker's
output) and an access code in ``instance/demo-codes.csv``.

Putting people on Panel 1 changes the released agenda, so it goes the way an
organiser's edit goes: a draft edit, then a release with its changelog and pushes.
Safe to run again: nobody is added twice and nothing is released twice.
"""

import io
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from .extensions import db
from .people import devices, importer
from .people.cli import append_codes
from .people.models import Attendee
from .people.operations import update_preferences
from .schedule import drafts, releasing, states
from .schedule.models import Event, Session

CODES_FILE = "demo-codes.csv"
PANEL = "panel-1"
NOTE = "Demo speaker and moderator"
SPEAKER, MODERATOR = "demo-speaker@example.org", "demo-moderator@example.org"
PEOPLE = (
    "email,name,organisation,country,roles\n"
    f"{SPEAKER},Demo Speaker,Demo Prosecution Service,Austria,attendee;speaker\n"
    f"{MODERATOR},Demo Moderator,Demo Ministry of Justice,Italy,attendee;moderator\n"
    "demo-prosecutor@example.org,Demo Prosecutor,Demo Public Prosecutor's Office,Spain,"
    "attendee\n"
    "demo-ngo@example.org,Demo Caseworker,Demo Victim Support NGO,France,attendee\n"
)
# Listed in the directory from the start, with a short profile (set once: what is
# changed later through PATCH /me stays).
LISTED = {
    "demo-prosecutor@example.org": {
        "title": "Prosecutor, trafficking cases",
        "bio": "Leads a specialised unit; keen on joint investigation teams.",
        "topics": ["Joint Investigative Teams (JITs)", "financial investigations"],
        "languages_spoken": ["es", "en"],
    },
    "demo-ngo@example.org": {
        "title": "Caseworker",
        "bio": "Supports victims through trials; happy to share what works.",
        "topics": ["working with victims", "legal assistance and compensations"],
        "languages_spoken": ["fr", "en"],
    },
}


def codes_path() -> Path:
    return Path(current_app.instance_path) / CODES_FILE


def import_demo(event: Event, csv_text: str) -> list[tuple[str, str]]:
    """Import demo attendees; the codes of the new ones are appended to demo-codes.csv
    (before the command commits, as `attendees import` does) and returned."""
    rows, _ = importer.read_rows(io.StringIO(csv_text))
    outcome = importer.import_rows(event, rows)
    if outcome.codes:
        append_codes(codes_path(), outcome.codes)
    return outcome.codes


def give_phone(attendee: Attendee) -> None:
    """A phone on the log backend: the attendee's pushes are the worker's output."""
    devices.register_device(attendee, f"{attendee.email.split('@')[0]}-phone-fid", "android")


def add_demo_people(event: Event, organiser: Attendee | None = None) -> str:
    """The speaker, the moderator and the two listed attendees; the speaker and the
    moderator on Panel 1, released by ``organiser``. Says what became of Panel 1
    (`put_on_panel`)."""
    created = {email for email, _ in import_demo(event, PEOPLE)}
    people = {email: importer.find_attendee(event, email)
              for email in (SPEAKER, MODERATOR, *LISTED)}
    for email, profile in LISTED.items():
        if email in created:
            update_preferences(people[email], {"directory_visible": True, **profile})
    for attendee in people.values():
        give_phone(attendee)
    return put_on_panel(event, people[SPEAKER], people[MODERATOR], organiser)


def put_on_panel(event: Event, speaker: Attendee, moderator: Attendee,
                 organiser: Attendee | None) -> str:
    """Panel 1 with the demo speaker and moderator: a draft edit, released with ``NOTE``.
    Nothing when they are on it already; left in the draft when an organiser has other
    edits waiting there (a release would publish those too)."""
    panel = db.session.scalar(
        select(Session).where(Session.event_id == event.id, Session.key == PANEL))
    live = states.session_state(panel)
    if speaker.id in live["speakers"] and moderator.id in live["moderators"]:
        return "on it already"
    others_waiting = bool(drafts.draft_edits(event))
    drafted, _ = drafts.drafted_state(event, "session", panel.id)
    wanted = {
        "speakers": drafted["speakers"] + [speaker.id] * (speaker.id not in drafted["speakers"]),
        "moderators": drafted["moderators"]
        + [moderator.id] * (moderator.id not in drafted["moderators"]),
    }
    if wanted != {role: drafted[role] for role in wanted}:
        drafts.update_session(event, organiser, panel.id, wanted)
    if others_waiting:
        return "waiting in the draft beside other edits: publish them in the console"
    version = releasing.publish(event, organiser, NOTE)
    return f"released as version {version.number}"
