"""What organisers and moderators do to an event: the audit log of their actions."""

from . import audit  # noqa: F401  (registers the table)
