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
- `schedule_released` (sender: the event; ``version``: the new `ScheduleVersion`,
  ``sessions``: the live sessions it changed or added, ``removed``: ids of the sessions
  it removed, ``affected``: `companion.schedule.releases.Affected`, who is concerned,
  found before the rows changed): an organiser released a version (publish, delay,
  moving the event). Received by ``notifications.releases.on_schedule_released``
  (re-plans those sessions' reminders, cancels a removed session's, and queues one
  ``schedule_change`` push per affected attendee); its result's ``queued`` counts them.
"""

from blinker import Namespace

changes = Namespace()

agendas_changed = changes.signal("agendas-changed")
sessions_changed = changes.signal("sessions-changed")
schedule_released = changes.signal("schedule-released")
