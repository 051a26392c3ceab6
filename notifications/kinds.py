"""Every kind of push: its preference category, texts, collapse key, expiry and FCM options.

A new kind is one `Kind` in `KINDS` plus its texts in the catalogues
(``notifications/locale/<lang>/LC_MESSAGES/messages.po``; ``make catalogues`` extracts
new texts and updates every language). Texts are written through `Reader`: gettext and
plurals of the reader's language, times formatted by Babel for their locale.

Lock screens show ``title`` and ``body``: they may carry a session's title, a time and a
room, and nothing about a person (the values named in ``personal``). What names a person
goes into ``inbox_body``, which only the signed-in app shows.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_time
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("en", "fr", "de", "it", "ru", "es")
FALLBACK = "en"
# Whose conventions format times: English as written in Europe (16:30, not 4:30 PM).
LOCALES = {"en": "en_GB"}

# Android priority, and on iOS apns-priority with the interruption level.
PRIORITIES = ("normal", "high", "urgent")  # urgent: high, and time-sensitive on iOS


def N_(message: str) -> str:
    """Marks a text for the catalogues where it is defined; translated where it is used."""
    return message


@lru_cache(maxsize=None)
def compiled(language: str) -> bytes:
    """The catalogue of a language, read from its .po with Babel, compiled in memory."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po:
        catalogue = read_po(po, locale=language)
    written = BytesIO()
    write_mo(written, catalogue)
    return written.getvalue()


@lru_cache(maxsize=None)
def translations(language: str) -> Translations:
    return Translations(BytesIO(compiled(language)))


@lru_cache(maxsize=None)
def translated(language: str) -> frozenset:
    """The keys gettext finds in the compiled catalogue: a text, or (singular, form)."""
    keys = set()
    for message in read_mo(BytesIO(compiled(language))):
        if message.pluralizable:
            keys.update((message.id[0], form) for form in range(len(message.string)))
        else:
            keys.add(message.id)
    return frozenset(keys)


class Reader:
    """Writes texts for a reader of one language: their catalogue and their locale."""

    def __init__(self, language: str | None, strict: bool = False):
        self.language = language if language in LANGUAGES else FALLBACK
        self.locale = Locale.parse(LOCALES.get(self.language, self.language))
        self._translations = translations(self.language)
        self.strict = strict  # tests: a text missing from the catalogue is an error
        self.missing: list[str] = []

    def _check(self, message: str) -> None:
        if self.strict and message not in translated(self.language):
            self.missing.append(message)

    def gettext(self, message: str, **values) -> str:
        self._check(message)
        return self._translations.gettext(message) % values

    def ngettext(self, singular: str, plural: str, n: int, **values) -> str:
        self._check((singular, 0))
        return self._translations.ngettext(singular, plural, n) % {"num": n, **values}

    def time(self, instant: str | datetime, timezone: str) -> str:
        """A time of day as the reader's locale writes it, in the event's zone."""
        if isinstance(instant, str):
            instant = datetime.fromisoformat(instant)
        return format_time(instant, format="short", tzinfo=ZoneInfo(timezone),
                           locale=self.locale)


@dataclass(frozen=True)
class Texts:
    title: str
    body: str
    inbox_body: str | None = None  # the inbox's fuller text, where the push says less


@dataclass(frozen=True)
class Kind:
    name: str
    # The attendee's switch (``notify`` in /me) that mutes it; None: never muted.
    category: str | None
    texts: Callable[[Reader, dict], Texts]
    collapse_key: Callable[[dict], str | None] = lambda values: None
    # Time to live from its due time; None: until the caller's ``expires_at``, if any.
    ttl: timedelta | None = None
    priority: str = "normal"
    personal: tuple[str, ...] = ()  # values that name a person: never on the lock screen
    # A big audience's messages may be written by the dispatcher just before it sends
    # them (models.OutboxFanout): nothing reads or re-keys them until then.
    fan_out: bool = False
    # Values that exercise every text of the kind (the catalogue tests render them).
    examples: tuple[dict, ...] = field(default=())


def where(reader: Reader, values: dict) -> str:
    """A session's local start time, with its room when it has one."""
    time = reader.time(values["starts_at"], values["timezone"])
    if values.get("room"):
        return reader.gettext("%(time)s · %(room)s", time=time, room=values["room"])
    return time


# --- reminder --------------------------------------------------------------------

def reminder_texts(reader: Reader, values: dict) -> Texts:
    title = reader.gettext("Reminder: %(title)s", title=values["title"])
    starts = reader.gettext("Starts at %(time)s",
                            time=reader.time(values["starts_at"], values["timezone"]))
    if values.get("room"):
        starts = reader.gettext("%(time)s · %(room)s", time=starts, room=values["room"])
    return Texts(title, starts)


SESSION_EXAMPLE = {"title": "Panel 1 – The scope and nature of the problem",
                   "starts_at": "2020-03-30T14:30:00+00:00", "timezone": "Europe/Vienna",
                   "room": "Neuer Saal", "session_id": 5}


# --- schedule change -------------------------------------------------------------

# What a changed session says, by the change that matters most to its followers.
CHANGE_LINES = {
    "cancelled": N_("%(title)s is cancelled"),
    "removed": N_("%(title)s is no longer on the programme"),
    "added": N_("%(title)s is on: %(where)s"),
    "uncancelled": N_("%(title)s is on: %(where)s"),
    "moved": N_("%(title)s now starts at %(where)s"),
    "room_changed": N_("%(title)s changes room: %(where)s"),
    "changed": N_("%(title)s has changed: %(where)s"),
}


def change_line(reader: Reader, change: dict) -> str:
    line = CHANGE_LINES.get(change["change"], CHANGE_LINES["changed"])
    return reader.gettext(line, title=change["title"], where=where(reader, change))


def schedule_change_texts(reader: Reader, values: dict) -> Texts:
    """One session changed: what and when. Several: how many, with the list in the inbox."""
    changes = values["changes"]
    title = reader.gettext("Schedule change")
    if len(changes) == 1:
        return Texts(title, change_line(reader, changes[0]))
    body = reader.ngettext("%(num)d session changed", "%(num)d sessions changed",
                           len(changes))
    return Texts(title, body, "\n".join(change_line(reader, change) for change in changes))


# --- announcement ----------------------------------------------------------------

def announcement_texts(reader: Reader, values: dict) -> Texts:
    """The organisers' own words, in the reader's language if they wrote it, else the main
    text: never machine-translated."""
    own = (values.get("texts") or {}).get(reader.language) or {}
    return Texts(own.get("title") or values["title"], own.get("body") or values["body"])


# --- moderator's ping ------------------------------------------------------------

PING_TEMPLATES = {
    "on_in_5": N_("You are on in 5 minutes"),
    "to_stage": N_("Please come to the stage"),
    "two_minutes": N_("2 minutes left"),
    "wrap_up": N_("Please wrap up"),
}


def ping_texts(reader: Reader, values: dict) -> Texts:
    template = values.get("template")
    body = reader.gettext(PING_TEMPLATES[template]) if template else values["message"]
    return Texts(values["title"], body)


def ping_ack_texts(reader: Reader, values: dict) -> Texts:
    """To the ping's sender: a speaker saw it. Who, only in the inbox; nobody once that
    speaker is erased (notifications/privacy.py writes it again without the name)."""
    if values.get("name"):
        inbox = reader.gettext("%(name)s has seen your ping about %(title)s.",
                               name=values["name"], title=values["title"])
    else:
        inbox = reader.gettext("A speaker has seen your ping about %(title)s.",
                               title=values["title"])
    return Texts(reader.gettext("Ping acknowledged"),
                 reader.gettext("%(title)s: a speaker has seen your ping.",
                                title=values["title"]),
                 inbox)


# --- networking ------------------------------------------------------------------

def contact_request_texts(reader: Reader, values: dict) -> Texts:
    return Texts(reader.gettext("New contact request"),
                 reader.gettext("Open the app to answer it."),
                 reader.gettext("%(name)s would like to exchange contacts with you.",
                                name=values["name"]))


def contact_accepted_texts(reader: Reader, values: dict) -> Texts:
    return Texts(reader.gettext("Contact request accepted"),
                 reader.gettext("You have a new contact."),
                 reader.gettext("%(name)s accepted your contact request.",
                                name=values["name"]))


def per_session(values: dict) -> str | None:
    return f"session-{values['session_id']}" if values.get("session_id") else None


KINDS: dict[str, Kind] = {kind.name: kind for kind in (
    Kind("reminder", "reminders", reminder_texts, collapse_key=per_session,
         priority="high",
         examples=(SESSION_EXAMPLE, {**SESSION_EXAMPLE, "room": None})),
    Kind("schedule_change", "schedule_changes", schedule_change_texts,
         collapse_key=lambda values: "schedule", ttl=timedelta(hours=12), priority="high",
         fan_out=True,
         examples=tuple(
             {"changes": [{**SESSION_EXAMPLE, "change": change}] * count}
             for change in CHANGE_LINES for count in (1, 3, 5, 21)
         )),
    Kind("announcement", "announcements", announcement_texts, ttl=timedelta(hours=24),
         examples=({"title": "Room change", "body": "Lunch is served in the Festsaal.",
                    "texts": {"fr": {"title": "Changement", "body": "Le déjeuner..."}}},)),
    Kind("ping", None, ping_texts, collapse_key=per_session, ttl=timedelta(minutes=5),
         priority="urgent",
         examples=tuple({"title": "Panel 3", "session_id": 7, "template": template}
                        for template in PING_TEMPLATES)
         + ({"title": "Panel 3", "session_id": 7, "message": "Mic 2 is yours"},)),
    # The sender asked for it: never muted; of no use once the session is long over.
    Kind("ping_ack", None, ping_ack_texts, ttl=timedelta(minutes=30), priority="high",
         personal=("name",),
         examples=({"title": "Panel 3", "session_id": 7, "name": "Ada Lovelace"},
                   {"title": "Panel 3", "session_id": 7})),
    Kind("contact_request", "networking", contact_request_texts, ttl=timedelta(days=7),
         personal=("name",), examples=({"name": "Ada Lovelace"},)),
    Kind("contact_accepted", "networking", contact_accepted_texts, ttl=timedelta(days=7),
         personal=("name",), examples=({"name": "Ada Lovelace"},)),
)}


def get(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"no kind of push named {name!r}") from None


def render(kind: str, language: str | None, values: dict) -> Texts:
    """The texts of a message of this kind, from its values, in a language."""
    return get(kind).texts(Reader(language), values)
