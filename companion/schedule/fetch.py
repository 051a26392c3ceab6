"""A schedule's URL read again the cheap way: ``If-None-Match``/``If-Modified-Since``,
so that an unchanged source answers 304 and costs nothing; a source that fails raises
`SourceError`, for the caller to log and try again next time."""

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from .programme import SourceError
from .sources.checks import MAX_BYTES

ACCEPT = "application/xml, text/xml;q=0.9, application/json;q=0.9, */*;q=0.5"
USER_AGENT = "alliance-companion schedule import"
CHUNK = 64 * 1024


@dataclass
class Fetched:
    not_modified: bool
    content: bytes | None      # None when not modified
    etag: str | None           # to send back next time
    last_modified: str | None


def fetch(url: str, etag: str | None = None, last_modified: str | None = None,
          timeout: float = 20) -> Fetched:
    """The source's content, or ``not_modified`` when the validators still hold.
    ``timeout`` bounds the connection, each read and the whole download."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError(f"not an http or https URL: {url!r}")
    headers = {"Accept": ACCEPT, "User-Agent": USER_AGENT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    started = time.monotonic()
    try:
        with requests.get(url, headers=headers, timeout=timeout, stream=True) as response:
            if response.status_code == 304:
                return Fetched(True, None, response.headers.get("ETag", etag),
                               response.headers.get("Last-Modified", last_modified))
            if response.status_code != 200:
                raise SourceError(f"{url} answered HTTP {response.status_code}")
            content = _body(response, url, started, timeout)
            return Fetched(False, content, response.headers.get("ETag"),
                           response.headers.get("Last-Modified"))
    except requests.RequestException as error:
        raise SourceError(f"could not read {url}: {type(error).__name__}") from None


def _body(response: requests.Response, url: str, started: float, timeout: float) -> bytes:
    """The body, read no further than MAX_BYTES (decompressed) and than ``timeout``."""
    too_big = SourceError(f"{url} is larger than {MAX_BYTES // 2**20} MB")
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_BYTES:
        raise too_big
    body = bytearray()
    for chunk in response.iter_content(CHUNK):
        body += chunk
        if len(body) > MAX_BYTES:
            raise too_big
        if time.monotonic() - started > timeout:
            raise SourceError(f"{url} took longer than {timeout:g} s")
    return bytes(body)
