"""The audit log, filtered by action and who."""

from flask import request
from sqlalchemy import select

from ..extensions import db
from ..organising.audit import AuditEntry, entries_query
from ..organising.audit_views import AuditQuerySchema
from .forms import Refused, from_local, load
from .pages import attendees_by_id, blp, me, organisers_only, page


@blp.route("/audit")
@organisers_only
def audit():
    event = me().event
    raw, errors = {}, {}
    for name in ("action", "subject", "actor_id"):
        value = request.args.get(name, "").strip()
        if value:
            raw[name] = value
    for name in ("since", "until"):
        value = request.args.get(name, "").strip()
        if value:
            try:
                raw[name] = from_local(value, event.timezone)
            except ValueError as error:
                errors[name] = [str(error)]
    entries, status = [], 200
    try:
        if errors:
            raise Refused(422, "The request is not valid.", errors)
        filters = load(AuditQuerySchema(), raw)
        entries = db.session.scalars(entries_query(event, filters).limit(500)).all()
    except Refused as refused:
        errors, status = refused.errors, refused.status
    actions = db.session.scalars(select(AuditEntry.action).distinct()
                                 .where(AuditEntry.event_id == event.id)
                                 .order_by(AuditEntry.action)).all()
    actors = [a for a in attendees_by_id().values()
              if a.has_role("organiser") or a.has_role("moderator")]
    return page("audit.html", status, title="Audit log", entries=entries,
                errors=errors, args=request.args, actions=actions, actors=actors)
