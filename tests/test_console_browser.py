"""The console in a real browser, against the real server on a local port: Debian's
Chromium driven by Playwright (no browser download of its own), pushes through the real
firebase-admin to the fake FCM, axe-core on every page, screenshots kept under
tests/artifacts/ (not committed).

Skipped locally without /usr/bin/chromium; a failure in CI, where `.ci/run` installs it.
"""

import re
import threading
from datetime import date
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from sqlalchemy import select
from werkzeug.serving import make_server

from companion.extensions import db
from companion.organising.models import Ping
from companion.schedule import operations as schedule_ops
from companion.schedule.models import Session, SessionPerson

HOST = "console.test"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CODE = "7KQ4-MX2P-9DHT"
# A Monday the day after the spring change to summer time, as 30 March 2020 was: the
# event in the future, so that the dispatcher sends its pushes on the real clock.
SHIFT_TO = "2027-03-29"
DAY_2 = "2027-03-30"
AXE = Axe()
WAIT = 10_000  # ms


@pytest.fixture
def event(runner, conference):
    assert date.fromisoformat(SHIFT_TO) > date.today(), "the shift must be in the future"
    result = runner.invoke(args=["seed", "--shift-to", SHIFT_TO])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    return schedule_ops.get_event("alliance-2020")


@pytest.fixture
def cast(event, make_attendee, add_device, client, bearer):
    """An organiser; Panel 3's moderator and speaker; a follower of Panel 3; an attendee.
    Each with a phone (FID ``fid-<name>``) and the access code CODE."""
    who = {
        "organiser": make_attendee(code=CODE, roles=["organiser"], name="Olga Organiser"),
        "moderator": make_attendee(code=CODE, roles=["moderator"], name="Mo Moderator"),
        "speaker": make_attendee(code=CODE, roles=["speaker"], name="Sam Speaker"),
        "follower": make_attendee(code=CODE, name="Fay Follower"),
        "attendee": make_attendee(code=CODE, name="Ada Attendee",
                                  notify={"reminders": True, "schedule_changes": True,
                                          "announcements": True, "networking": True}),
    }
    for name, attendee in who.items():
        add_device(attendee, token=f"fid-{name}")
    panel_3 = db.session.scalar(select(Session.id).where(Session.key == "panel-3"))
    db.session.add_all([
        SessionPerson(session_id=panel_3, attendee_id=who["speaker"].id, role="speaker"),
        SessionPerson(session_id=panel_3, attendee_id=who["moderator"].id, role="moderator"),
    ])
    db.session.commit()
    assert client.put(f"/api/v1/me/bookmarks/{panel_3}",
                      headers=bearer(who["follower"])).status_code == 200
    who["panel_3"] = panel_3
    return who


@pytest.fixture
def live_url(app, cast):
    """The app served over HTTP on a free local port, in a thread, on the suite's
    database (pushing through firebase-admin to the fake FCM when a test asks for fcm)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    db.session.commit()  # the server's requests write: hold no transaction open here
    yield f"http://{HOST}:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.fixture
def pushed(fcm, dispatch):
    """``pushed()``: dispatches what is due now; {FID: message} of what reached the fake
    FCM since the last call."""
    seen = []

    def run() -> dict[str, dict]:
        dispatch()
        db.session.commit()
        fresh = fcm.received[len(seen):]
        seen.extend(fresh)
        return {r.target: r.message for r in fresh}

    return run


def check(page, name: str) -> None:
    """A screenshot under tests/artifacts/, and no serious or critical axe violation."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"), full_page=True)
    results = AXE.run(page)
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
           for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{name}: {bad}"


def press(page, target, key: str = "Enter", limit: int = 60) -> None:
    """Reach ``target`` with the Tab key alone, then press ``key``: no mouse needed."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            page.keyboard.press(key)
            return
    raise AssertionError(f"Tab never reached {target}")


def sign_in(page, url: str, who) -> None:
    page.goto(f"{url}/console/")
    expect(page).to_have_url(re.compile(r"/console/sign-in"))
    page.get_by_label("Email").fill(who.email)
    page.get_by_label("Access code").fill(CODE)
    page.get_by_label("Access code").press("Enter")  # no mouse needed


def test_organiser_and_moderator_click_through_the_console(
        fcm, chromium, live_url, cast, pushed, client, bearer):
    # (fcm first: firebase-admin closes its app after Playwright's loop has stopped)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    foreign = []
    context.route("**/*", lambda route: route.continue_()
                  if HOST in route.request.url else (foreign.append(route.request.url),
                                                     route.abort()))

    # sign in
    page.goto(f"{live_url}/")
    expect(page).to_have_url(re.compile(r"/console/sign-in"))
    check(page, "sign-in")
    sign_in(page, live_url, cast["organiser"])
    expect(page).to_have_url(re.compile(r"/console/agenda$"))
    expect(page.get_by_role("heading", name="Monday 29 March 2027")).to_be_visible()
    expect(page.get_by_role("heading", name="Tuesday 30 March 2027")).to_be_visible()
    check(page, "agenda")

    # move Panel 3 by 30 minutes: 11:00–12:30 becomes 11:30–13:00 (Vienna)
    page.get_by_role("link", name=re.compile(r"^Edit Panel 3")).click()
    expect(page.get_by_label("Starts")).to_have_value(f"{DAY_2}T11:00")
    check(page, "session")
    page.get_by_label("Starts").fill(f"{DAY_2}T11:30")
    page.get_by_label("Ends").fill(f"{DAY_2}T13:00")
    page.get_by_role("button", name="Save in the draft").click()
    expect(page.locator(".flash")).to_contain_text("Saved in the draft")
    row = page.locator(f"#session-{cast['panel_3']}")
    expect(row).to_contain_text("11:30–13:00")
    expect(row.locator(".badge")).to_have_text("moved")
    check(page, "agenda-pending")

    # a refusal of the API shows next to its field
    page.get_by_role("link", name=re.compile(r"^Edit Panel 3")).click()
    page.get_by_label("Ends").fill(f"{DAY_2}T10:00")
    page.get_by_role("button", name="Save in the draft").click()
    expect(page.locator("#ends_at-error")).to_have_text("A session ends after it starts.")
    check(page, "session-refused")

    # running late: the preview of a delay (nothing kept)
    page.goto(f"{live_url}/console/sessions/{cast['panel_3']}/late")
    page.get_by_label("+10 min").check()
    expect(page.locator("#preview")).to_contain_text("moved from 11:00 to 11:10")
    check(page, "late")

    # see the changelog; release with a note, confirmed once
    page.get_by_role("navigation").get_by_role("link", name="Release").click()
    expect(page.get_by_role("heading", name="Changelog of version 3")).to_be_visible()
    expect(page.locator("table.changelog")).to_contain_text(
        "moved from Tue 11:00 to Tue 11:30")
    check(page, "release")
    page.get_by_label("Note for this release").fill("Panel 3 starts half an hour later")
    page.get_by_role("button", name="Release…").click()
    check(page, "release-confirm")
    press(page, page.get_by_role("button", name="Confirm release of version 3"))
    expect(page.locator(".flash")).to_contain_text("Released version 3")

    # the follower's push arrives at the fake FCM
    sent = pushed()
    assert "fid-follower" in sent, sorted(sent)
    notification = sent["fid-follower"]["notification"]
    assert "Panel 3" in notification["body"] and "11:30" in notification["body"]

    # an announcement to speakers only, its audience counted as it is composed
    page.get_by_role("navigation").get_by_role("link", name="Announcements").click()
    page.get_by_label("Title", exact=True).fill("Speakers' briefing")
    page.get_by_label("Text", exact=True).fill("Green room, 10:30, before Panel 3.")
    page.get_by_label("Those matching all of the following").check()
    page.get_by_label("speakers", exact=True).check()
    expect(page.locator("#dry-run")).to_contain_text("Would reach 1 of 1")
    check(page, "announcements")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".flash")).to_contain_text("goes out now to 1 person")
    sent = pushed()
    assert list(sent) == ["fid-speaker"], sorted(sent)
    assert sent["fid-speaker"]["notification"]["title"] == "Speakers' briefing"
    expect(page.locator("#announcement-list .sent").first).to_have_text("1", timeout=WAIT)
    check(page, "announcements-sent")

    # the other organiser pages
    page.get_by_role("navigation").get_by_role("link", name="Rooms").click()
    check(page, "rooms")
    page.get_by_role("link", name="Edit Neuer Saal").click()
    check(page, "room")
    page.get_by_role("navigation").get_by_role("link", name="Audit log").click()
    page.get_by_label("Action").select_option("schedule.publish")
    page.get_by_role("button", name="Filter").click()
    # the seed's first release, and the organiser's
    expect(page.locator("table.audit caption")).to_contain_text("2 entries")
    check(page, "audit")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/console/sign-in"))

    # as the moderator, on a phone: ping the speaker, see the ack arrive by itself
    context.close()
    phone = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = phone.new_page()
    sign_in(page, live_url, cast["moderator"])
    expect(page).to_have_url(re.compile(r"/console/moderate$"))
    card = page.locator(f"#session-{cast['panel_3']}")
    expect(card).to_contain_text("Sam Speaker")
    press(page, card.get_by_role("button", name="Please come to the stage"))
    expect(card.locator(".pings")).to_contain_text("Please come to the stage")
    assert list(pushed()) == ["fid-speaker"]
    ping = db.session.scalar(select(Ping.id))
    db.session.commit()
    assert client.post(f"/api/v1/me/pings/{ping}/ack",
                       headers=bearer(cast["speaker"])).status_code == 200
    db.session.commit()
    expect(card.locator(".ack")).to_contain_text("acknowledged", timeout=WAIT)
    check(page, "moderate")
    phone.close()
    assert foreign == []


def test_an_attendee_signed_in_in_the_browser_gets_403(chromium, live_url, cast):
    context = chromium.new_context()
    page = context.new_page()
    sign_in(page, live_url, cast["attendee"])
    response = page.goto(f"{live_url}/console/agenda")
    assert response.status == 403
    expect(page.locator("main")).to_contain_text("holds neither role")
    check(page, "forbidden")
    assert page.goto(f"{live_url}/console/moderate").status == 403
    context.close()


def test_several_events_sign_in_switch_and_see_the_drafts_warnings(
        chromium, live_url, cast, second_event, make_attendee, client, bearer):
    """Olga organises FrabCon too (its own attendee row and code): she signs in to both,
    by keyboard, switches between them, and sees the Alliance draft's room overlap."""
    olga = cast["organiser"]
    make_attendee(code="4HXN-2QWE-8RTY", roles=["organiser"], name=olga.name,
                  email=olga.email, event=second_event.event)
    moved = client.patch(f"/api/v1/events/alliance-2020/sessions/{cast['panel_3']}",
                         headers=bearer(olga), json={"starts_at": f"{DAY_2}T10:45:00+02:00",
                                                     "ends_at": f"{DAY_2}T12:15:00+02:00"})
    assert moved.status_code == 200, moved.json
    db.session.commit()
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()

    page.goto(f"{live_url}/console/")
    page.get_by_label("Event").select_option("alliance-2020")
    page.get_by_label("Email").fill(olga.email)
    page.get_by_label("Access code").fill(CODE)
    check(page, "sign-in-events")
    page.get_by_label("Access code").press("Enter")
    expect(page).to_have_url(re.compile(r"/console/agenda$"))
    expect(page).to_have_title(re.compile("Alliance against Trafficking"))

    page.get_by_role("link", name="Sign in to another event").click()
    page.get_by_label("Event").select_option("frabcon-2026")
    page.get_by_label("Email").fill(olga.email)
    page.get_by_label("Access code").fill("4HXN-2QWE-8RTY")
    page.get_by_label("Access code").press("Enter")
    expect(page).to_have_title(re.compile("FrabCon 2026"))
    expect(page.locator("main")).to_contain_text("Opening talk")
    check(page, "switcher")

    page.get_by_label("Event", exact=True).select_option(label=(
        "20th Conference of the Alliance against Trafficking in Persons"))
    press(page, page.get_by_role("button", name="Switch"))
    expect(page.locator(".flash")).to_contain_text("now works on 20th Conference")
    expect(page.locator("main")).to_contain_text("Panel 3")

    page.get_by_role("navigation").get_by_role("link", name="Release").click()
    expect(page.locator(".warnings")).to_contain_text("overlap in Neuer Saal")
    check(page, "release-warnings")
    context.close()
