"""What organising needs of the push machinery, without importing it.

``companion`` never imports ``notifications`` (one direction between areas). The push
side of announcements and pings lives in ``notifications.broadcasts``, which plugs
itself in when the app starts (``notifications.init_app`` calls `provide`). Operations
here reach it through `delivery()`; what they ask of it is this protocol.

Every message belongs to an *origin* (``announcement:<id>``, ``ping:<id>``): the
outbox rows of one announcement or ping, whose statuses are its delivery figures.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from flask import current_app

from ..people.models import Attendee
from .models import Announcement, Ping

EXTENSION = "organising.delivery"


@dataclass
class Figures:
    """Messages of one origin by status, and device tokens found dead while sending them."""

    queued: int = 0  # waiting to go (pending, or being sent right now)
    sent: int = 0
    failed: int = 0
    expired: int = 0
    cancelled: int = 0
    tokens_pruned: int = 0
    started: bool = False  # any of them tried already: too late to change
    # By recipient (attendee id): (status, when it was sent); pings show these.
    by_recipient: dict[int, tuple[str, datetime | None]] = field(default_factory=dict)


class Delivery(Protocol):
    def announce(self, announcement: Announcement, recipients: Sequence[Attendee]) -> int:
        """Queue it for each recipient at its ``send_at`` (again: refresh); how many."""

    def withdraw(self, origin: str) -> int:
        """Cancel the messages of ``origin`` that have not gone out; how many."""

    def figures(self, origins: Sequence[str], recipients: bool = False) -> dict[str, Figures]:
        """Figures of each origin (``by_recipient`` filled in when asked)."""

    def ping(self, ping: Ping, speakers: Sequence[Attendee]) -> int:
        """Push the ping to the speakers, now, urgently, never muted; how many."""

    def acknowledged(self, ping: Ping, speaker: Attendee) -> int:
        """Tell the ping's sender that the speaker acknowledged it."""


def provide(app, implementation: Delivery) -> None:
    app.extensions[EXTENSION] = implementation


def delivery() -> Delivery:
    try:
        return current_app.extensions[EXTENSION]
    except KeyError:
        raise RuntimeError("no push delivery plugged in (notifications.init_app)") from None
