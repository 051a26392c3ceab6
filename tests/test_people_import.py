"""`flask attendees import FILE.csv --codes OUT.csv`: all or nothing, idempotent, codes once."""

import csv
import stat

import pytest
import sqlalchemy as sa

from companion import auth
from companion.extensions import db
from companion.people.models import Attendee
from companion.schedule.models import Event

HEADER = "email,name,organisation,country,roles\n"
GOOD = (
    HEADER
    + "Ada.Lovelace@Example.org,Ada Lovelace,OSCE,Austria,speaker;moderator\n"
    + "bob@example.org, Bob Stone ,,,\n"
    + 'carla@example.org,"Carla Ruiz, MP","Parliament, Spain",Spain,Organiser; attendee\n'
)


@pytest.fixture
def files(tmp_path):
    def write(text: str, name: str = "attendees.csv"):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def run(runner, conference, tmp_path):
    codes = tmp_path / "codes.csv"

    def invoke(path, *extra):
        result = runner.invoke(args=["attendees", "import", str(path), "--codes", str(codes),
                                     *extra])
        db.session.expire_all()
        return result

    invoke.codes = codes
    return invoke


def attendees() -> list[dict]:
    rows = db.session.scalars(sa.select(Attendee).order_by(Attendee.id))
    return [{c.key: getattr(a, c.key) for c in sa.inspect(Attendee).column_attrs} for a in rows]


def codes_in(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_import_creates_attendees_and_writes_their_codes(run, files):
    result = run(files(GOOD))
    assert result.exit_code == 0, result.output
    assert "Importing attendees" in result.output
    assert "3 created, 0 updated, 0 unchanged" in result.output
    people = {a["email"]: a for a in attendees()}
    assert list(people) == ["ada.lovelace@example.org", "bob@example.org", "carla@example.org"]
    ada, bob, carla = people.values()
    assert (ada["name"], ada["organisation"], ada["country"]) == ("Ada Lovelace", "OSCE", "Austria")
    assert ada["roles"] == ["speaker", "moderator"]
    assert (bob["name"], bob["organisation"], bob["country"], bob["roles"]) == (
        "Bob Stone", None, None, ["attendee"])
    assert (carla["name"], carla["organisation"]) == ("Carla Ruiz, MP", "Parliament, Spain")
    assert carla["roles"] == ["attendee", "organiser"]
    assert bob["directory_visible"] is False

    written = codes_in(run.codes)
    assert [row["email"] for row in written] == list(people)
    assert stat.S_IMODE(run.codes.stat().st_mode) == 0o600
    for row in written:
        attendee = db.session.scalar(sa.select(Attendee).where(Attendee.email == row["email"]))
        assert row["access_code"] not in attendee.access_code_hash
        assert auth.check_access_code(attendee, row["access_code"])
    assert len({row["access_code"] for row in written}) == 3


def test_importing_the_same_file_again_changes_nothing(run, files):
    path = files(GOOD)
    run(path)
    before, codes_before = attendees(), run.codes.read_text()
    again = run(path)
    assert again.exit_code == 0, again.output
    assert "0 created, 0 updated, 3 unchanged" in again.output
    assert attendees() == before
    assert run.codes.read_text() == codes_before


def test_a_changed_row_updates_and_keeps_code_and_preferences(run, files):
    run(files(GOOD))
    bob = db.session.scalar(sa.select(Attendee).where(Attendee.email == "bob@example.org"))
    bob.reminder_minutes, bob.language = 30, "de"
    db.session.commit()
    code_hash = bob.access_code_hash
    changed = GOOD.replace("bob@example.org, Bob Stone ,,,",
                           "BOB@example.org,Bob Stone,UNODC,,speaker")
    result = run(files(changed + "dan@example.org,Dan,,,\n", "second.csv"))
    assert "1 created, 1 updated, 2 unchanged" in result.output
    bob = db.session.scalar(sa.select(Attendee).where(Attendee.email == "bob@example.org"))
    assert (bob.organisation, bob.roles) == ("UNODC", ["speaker"])
    assert (bob.access_code_hash, bob.reminder_minutes, bob.language) == (code_hash, 30, "de")
    assert [row["email"] for row in codes_in(run.codes)] == [
        "ada.lovelace@example.org", "bob@example.org", "carla@example.org", "dan@example.org"]


BAD = (
    HEADER
    + "ok@example.org,Fine Person,,,\n"  # line 2
    + "not-an-email,Someone,,,\n"  # line 3
    + "eve@example.org,Eve,,,chair\n"  # line 4
    + "frank@example.org,,,,\n"  # line 5
    + '"gina@example.org","Gina\nwith a line break",,,\n'  # lines 6-7: a name is one line
    + "OK@example.org,Fine Again,,,\n"  # line 8: the same email as line 2
    + "hal@example.org,Hal,,\n"  # line 9: a field short
    + "ivy@example.org," + "x" * 201 + ",,,\n"  # line 10
    + "\n"
    + "jo@example.org,Jo,,,speaker\n"  # line 12
)


def test_bad_rows_are_all_reported_and_nothing_is_imported(run, files):
    result = run(files(BAD))
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if "attendees.csv: line" in line]
    assert [line.split(": ")[1] for line in lines] == [
        "line 3", "line 4", "line 5", "line 6", "line 8", "line 9", "line 10"]
    assert "email: Not a valid email address." in lines[0]
    assert "roles: Must be one of" in lines[1]
    assert "name: Missing data for required field." in lines[2]
    assert "name: Must be one line: no line breaks or tabs." in lines[3]
    assert "on line 2 too" in lines[4]
    assert "4 fields where 5 belong" in lines[5]
    assert "name: Length must be between 1 and 200." in lines[6]
    assert "nothing imported: 7 bad row(s)" in result.output
    assert attendees() == []
    assert not run.codes.exists()


def test_skip_bad_imports_the_good_rows(run, files):
    result = run(files(BAD), "--skip-bad")
    assert result.exit_code == 0, result.output
    assert "line 3" in result.output
    assert "2 created, 0 updated, 0 unchanged, 7 bad row(s) skipped" in result.output
    assert [a["name"] for a in attendees()] == ["Fine Person", "Jo"]


@pytest.mark.parametrize("text", ["", "email,name\nx@example.org,X\n", "a,b,c,d,e\n"])
def test_a_wrong_header_stops_everything(run, files, text):
    result = run(files(text))
    assert result.exit_code == 1
    assert "line 1: the header must be email,name,organisation,country,roles" in result.output
    assert attendees() == []


def test_a_spreadsheet_bom_and_another_column_order_are_fine(run, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffroles,name,email,country,organisation\r\n"
                     "speaker,Ada,ada@example.org,Austria,OSCE\r\n".encode("utf-8"))
    result = run(path)
    assert result.exit_code == 0, result.output
    [ada] = attendees()
    assert (ada["email"], ada["roles"], ada["country"]) == (
        "ada@example.org", ["speaker"], "Austria")


def test_the_event_option(run, files, conference):
    other = Event(slug="alliance-2021", name="21st", starts_on=conference.starts_on,
                  ends_on=conference.ends_on, timezone="Europe/Vienna")
    db.session.add(other)
    db.session.commit()
    path = files(GOOD)
    assert run(path, "--event", "alliance-2021").exit_code == 0
    assert run(path).exit_code == 0  # the same people at the default event are new there
    counts = db.session.execute(
        sa.select(Attendee.event_id, sa.func.count()).group_by(Attendee.event_id)
    ).all()
    assert sorted(n for _, n in counts) == [3, 3]
    assert len(codes_in(run.codes)) == 6
    missing = run(path, "--event", "nope")
    assert missing.exit_code == 2
    assert "no event 'nope'" in missing.output
