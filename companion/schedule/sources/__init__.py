"""Schedules from outside, through one door: frab schedule XML, c3voc ``schedule.json``
(what pretalx serves) and our own conference JSON, recognised from their content,
checked at the edge and parsed into a `Programme` (``companion.schedule.programme``) for
the one import operation.

A file the import cannot use raises `SourceError` naming its line (XML) or JSON path;
what only strays from the strictest schema (older frab's guids that are not UUIDs, a
missing abstract) is a line of ``programme.warnings``.
"""

import json

from ..programme import Programme, SourceError
from . import c3voc, checks, frab, ours

__all__ = ["Programme", "SourceError", "parse"]

UNKNOWN = "not a frab schedule XML, c3voc schedule.json or conference JSON"


def parse(content: bytes | str, timezone: str | None = None) -> Programme:
    """The programme of a file in any of the three formats. ``timezone`` reads the times
    without an offset of a file that names no zone of its own; ``programme.timezone`` is
    the file's own zone only (None when it names none)."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    if len(data) > checks.MAX_BYTES:
        raise SourceError(f"the file is larger than {checks.MAX_BYTES // 2**20} MB")
    strays = checks.Strays()
    first = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if first == b"<":
        root = frab.parse_xml(data)
        if root.tag == "schedule":
            return checks.finish(frab.read(root, timezone, strays), strays)
    elif first == b"{":
        document = _json(data)
        if isinstance(document.get("schedule"), dict):
            return checks.finish(c3voc.read(document, timezone, strays), strays)
        if {"event", "rooms", "sessions"} <= document.keys():
            return checks.finish(ours.read(document, strays), strays)
    raise SourceError(UNKNOWN)


def _json(data: bytes) -> dict:
    try:
        return json.loads(data)
    except json.JSONDecodeError as error:
        raise SourceError(f"not well-formed JSON: {error.msg}",
                          f"line {error.lineno} column {error.colno}") from None
    except UnicodeDecodeError:
        raise SourceError("not well-formed JSON: not UTF-8 text") from None
    except RecursionError:
        raise SourceError("not well-formed JSON: nested too deeply") from None
