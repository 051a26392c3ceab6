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
- `contact_requested` (sender: the new `ContactRequest`): someone asked another attendee
  to exchange contacts. Received by ``notifications.networking.on_contact_requested``
  (pushes ``contact_request`` to the recipient).
- `contact_accepted` (sender: the accepted `ContactRequest`): the recipient accepted.
  Received by ``notifications.networking.on_contact_accepted`` (pushes
  ``contact_accepted`` to the requester).
- `attendees_erasing` (sender: the ids of attendees about to be erased): their own rows
  go by their foreign keys (companion.people.privacy); what other tables say about them
  goes here. Received by ``notifications.privacy.on_attendees_erasing`` (deletes or
  anonymises the pushes to others that name them) and
  ``companion.idempotency.on_attendees_erasing`` (the answers kept for others'
  Idempotency-Keys that name them); each returns how many rows it changed, by table.
- `attendee_exporting` (sender: the id of an attendee asking for their data): what other
  tables say about them without a foreign key to them. Received by
  ``notifications.privacy.on_attendee_exporting`` (the pushes to others that name them)
  and ``companion.idempotency.on_attendee_exporting`` (others' kept answers that name
  them, without the answer); each returns lists of rows by table.
- `schedule_released` (sender: the event; ``version``: the new `ScheduleVersion`,
  ``sessions``: the live sessions it changed or added, ``removed``: ids of the sessions
  it removed, ``affected``: `companion.schedule.releasing.Affected`, who is concerned,
  found before the rows changed): an organiser released a version (publish, delay,
  moving the event). Received by ``notifications.releases.on_schedule_released``
  (re-plans those sessions' reminders, cancels a removed session's, and queues one
  ``schedule_change`` push per affected attendee); its result's ``queued`` counts them.
"""

from blinker import Namespace

changes = Namespace()

agendas_changed = changes.signal("agendas-changed")
sessions_changed = changes.signal("sessions-changed")
contact_requested = changes.signal("contact-requested")
contact_accepted = changes.signal("contact-accepted")
attendees_erasing = changes.signal("attendees-erasing")
attendee_exporting = changes.signal("attendee-exporting")
schedule_released = changes.signal("schedule-released")
