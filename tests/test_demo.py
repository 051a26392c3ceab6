"""Issue 23, points 18 and 19: the demo of `make run` shows every role, and what a
newcomer reads and meets first (the README, a busy port, the log backend's lines)."""

import io
import json
import os
import re
import socket
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import func, select

from companion.extensions import db
from companion.people.models import Attendee, Device
from companion.schedule.models import DraftEdit, ScheduleVersion, Session
from notifications.senders import LogSender, Push

ROOT = Path(__file__).resolve().parents[1]
API = "/api/v1"
EVENT = f"{API}/events/alliance-2020"
DEMO_PEOPLE = ["demo-speaker@example.org", "demo-moderator@example.org",
               "demo-prosecutor@example.org", "demo-ngo@example.org"]


def codes(path: Path) -> dict[str, str]:
    return dict(line.split(",") for line in path.read_text().splitlines()[1:])


def sign_in(client, email: str, code: str) -> dict:
    response = client.post(f"{API}/auth/login", json={"email": email, "access_code": code})
    assert response.status_code == 200, response.json
    return {"Authorization": f"Bearer {response.json['token']}"}


NOTE = "Demo speaker and moderator"


def counts() -> tuple[int, ...]:
    """People, phones, the demo's releases and draft edits. (The seed's own move of a
    rehearsal run in a later minute is a release too: not counted.)"""
    demo_releases = select(ScheduleVersion).where(ScheduleVersion.note == NOTE).subquery()
    return tuple(db.session.scalar(select(func.count()).select_from(table))
                 for table in (Attendee, Device, demo_releases, DraftEdit))


def demo_releases(client) -> list[dict]:
    return [version for version in client.get(f"{EVENT}/schedule/versions").json
            if version["note"] == NOTE]


# --- 18. the rehearsal casts every role -----------------------------------------------

def test_18_the_rehearsal_has_a_speaker_a_moderator_and_people_to_find(app, client, runner,
                                                                        tmp_path):
    app.instance_path = str(tmp_path)
    result = runner.invoke(args=["seed", "--rehearsal"])
    assert result.exit_code == 0, result.output

    panel = next(session for session in client.get(f"{EVENT}/sessions").json
                 if session["title"].startswith("Panel 1"))
    assert [p["name"] for p in panel["speakers"]] == ["Demo Speaker"]
    assert [p["name"] for p in panel["moderators"]] == ["Demo Moderator"]
    # through the release path: a numbered version with its note and changelog
    (version,) = demo_releases(client)
    assert [change["kind"] for entry in version["changes"] for change in entry["changes"]] == [
        "speakers_changed", "moderators_changed"]
    demo_codes = codes(tmp_path / "demo-codes.csv")
    assert set(DEMO_PEOPLE) <= set(demo_codes)  # the four demo people's codes
    assert len(demo_codes) == 1 + 4  # beside the demo attendee's
    phones = db.session.scalars(select(Attendee.email).join(Device)).all()
    assert set(phones) == {"demo@example.org", *DEMO_PEOPLE}

    demo = sign_in(client, "demo@example.org", demo_codes["demo@example.org"])
    directory = client.get(f"{EVENT}/directory", headers=demo).json
    assert sorted(person["name"] for person in directory) == ["Demo Caseworker",
                                                              "Demo Prosecutor"]
    assert all(person["bio"] and person["topics"] for person in directory)
    # the speaker signs in and has the panel on their agenda, as its speaker
    speaker = sign_in(client, "demo-speaker@example.org",
                      demo_codes["demo-speaker@example.org"])
    agenda = client.get(f"{API}/me/schedule", headers=speaker).json
    assert panel["id"] in [item["session"]["id"] for item in agenda]

    before = counts()
    again = runner.invoke(args=["seed", "--rehearsal"])  # `make run` a second time
    assert again.exit_code == 0, again.output
    assert "on it already" in again.output
    db.session.expire_all()
    assert counts() == before  # nobody twice, no empty release, nothing left in the draft
    assert codes(tmp_path / "demo-codes.csv") == demo_codes


def test_18_other_draft_edits_are_not_released_by_the_rehearsal(app, client, runner,
                                                                  tmp_path):
    """An organiser's pending edit stays a draft: the demo people wait beside it."""
    from companion.schedule import operations as schedule_ops
    from companion.schedule import drafts

    app.instance_path = str(tmp_path)
    assert runner.invoke(args=["seed"]).exit_code == 0
    event = schedule_ops.get_event("alliance-2020")
    closing = db.session.scalar(select(Session).where(Session.key == "closing"))
    drafts.update_session(event, None, closing.id, {"title": "Closing words"})
    db.session.commit()
    result = runner.invoke(args=["seed", "--rehearsal"])
    assert result.exit_code == 0, result.output
    assert "waiting in the draft" in result.output
    assert demo_releases(client) == []
    draft = drafts.draft_sessions(event)
    assert draft[closing.id]["title"] == "Closing words"
    panel = next(state for state in draft.values() if state["key"] == "panel-1")
    assert len(panel["speakers"]) == len(panel["moderators"]) == 1


# --- 19. what a newcomer meets -------------------------------------------------------

def test_19_the_log_backends_lines_are_log_lines():
    out = io.StringIO()
    push = Push(outbox_id=7, device_id=3, address="fid", platform="android",
                title="Reminder: Panel 1 – The scope", body="In 10 minutes",
                data={"kind": "reminder"}, collapse_key="session-5",
                expires_at=datetime(2020, 3, 30, 14, 30, tzinfo=timezone.utc))
    LogSender(stream=out).send([push], datetime.now(timezone.utc))
    (line,) = out.getvalue().splitlines()
    fields = json.loads(line)
    assert fields["level"] == "INFO" and fields["logger"] == "notifications.push"
    assert datetime.fromisoformat(fields["time"]).tzinfo is not None
    assert (fields["outbox_id"], fields["title"], fields["data"]) == (
        7, "Reminder: Panel 1 – The scope", {"kind": "reminder"})
    assert fields["expires_at"] == "2020-03-30T14:30:00+00:00"


PORT = 9190  # the demo helper's range: no other test listens there


def port_free(port: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1"}
    return subprocess.run(["make", "--no-print-directory", "port-free",
                           f"PYTHON={sys.executable}"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)


def test_19_make_run_on_a_busy_port_says_which_variable_picks_another():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", PORT))
        taken.listen()
        result = port_free(PORT)
    assert result.returncode != 0
    assert f"Port {PORT} is in use on 127.0.0.1: pick another with PORT, " \
           f"e.g. PORT={PORT + 1} make run" in result.stderr
    assert port_free(PORT).returncode == 0  # free again: `make run` goes on
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run: port-free ", makefile, re.MULTILINE)  # checked first


def test_19_the_readme_is_a_newcomers_page_that_links_the_rest():
    readme = (ROOT / "README.md").read_bytes()
    assert len(readme) <= 8 * 1024
    text = readme.decode()
    assert "make run     # installs into .venv" in text and "make test    # installs" in text
    assert "`TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test make test`" in text
    assert "PORT=8001 make run" in text
    # point 18: the demo's timing as measured, not "about two minutes after `make run`"
    assert "about two minutes" not in text and "four to five minutes after `make run`" in text
    links = re.findall(r"\]\(((?!https?:)[^)#]+)\)", text)
    pages = {link for link in links if link.startswith("docs/") and link.endswith(".md")}
    assert {"docs/configuration.md", "docs/operations.md", "docs/commands.md",
            "docs/push.md", "docs/benchmarks.md"} <= pages
    for link in links:
        assert (ROOT / link).is_file(), link
    for page in pages:  # and each page links back
        assert "](../README.md)" in (ROOT / page).read_text()
