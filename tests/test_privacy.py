"""Each attendee's own data: the export, the erasure that leaves no trace, and the purge
of an event's personal data some days after it ended."""

import json
import re

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from companion.extensions import db
from companion.networking.models import PrivacyCount
from companion.organising.audit import AuditEntry, record
from companion.people.models import Attendee
from companion.schedule.models import Event, Session, SessionPerson
from notifications.models import InboxNotification, OutboxMessage

SHAPE = {"code", "status", "message", "errors"}
API = "/api/v1"
# Unusual enough that finding them anywhere is a trace, not a coincidence.
NAME = "Quirinia Vandermolen"
EMAIL = "quirinia.vandermolen@example.org"
PHONE = "+43 699 8877665"
EVENT = "/events/alliance-2020"


def assert_error(response, code):
    assert response.status_code == code, response.get_data(as_text=True)
    assert set(response.json) == SHAPE


@pytest.fixture
def world(client, bearer, make_attendee, conference, dispatch, add_device):
    """Quirinia and everything a conference gathers about her, by every route there is,
    and a few others whose data must stay: Ada (French) moderates her panel."""
    q = make_attendee(name=NAME, email=EMAIL, phone=PHONE, organisation="Vandermolen Institute",
                      topics=["Vandermolen studies"], links=["https://example.org/quirinia"],
                      share_email=True, share_phone=True, directory_visible=True,
                      roles=["attendee", "speaker"])
    ada = make_attendee(name="Ada", directory_visible=True, language="fr")
    bruno = make_attendee(name="Bruno", directory_visible=True)
    carla = make_attendee(name="Carla", directory_visible=True)
    dana = make_attendee(name="Dana", directory_visible=True)
    emil = make_attendee(name="Emil", directory_visible=True)
    organiser = make_attendee(name="Olga Organiser", roles=["attendee", "organiser"])
    q_headers = bearer(q)
    olga = bearer(organiser)
    add_device(q, token="fid-quirinia")
    add_device(ada, token="fid-ada")
    add_device(bruno, token="fid-bruno")

    def call(method, path, headers, **kwargs):
        response = getattr(client, method)(f"{API}{path}", headers=headers, **kwargs)
        assert response.status_code < 400, (path, response.get_data(as_text=True))
        return response

    panel = db.session.scalar(select(Session).where(Session.kind == "panel").order_by(Session.id))
    call("put", f"/me/bookmarks/{panel.id}", q_headers)  # reminders in the outbox
    call("get", "/me/calendar", q_headers)
    call("patch", "/me", q_headers, json={"bio": f"I am {NAME}."})
    db.session.add(SessionPerson(session_id=panel.id, attendee_id=q.id, role="speaker"))
    db.session.add(SessionPerson(session_id=panel.id, attendee_id=ada.id, role="moderator"))
    db.session.commit()
    # a contact by card, a request she sent (Ada accepts), one sent to her (pending)
    ada_code = call("get", "/me/contact-card", bearer(ada)).json["code"]
    call("get", "/me/contact-card", q_headers)
    call("post", "/me/contacts", q_headers, json={"code": ada_code})
    # sent with Idempotency-Keys: her own kept answer, and Ada's that names her
    call("post", "/me/contacts", {**q_headers, "Idempotency-Key": "scan-ada"},
         json={"code": ada_code})
    q_code = call("get", "/me/contact-card", q_headers).json["code"]
    call("post", "/me/contacts", {**bearer(ada), "Idempotency-Key": "scan-q"},
         json={"code": q_code})
    call("post", "/me/contacts", q_headers, json={"attendee_id": bruno.id})
    request_id = call("get", "/me/contact-requests", bearer(bruno)).json[0]["id"]
    call("post", f"/me/contact-requests/{request_id}/accept", bearer(bruno))
    call("post", "/me/contacts", bearer(carla), json={"attendee_id": q.id})
    call("post", "/me/contacts", q_headers, json={"attendee_id": dana.id})
    call("post", "/me/blocks", q_headers, json={"attendee_id": carla.id})
    call("post", "/me/blocks", bearer(dana), json={"attendee_id": q.id})
    call("post", "/me/blocks", q_headers, json={"attendee_id": 999999})  # nobody
    # a request of hers that Emil declines
    call("post", "/me/contacts", q_headers, json={"attendee_id": emil.id})
    declined = call("get", "/me/contact-requests", bearer(emil)).json[0]["id"]
    call("post", f"/me/contact-requests/{declined}/decline", bearer(emil))
    # the organiser makes her a speaker of the keynotes in the draft, and pings her panel
    keynotes = db.session.scalar(select(Session).where(Session.kind == "keynote")
                                 .order_by(Session.id))
    call("patch", f"{EVENT}/sessions/{keynotes.id}", olga, json={"speakers": [q.id]})
    ping = call("post", f"/sessions/{panel.id}/pings", olga, json={"template": "to_stage"})
    call("post", f"/me/pings/{ping.json['id']}/ack", q_headers)
    # what she and others did, in the audit log
    record(conference, q, "session.update", f"session:{panel.id}",
           before={"speakers": [NAME]})
    record(conference, organiser, "attendee.update", f"attendee:{q.id}",
           before={"email": EMAIL})
    record(conference, organiser, "schedule.publish", "schedule", recipients=3)
    db.session.commit()
    dispatch()  # pushes go out: into inboxes, hers and the others' that name her
    # Ada's ping, acknowledged: its push to Ada still waits in the outbox
    ping = call("post", f"/sessions/{panel.id}/pings", bearer(ada), json={"template": "wrap_up"})
    call("post", f"/me/pings/{ping.json['id']}/ack", q_headers)
    bearer(q)  # a second token
    db.session.commit()
    return {"q": q.id, "headers": q_headers, "ada": ada.id, "bruno": bruno.id,
            "carla": carla.id, "dana": dana.id, "emil": emil.id, "organiser": organiser.id,
            "panel": panel.id, "panel_title": panel.title, "keynotes": keynotes.id,
            "olga": olga}


def reflected_tables() -> list[sa.Table]:
    """Every table the database holds, as it says (not as the models think)."""
    metadata = sa.MetaData()
    metadata.reflect(db.engine)
    return metadata.sorted_tables


def lists_id(value, attendee_id: int) -> bool:
    """Whether JSON names the attendee by id: as a speaker or moderator of a session's
    state (or of a changelog's change of them), or as the person a push is about."""
    if isinstance(value, list):
        return any(lists_id(item, attendee_id) for item in value)
    if not isinstance(value, dict):
        return False
    role_change = value.get("kind") in ("speakers_changed", "moderators_changed")
    for key, item in value.items():
        if (key in ("speakers", "moderators") or role_change and key in ("old", "new")) \
                and isinstance(item, list) and attendee_id in item:
            return True
        if key in ("attendee_id", "speaker_id") and str(item) == str(attendee_id):
            return True
        if lists_id(item, attendee_id):
            return True
    return False


def naming_rows(attendee_id: int, *needles: str) -> dict[tuple, list[str]]:
    """Where the person is, by row (table name, primary key): their id in any column that
    refers to attendees (or is the attendees' id) or in JSON that lists people, their
    email or name in any column of any table."""
    found = {}
    for table in reflected_tables():
        id_columns = {column.name for column in table.columns
                      if any(key.column.table.name == "attendees" for key in column.foreign_keys)}
        if table.name == "attendees":
            id_columns.add("id")
        for row in db.session.execute(select(table)).mappings():
            where = []
            for name, value in row.items():
                if name in id_columns and value == attendee_id:
                    where.append(f"{table.name}.{name} = {attendee_id}")
                if isinstance(value, (dict, list)) and lists_id(value, attendee_id):
                    where.append(f"{table.name}.{name} lists {attendee_id}")
                text = (value if isinstance(value, str)
                        else json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list))
                        else None)
                for needle in needles:
                    if text and needle.casefold() in text.casefold():
                        where.append(f"{table.name}.{name} holds {needle!r}")
            if where:
                key = tuple(row[column.name] for column in table.primary_key.columns)
                found[(table.name, key)] = where
    return found


def traces(attendee_id: int, *needles: str) -> list[str]:
    return [where for found in naming_rows(attendee_id, *needles).values() for where in found]


def test_the_world_holds_her_everywhere(world):
    """The erasure test below starts from traces in every kind of table."""
    where = {trace.split(".")[0] for trace in traces(world["q"], EMAIL, NAME, PHONE)}
    assert {"attendees", "access_tokens", "bookmarks", "devices", "contacts",
            "contact_requests", "blocks", "push_outbox", "inbox_notifications",
            "audit_log", "session_people", "schedule_draft", "ping_recipients", "idempotency_keys"} <= where


def test_export_returns_everything_held_about_her(client, world):
    response = client.get(f"{API}/me/export", headers=world["headers"])

    assert response.status_code == 200
    export = response.json
    assert export["event"] == "alliance-2020"
    me = export["attendee"]
    assert (me["id"], me["email"], me["name"], me["phone"]) == (world["q"], EMAIL, NAME, PHONE)
    assert "access_code_hash" not in me and "search_text" not in me
    tables = export["tables"]
    for name in ("access_tokens", "bookmarks", "devices", "contacts", "contact_requests",
                 "push_outbox", "inbox_notifications", "audit_log", "session_people",
                 "schedule_draft", "ping_recipients", "idempotency_keys"):
        assert tables[name], name
    assert all("token_hash" not in row for row in tables["access_tokens"])
    assert len(tables["access_tokens"]) == 2
    assert [d["token"] for d in tables["devices"]] == ["fid-quirinia"]
    # contacts both ways, the requests she sent and got
    assert {(c["owner_id"], c["contact_id"]) for c in tables["contacts"]} == {
        (world["q"], world["ada"]), (world["ada"], world["q"]),
        (world["q"], world["bruno"]), (world["bruno"], world["q"])}
    # what she did, what was done about her, and the entries listing her as a speaker
    assert {a["action"] for a in tables["audit_log"]} == {"session.update", "attendee.update",
                                                          "ping.send"}
    assert [d["target_id"] for d in tables["schedule_draft"]] == [world["keynotes"]]
    json.dumps(export)  # all of it is JSON


def test_export_tells_nobody_else_s_decisions_about_her(client, world):
    """Neither who blocked her, nor which ids she blocked exist, nor that Emil declined."""
    export = client.get(f"{API}/me/export", headers=world["headers"]).json

    text = json.dumps(export)
    assert "blocks" not in export["tables"]
    assert "blocker_id" not in text and "blocked_id" not in text
    assert "declined" not in text
    (to_emil,) = [r for r in export["tables"]["contact_requests"]
                  if r["recipient_id"] == world["emil"]]
    assert (to_emil["status"], to_emil["answered_at"]) == ("pending", None)


def test_export_holds_every_row_that_names_her(client, world):
    """Whatever a scan of every table finds naming her is in her export: her rows, and
    others' (their inboxes, the audit entries listing her, the draft); not the blocks,
    which are others' decisions or would tell who exists."""
    found = naming_rows(world["q"], EMAIL, NAME, PHONE)

    tables = client.get(f"{API}/me/export", headers=world["headers"]).json["tables"]

    keys = {table.name: [column.name for column in table.primary_key.columns]
            for table in reflected_tables()}
    missing = [(table, key, where) for (table, key), where in found.items()
               if table not in ("attendees", "blocks")
               and not any(tuple(row.get(name) for name in keys[table]) == key
                           for row in tables.get(table, []))]
    assert missing == []
    assert {table for table, _ in found} >= {"push_outbox", "inbox_notifications",
                                             "audit_log", "schedule_draft"}


def test_export_needs_a_token(client):
    assert_error(client.get(f"{API}/me/export"), 401)


def test_erase_leaves_no_trace_in_any_table(client, world, bearer):
    before = {table.name: db.session.scalar(select(func.count()).select_from(table))
              for table in reflected_tables()}

    response = client.delete(f"{API}/me", headers=world["headers"],
                             query_string={"confirm": EMAIL.upper()})

    assert response.status_code == 204
    db.session.expire_all()
    assert traces(world["q"], EMAIL, NAME, PHONE) == []
    # her token is gone with her
    assert_error(client.get(f"{API}/me", headers=world["headers"]), 401)
    # the others are all there, minus what linked them to her
    others = db.session.scalars(select(Attendee.name).order_by(Attendee.id)).all()
    assert others == ["Ada", "Bruno", "Carla", "Dana", "Emil", "Olga Organiser"]
    ada = db.session.get(Attendee, world["ada"])
    assert client.get(f"{API}/me/contacts", headers=bearer(ada)).json == []
    # the publishes stay (the seed's and the organiser's), and the others' entries that
    # listed her, without her
    assert sorted(db.session.scalars(select(AuditEntry.action))) == [
        "ping.send", "ping.send", "schedule.publish", "schedule.publish", "session.update"]
    # only anonymous counts are kept
    counts = dict(db.session.execute(select(PrivacyCount.name, PrivacyCount.count)).all())
    assert counts == {"attendees_erased": 1, "contacts_erased": 2}
    after = {table.name: db.session.scalar(select(func.count()).select_from(table))
             for table in reflected_tables()}
    assert after["attendees"] == before["attendees"] - 1
    assert after["devices"] == before["devices"] - 1


def test_erase_leaves_the_acknowledged_pings_anonymous(client, world, bearer, dispatch):
    """The moderators keep their inbox entries and the pushes still to go, written again
    without her name or id, each in its reader's language."""
    title = world["panel_title"]
    organiser = db.session.get(Attendee, world["organiser"])
    ada = db.session.get(Attendee, world["ada"])
    pending = db.session.scalar(select(OutboxMessage).where(
        OutboxMessage.kind == "ping_ack", OutboxMessage.attendee_id == ada.id))
    assert NAME in pending.inbox_body and pending.status == "pending"

    response = client.delete(f"{API}/me", headers=world["headers"],
                             query_string={"confirm": EMAIL})

    assert response.status_code == 204
    db.session.expire_all()
    seen = client.get(f"{API}/me/notifications", headers=bearer(organiser)).json
    (ack,) = [n for n in seen if n["kind"] == "ping_ack"]
    assert ack["body"] == f"A speaker has seen your ping about {title}."
    waiting = db.session.get(OutboxMessage, pending.id)
    assert waiting.text_values == {"title": title, "session_id": world["panel"]}
    assert waiting.inbox_body == f"Un intervenant a vu votre message concernant {title}."
    assert "speaker_id" not in waiting.data
    assert not waiting.key.endswith(f":{world['q']}")
    dispatch()
    (ack,) = db.session.scalars(select(InboxNotification).where(
        InboxNotification.attendee_id == ada.id, InboxNotification.kind == "ping_ack"))
    assert ack.body == f"Un intervenant a vu votre message concernant {title}."
    assert "speaker_id" not in ack.data


def test_an_erased_speaker_leaves_the_draft_releasable(client, world):
    """She was a speaker of the keynotes in the draft: the draft goes on without her.
    And of a released panel: the agenda, as kept since that release, forgets her too."""
    agenda = f"{API}{EVENT}/sessions?page_size=100"
    assert NAME in client.get(agenda).get_data(as_text=True)
    keynotes = f"{API}{EVENT}/sessions/{world['keynotes']}"
    assert client.patch(keynotes, headers=world["olga"],
                        json={"title": "Keynotes, retitled"}).status_code == 200
    response = client.delete(f"{API}/me", headers=world["headers"],
                             query_string={"confirm": EMAIL})
    assert response.status_code == 204
    assert NAME not in client.get(agenda).get_data(as_text=True)
    assert NAME not in client.get(f"{API}{EVENT}/schedule.json").get_data(as_text=True)


    published = client.post(f"{API}{EVENT}/schedule/publish", headers=world["olga"],
                            json={"note": "After an erasure"})

    assert published.status_code == 201, published.get_data(as_text=True)
    assert client.get(keynotes).json["speakers"] == []
    for export in ("schedule.ics", "schedule.xml", "schedule.json"):
        answer = client.get(f"{API}{EVENT}/{export}")
        assert answer.status_code == 200, export
        assert NAME not in answer.get_data(as_text=True)
    edited = client.patch(keynotes, headers=world["olga"], json={"title": "Keynotes, renamed"})
    assert edited.status_code == 200, edited.get_data(as_text=True)
    db.session.expire_all()
    assert traces(world["q"], EMAIL, NAME, PHONE) == []


@pytest.mark.parametrize("query", [{}, {"confirm": "someone@example.org"}, {"confirm": ""}])
def test_erase_must_be_confirmed_with_her_email(client, world, query):
    response = client.delete(f"{API}/me", headers=world["headers"], query_string=query)
    assert_error(response, 422)
    assert "confirm" in json.dumps(response.json["errors"])
    assert db.session.get(Attendee, world["q"]) is not None


# --- purge -------------------------------------------------------------------------

def purge_counts(output: str) -> dict[str, int]:
    """``table count`` pairs; ``table.column count``: references cleared in rows kept."""
    return {name: int(count)
            for name, count in re.findall(r"([\w.]+) (\d+)", output.split(": ", 1)[1])}


@pytest.fixture
def other_event(conference, make_attendee):
    event = Event(slug="alliance-2021", name="21st", starts_on=conference.starts_on,
                  ends_on=conference.ends_on, timezone="Europe/Vienna")
    db.session.add(event)
    db.session.commit()
    return make_attendee(name="Elsewhere Person", event=event).id


def test_purge_counts_first_then_removes_what_it_said(runner, world, other_event):
    before = {table.name: db.session.scalar(select(func.count()).select_from(table))
              for table in reflected_tables()}

    dry = runner.invoke(args=["privacy", "purge", "--event", "alliance-2020",
                              "--after-days", "30", "--dry-run"])

    assert dry.exit_code == 0, dry.output
    assert dry.output.startswith("alliance-2020: would remove ")
    counted = purge_counts(dry.output)
    assert counted["attendees"] == 7
    db.session.expire_all()
    unchanged = {table.name: db.session.scalar(select(func.count()).select_from(table))
                 for table in reflected_tables()}
    assert unchanged == before

    real = runner.invoke(args=["privacy", "purge", "--event", "alliance-2020",
                               "--after-days", "30"])

    assert real.exit_code == 0, real.output
    assert real.output.startswith("alliance-2020: removed ")
    assert purge_counts(real.output) == counted
    db.session.expire_all()
    after = {table.name: db.session.scalar(select(func.count()).select_from(table))
             for table in reflected_tables()}
    for table, count in counted.items():
        if "." not in table:
            assert after[table] == before[table] - count, table
    # nobody of the event is left, nor anything that refers to them
    assert db.session.scalars(select(Attendee.id)).all() == [other_event]
    for attendee_id in world.values():
        if isinstance(attendee_id, int):
            assert traces(attendee_id, EMAIL, NAME, PHONE) == []
    # the agenda and the anonymous counts stay
    assert db.session.scalar(select(func.count(Session.id))) > 0
    counts = dict(db.session.execute(select(PrivacyCount.name, PrivacyCount.count)).all())
    assert counts["attendees_purged"] == 7
    again = runner.invoke(args=["privacy", "purge", "--event", "alliance-2020",
                                "--after-days", "30"])
    assert again.output == "alliance-2020: removed nothing\n"


def test_purge_refuses_before_the_day(runner, world):
    result = runner.invoke(args=["privacy", "purge", "--event", "alliance-2020",
                                 "--after-days", "36500"])
    assert result.exit_code != 0
    assert "Not yet: alliance-2020 ended on 2020-03-31" in result.output
    assert db.session.get(Attendee, world["q"]) is not None


@pytest.mark.parametrize("args", [
    ["--event", "nope", "--after-days", "30"],
    ["--event", "alliance-2020", "--after-days", "-1"],
    ["--event", "alliance-2020", "--after-days", "36501"],
    ["--event", "alliance-2020"],
])
def test_purge_refuses_bad_options(runner, world, args):
    result = runner.invoke(args=["privacy", "purge", *args])
    assert result.exit_code == 2, result.output
    assert db.session.get(Attendee, world["q"]) is not None


# --- tables another area adds later -------------------------------------------------

@pytest.fixture
def later_tables(app):
    """Two tables another area might add: notes a person owns, and announcements that
    outlive their author (ON DELETE SET NULL). Gone again after the test."""
    notes = sa.Table(
        "test_notes", db.metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("attendee_id", sa.ForeignKey("attendees.id", ondelete="CASCADE")),
        sa.Column("text", sa.String(100)),
    )
    authored = sa.Table(
        "test_authored", db.metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("author_id", sa.ForeignKey("attendees.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("title", sa.String(100)),
    )
    db.metadata.create_all(db.engine, tables=[notes, authored])
    yield notes, authored
    db.session.rollback()
    db.metadata.drop_all(db.engine, tables=[authored, notes])
    db.metadata.remove(authored)
    db.metadata.remove(notes)


def test_tables_added_later_are_exported_and_erased_without_a_change(client, world,
                                                                     later_tables):
    notes, authored = later_tables
    db.session.execute(notes.insert().values(attendee_id=world["q"], text="mine"))
    db.session.execute(notes.insert().values(attendee_id=world["ada"], text="Ada's"))
    db.session.execute(authored.insert().values(author_id=world["q"], title="Lunch moved"))
    db.session.commit()

    tables = client.get(f"{API}/me/export", headers=world["headers"]).json["tables"]
    assert [row["text"] for row in tables["test_notes"]] == ["mine"]
    assert [row["title"] for row in tables["test_authored"]] == ["Lunch moved"]

    response = client.delete(f"{API}/me", headers=world["headers"],
                             query_string={"confirm": EMAIL})

    assert response.status_code == 204
    assert db.session.execute(select(notes.c.text)).scalars().all() == ["Ada's"]
    # the announcement stays, without its author
    assert db.session.execute(select(authored.c.title, authored.c.author_id)).all() == [
        ("Lunch moved", None)]
