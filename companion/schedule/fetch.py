"""TEMPORARY (replaced by the sources branch)."""

from dataclasses import dataclass


@dataclass
class Fetched:
    not_modified: bool
    content: bytes | None
    etag: str | None
    last_modified: str | None


def fetch(url, etag=None, last_modified=None, timeout=20) -> Fetched:
    import requests
    response = requests.get(url, timeout=timeout)
    return Fetched(False, response.content, response.headers.get("ETag"),
                   response.headers.get("Last-Modified"))
