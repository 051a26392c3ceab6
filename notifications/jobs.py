"""Deferred work: what a transaction leaves to the dispatcher, done before it claims.

A job is a kind and a JSON payload (models.DeferredJob). `defer` writes one in the
caller's transaction (and wakes the workers when it commits); `run_waiting`, the
dispatcher's first step, takes waiting jobs (on PostgreSQL ``FOR UPDATE SKIP LOCKED``:
a job another worker runs is skipped, not waited for; on SQLite the write lock keeps
workers apart), deletes them and calls the function registered for each kind
(`job`). A new kind of deferred work is a function and a `job` decorator: no table,
no migration, no clause in the claim.

What decides that work is deferred is `crowded`: the one threshold,
``PUSH_FANOUT_FROM``.
"""

from collections.abc import Callable

from flask import current_app
from companion.extensions import db
from companion.timeutil import utcnow

from . import outbox
from .models import DeferredJob

JOBS = DeferredJob.__table__
# kind -> the function that does a job of that kind, given its payload
KINDS: dict[str, Callable[[dict], object]] = {}


def job(kind: str):
    """Register the decorated function as what a job of ``kind`` does."""
    def register(function):
        KINDS[kind] = function
        return function
    return register


def crowded(people: int) -> bool:
    """Whether work for this many people is left to the dispatcher: the release answers
    sooner, the worker writes the rows."""
    return people >= current_app.config["PUSH_FANOUT_FROM"]


def defer(kind: str, payloads: list[dict]) -> None:
    """Jobs of ``kind``, one per payload, in the caller's transaction."""
    if kind not in KINDS:
        raise LookupError(f"no deferred job of kind {kind!r}")
    if payloads:
        now = utcnow()
        db.session.execute(JOBS.insert(), [{"kind": kind, "payload": payload,
                                            "created_at": now} for payload in payloads])
        outbox.wake_workers()


def run_waiting(limit: int = 20) -> int:
    """Run up to ``limit`` waiting jobs, oldest first, deleting them; how many ran.
    In the caller's transaction: the work and the deletion commit together."""
    taken = outbox.take_waiting(JOBS, limit, JOBS.c.kind, JOBS.c.payload)
    for row in taken:
        KINDS[row.kind](row.payload)
    return len(taken)
