"""Built-in texts of the pushes, in the conference's languages.

Pushes show on lock screens, so a text carries nothing personal: only the session's
title, its local start time and its room.
"""

from companion.timeutil import localise

FALLBACK = "en"

TEXTS = {
    "reminder": {
        "en": {"title": "Reminder: {title}", "starts": "Starts at {time}"},
        "fr": {"title": "Rappel : {title}", "starts": "Commence à {time}"},
        "de": {"title": "Erinnerung: {title}", "starts": "Beginnt um {time} Uhr"},
        "it": {"title": "Promemoria: {title}", "starts": "Inizia alle {time}"},
        "ru": {"title": "Напоминание: {title}", "starts": "Начало в {time}"},
        "es": {"title": "Recordatorio: {title}", "starts": "Empieza a las {time}"},
    },
}


def texts(kind: str, language: str | None) -> dict:
    """The texts of a kind of message in a language, English when we have none."""
    catalogue = TEXTS[kind]
    return catalogue.get(language or FALLBACK) or catalogue[FALLBACK]


def render(kind: str, language: str | None, values: dict) -> tuple[str, str]:
    """Title and body of a message of this kind, from its values, in a language."""
    if kind == "reminder":
        words = texts(kind, language)
        body = words["starts"].format(time=values["time"])
        if values.get("room"):
            body = f"{body} · {values['room']}"
        return words["title"].format(title=values["title"]), body
    raise ValueError(f"no texts for messages of kind {kind!r}")


def reminder_values(session) -> dict:
    """What a session reminder says: title, local start time and room; nothing personal."""
    return {
        "title": session.title,
        "time": localise(session.starts_at, session.timezone).strftime("%H:%M"),
        "room": session.room.name if session.room is not None else None,
    }
