"""The one way to send a push: kinds, their catalogues, ``notify``, one transaction."""

from datetime import datetime, timedelta, timezone

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from sqlalchemy import func, select

from companion.auth import authenticate
from companion.extensions import db
from companion.people import operations
from companion.people.models import NOTIFY_CATEGORIES, Attendee, Bookmark
from companion.schedule.models import Session
from notifications import kinds, outbox
from notifications.models import InboxNotification, OutboxMessage
from notifications.notify import notify

UTC = timezone.utc
PANEL_1_STARTS = datetime(2020, 3, 30, 14, 30, tzinfo=UTC)
NOW = PANEL_1_STARTS - timedelta(minutes=10)
ROOT = kinds.LOCALE_DIR.parent.parent


# --- the catalogues ----------------------------------------------------------------

def extracted() -> set:
    """Every text the code marks for translation, as pybabel extract finds it."""
    found = set()
    for _, _, message, _, _ in extract_from_dir(
        str(ROOT / "notifications"), keywords={"gettext": None, "ngettext": (1, 2), "N_": None}
    ):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def catalogue(language: str):
    path = kinds.LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po:
        return read_po(po, locale=language)


@pytest.mark.parametrize("language", kinds.LANGUAGES)
def test_every_text_is_translated_in_every_language(language):
    texts = extracted()
    assert len(texts) >= 19
    po = catalogue(language)
    for text in texts:
        message = po.get(text if isinstance(text, str) else text[0])
        assert message is not None, f"{language}: {text!r} is not in the catalogue"
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert len(strings) == po.num_plurals if isinstance(text, tuple) else 1
        assert all(strings), f"{language}: {text!r} has no translation"
        assert not message.fuzzy, f"{language}: {text!r} is fuzzy"


@pytest.mark.parametrize("name", sorted(kinds.KINDS))
@pytest.mark.parametrize("language", kinds.LANGUAGES)
def test_every_kind_renders_from_its_catalogue(name, language):
    kind = kinds.KINDS[name]
    assert kind.examples, f"{name} has no example values to check its texts with"
    reader = kinds.Reader(language, strict=True)
    for values in kind.examples:
        texts = kind.texts(reader, values)
        assert texts.title and texts.body
    assert reader.missing == [], f"{name} in {language} lacks {reader.missing}"


def test_a_text_missing_from_a_catalogue_is_caught():
    reader = kinds.Reader("fr", strict=True)
    reader.gettext("A text nobody translated")
    assert reader.missing == ["A text nobody translated"]


def test_every_kind_has_a_known_category_and_priority():
    for kind in kinds.KINDS.values():
        assert kind.category in (*NOTIFY_CATEGORIES, None)
        assert kind.priority in kinds.PRIORITIES
    assert {"reminder", "schedule_change", "announcement", "ping", "contact_request",
            "contact_accepted"} <= set(kinds.KINDS)
    assert kinds.KINDS["ping"].category is None  # a speaker's ping is never muted


@pytest.mark.parametrize("count,expected", [
    (1, "1 сессия изменена"), (3, "3 сессии изменены"), (5, "5 сессий изменено"),
    (11, "11 сессий изменено"), (21, "21 сессия изменена"), (22, "22 сессии изменены"),
])
def test_russian_has_three_plural_forms(count, expected):
    change = {**kinds.SESSION_EXAMPLE, "change": "moved"}
    texts = kinds.render("schedule_change", "ru", {"changes": [change] * count})
    if count == 1:
        assert texts.body.startswith(kinds.SESSION_EXAMPLE["title"])
    else:
        assert texts.body == expected
        assert texts.inbox_body.count("\n") == count - 1  # the list is in the inbox


@pytest.mark.parametrize("language,time", [
    ("en", "16:30"), ("de", "16:30"), ("fr", "16:30"), ("ru", "16:30"),
])
def test_times_are_in_vienna_summer_time_in_the_readers_locale(language, time):
    # 14:30 UTC on 30 March 2020 is 16:30 in Vienna: summer time began the day before.
    texts = kinds.render("reminder", language, kinds.SESSION_EXAMPLE)
    assert time in texts.body
    day_before = {**kinds.SESSION_EXAMPLE, "starts_at": "2020-03-28T14:30:00+00:00"}
    assert "15:30" in kinds.render("reminder", language, day_before).body


@pytest.mark.parametrize("name", sorted(kinds.KINDS))
def test_the_lock_screen_names_nobody(name):
    """Title and body carry no value that names a person; the inbox may (an example
    without them: the person was erased)."""
    kind = kinds.KINDS[name]
    for language in kinds.LANGUAGES:
        for values in kind.examples:
            texts = kind.texts(kinds.Reader(language), values)
            for field in set(kind.personal) & set(values):
                assert values[field] not in texts.title + texts.body
                assert values[field] in texts.inbox_body


def test_ping_templates_are_in_the_speakers_language():
    values = {"title": "Panel 3", "session_id": 7, "template": "wrap_up"}
    assert kinds.render("ping", "de", values).body == "Bitte kommen Sie zum Schluss"
    assert kinds.render("ping", "en", values).body == "Please wrap up"


def test_announcements_use_the_organisers_own_words_per_language():
    values = {"title": "Lunch", "body": "In the Festsaal",
              "texts": {"fr": {"title": "Déjeuner", "body": "Dans la Festsaal"}}}
    assert kinds.render("announcement", "fr", values).title == "Déjeuner"
    assert kinds.render("announcement", "de", values).title == "Lunch"  # never translated


# --- notify ------------------------------------------------------------------------

KIND_OF_CATEGORY = {
    "reminders": ("reminder", {**kinds.SESSION_EXAMPLE}),
    "schedule_changes": ("schedule_change",
                         {"changes": [{**kinds.SESSION_EXAMPLE, "change": "moved"}]}),
    "announcements": ("announcement", {"title": "Lunch", "body": "In the Festsaal"}),
    "networking": ("contact_request", {"name": "Ada Lovelace"}),
}


def test_every_category_has_a_kind():
    assert set(KIND_OF_CATEGORY) == set(NOTIFY_CATEGORIES)
    for category, (name, _) in KIND_OF_CATEGORY.items():
        assert kinds.KINDS[name].category == category


@pytest.mark.parametrize("category", NOTIFY_CATEGORIES)
def test_a_category_turned_off_gets_no_push_and_no_inbox_entry(
        category, make_attendee, add_device, dispatch):
    name, values = KIND_OF_CATEGORY[category]
    keen = make_attendee()
    quiet = make_attendee(notify={**{c: True for c in NOTIFY_CATEGORIES}, category: False})
    for attendee in (keen, quiet):
        add_device(attendee)

    done = notify(name, [keen, quiet], values, key="test", due_at=NOW)
    db.session.commit()
    assert (done.queued, done.muted) == (1, 1)

    assert dispatch(NOW).sent == 1
    inbox = db.session.scalars(select(InboxNotification.attendee_id)).all()
    assert inbox == [keen.id]
    assert db.session.scalars(select(OutboxMessage.attendee_id)).all() == [keen.id]


def test_those_always_told_are_told_whatever_their_preferences(make_attendee):
    speaker = make_attendee(notify={"schedule_changes": False})
    follower = make_attendee(notify={"schedule_changes": False})
    name, values = KIND_OF_CATEGORY["schedule_changes"]
    done = notify(name, [speaker, follower], values, key="release:1", always={speaker.id})
    assert (done.queued, done.muted) == (1, 1)


def test_a_ping_is_never_muted(make_attendee):
    speaker = make_attendee(notify={category: False for category in NOTIFY_CATEGORIES})
    done = notify("ping", [speaker], {"title": "Panel 3", "session_id": 7,
                                     "template": "on_in_5"}, key="ping:1", due_at=NOW)
    assert done.queued == 1
    row = db.session.scalar(select(OutboxMessage))
    assert row.expires_at == NOW + timedelta(minutes=5)  # its short time to live
    assert row.priority == "urgent"


def test_each_recipient_reads_their_own_language(make_attendee):
    people = [make_attendee(language=language) for language in kinds.LANGUAGES]
    notify("contact_accepted", people, {"name": "Ada Lovelace"}, key="accepted")
    titles = dict(db.session.execute(select(OutboxMessage.attendee_id, OutboxMessage.title)).all())
    assert titles[people[0].id] == "Contact request accepted"
    assert titles[people[2].id] == "Kontaktanfrage angenommen"
    inbox = db.session.scalars(select(OutboxMessage.inbox_body)).all()
    assert all("Ada Lovelace" in text for text in inbox)


def test_a_crowd_is_queued_in_a_handful_of_statements(make_attendee, statements):
    for _ in range(60):
        make_attendee()
    crowd = db.session.scalars(select(Attendee)).all()  # as a caller has them: loaded
    values = {"title": "Lunch", "body": "In the Festsaal"}
    statements.clear()
    done = notify("announcement", crowd, values, key="announcement:1")
    assert done.queued == 60
    # one INSERT; on PostgreSQL also the NOTIFY that wakes the workers at commit
    wake = [f"NOTIFY {outbox.CHANNEL}"] if db.engine.dialect.name == "postgresql" else []
    assert statements[0].startswith("INSERT")
    assert statements[1:] == wake


def test_the_same_key_twice_is_one_message(make_attendee):
    ada = make_attendee()
    values = {"title": "Lunch", "body": "In the Festsaal"}
    notify("announcement", [ada], values, key="announcement:1")
    notify("announcement", [ada], {**values, "body": "In the Zeremoniensaal"},
           key="announcement:1")
    rows = db.session.scalars(select(OutboxMessage)).all()
    assert [row.body for row in rows] == ["In the Zeremoniensaal"]


def test_an_unknown_kind_or_priority_is_refused(make_attendee):
    with pytest.raises(ValueError):
        notify("telegram", [make_attendee()], {}, key="x")
    with pytest.raises(ValueError):
        notify("announcement", [make_attendee()], {"title": "t", "body": "b"}, key="x",
               priority="shouting")


# --- one transaction per request ------------------------------------------------------

def test_a_failure_after_the_write_leaves_neither_the_change_nor_its_outbox_rows(
        app, conference, make_attendee, bearer):
    """The bookmark and its reminder are written by the real operation; then the
    request fails. The request commits once, at its end: nothing of it remains."""
    failing = {"after_write": True}

    @app.route("/test/follow-then-fail/<int:session_id>", methods=["POST"])
    def follow_then_fail(session_id):
        attendee = authenticate()
        operations.choose_session(attendee, session_id, following=True)
        assert db.session.scalar(select(func.count(OutboxMessage.id))) == 1  # written...
        if failing["after_write"]:
            raise RuntimeError("the disk is full")  # ... then the request fails
        return "", 204

    keynotes = db.session.scalar(select(Session).where(Session.key == "keynotes"))
    headers = bearer(make_attendee())
    client = app.test_client()

    response = client.post(f"/test/follow-then-fail/{keynotes.id}", headers=headers)
    assert response.status_code == 500
    assert db.session.scalar(select(func.count(Bookmark.session_id))) == 0
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0

    failing["after_write"] = False
    response = client.post(f"/test/follow-then-fail/{keynotes.id}", headers=headers)
    assert response.status_code == 204
    db.session.rollback()  # what the database holds, not what this session remembers
    assert db.session.scalar(select(func.count(Bookmark.session_id))) == 1
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 1
