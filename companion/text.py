"""Text in and out: characters no field takes, line breaks only in multi-line fields,
and CSV cells a spreadsheet would run as formulas.

Control characters (C0 but tab, line feed and carriage return; DEL; C1) and the
non-characters U+FFFE and U+FFFF belong in no title, name or body: XML cannot hold most
of them (one made ``schedule.xml`` fail for everyone) and calendars and vCards carry them
raw. They are refused where text comes in (the API's door in companion/http.py, the
console's forms, the attendees' CSV); what was stored before is stripped on the way out.
"""

import re

from marshmallow import ValidationError

CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
LINE_BREAKS = re.compile("[\t\n\r\u2028\u2029]")
# What a spreadsheet reads as the start of a formula (OWASP's CSV injection advice).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def printable(text: str | None) -> str | None:
    """``text`` without control characters: what an export writes of a stored text."""
    return text if text is None else CONTROL.sub("", text)


def no_control(value: str) -> None:
    """Validator of text loaded outside the API's door (a CSV, a console form)."""
    if CONTROL.search(value):
        raise ValidationError("Control characters are not accepted.")


def one_line(value: str) -> None:
    """Validator of a title or a name: no line breaks, no tabs."""
    if LINE_BREAKS.search(value):
        raise ValidationError("Must be one line: no line breaks or tabs.")


def spreadsheet_cell(value):
    """A CSV cell that a spreadsheet shows as text: one that could start a formula
    gets a leading single quote (OWASP)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
