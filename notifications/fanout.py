"""A message to a crowd, written by the dispatcher: a deferred job (notifications/jobs.py).

Writing thousands of outbox rows (each into six indexes) was most of a release's time.
For the kinds whose messages nothing reads before they are sent (`kinds.Kind.fan_out`)
and a crowd (`jobs.crowded`), `notify.write_shared` defers a job per language saying
who, what and when, and the worker writes the rows (`expand`) before it claims.
"""

from datetime import datetime

from . import jobs
from . import notify as messages

FAN_OUT = "fan_out"
# What a fan-out keeps of write_shared's values (the rest is the same for every message).
COLUMNS = ("kind", "session_id", "title", "body", "inbox_body", "text_values", "data",
           "collapse_key", "priority", "due_at", "expires_at", "created_at")
MOMENTS = ("due_at", "expires_at", "created_at")


def payload(key: str, attendee_ids: str, shared: dict) -> dict:
    """The job of the messages of key pattern ``key`` with the ``shared`` columns to the
    attendees ``attendee_ids`` (`companion.db.ids_text`), as JSON (moments in ISO 8601)."""
    return {"key": key, "attendee_ids": attendee_ids, **{
        name: shared[name].isoformat() if isinstance(shared[name], datetime) else shared[name]
        for name in COLUMNS}}


@jobs.job(FAN_OUT)
def expand(job: dict) -> int:
    """Write the messages of a fan-out, a row per attendee as `write_shared` would have
    written them; how many. An attendee erased meanwhile gets nothing."""
    columns = {name: job[name] for name in COLUMNS}
    for name in MOMENTS:
        if columns[name] is not None:
            columns[name] = datetime.fromisoformat(columns[name])
    shared = messages.new_message(job["key"], columns["due_at"], **columns)
    return messages.insert_shared(job["key"], shared, job["attendee_ids"])
