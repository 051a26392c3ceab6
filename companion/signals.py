"""What a change announces, and who reacts to it.

The agenda and the people areas never call the push machinery: a change sends one of
these signals in its own transaction, and the receivers listed here do their part in
that same transaction (nothing commits until the request or command does).

- `agendas_changed` (sender: the attendees; ``session_ids``: only these sessions, or
  None for all): what is on their agendas, or their reminder settings, changed (a
  bookmark, /me preferences, an import).
  Received by ``notifications.reminders.on_agendas_changed`` (re-plans their reminders).
- `sessions_changed` (sender: the event; ``sessions``: the sessions, or None for all):
  sessions were added, moved, retitled, cancelled or given other people (seed, edits).
  Received by ``notifications.reminders.on_sessions_changed`` (re-plans everyone
  concerned).
"""

from blinker import Namespace

changes = Namespace()

agendas_changed = changes.signal("agendas-changed")
sessions_changed = changes.signal("sessions-changed")
