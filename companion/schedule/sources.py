"""TEMPORARY (replaced by the sources branch): our own conference JSON only."""

import json

from .programme import Programme, SourceError


def parse(content: bytes | str, timezone: str | None = None) -> Programme:
    from .importing import programme_from_conference
    try:
        data = json.loads(content)
    except ValueError as error:
        raise SourceError(str(error)) from None
    return programme_from_conference(data)
