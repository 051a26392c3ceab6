"""An event's days: they begin at its ``day_change`` (local time), not always at midnight.

A frab schedule may run a day until 04:00 the next morning: a session at 00:15 belongs to
the day before, in the agenda, the exports and a delay's "what follows it that day".
Every place that asks which day a session is on asks here.
"""

from datetime import date, datetime, time, timedelta

from ..timeutil import local_to_utc, localise


def day_change(event) -> time:
    return getattr(event, "day_change", None) or time(0)


def event_day(event, instant: datetime) -> date:
    """The event day an instant belongs to."""
    change = day_change(event)
    local = localise(instant, event.timezone)
    return (local - timedelta(hours=change.hour, minutes=change.minute)).date()


def day_bounds(event, day: date) -> tuple[datetime, datetime]:
    """The UTC instants at which an event day begins and ends."""
    change = day_change(event)
    return (local_to_utc(day, change, event.timezone),
            local_to_utc(day + timedelta(days=1), change, event.timezone))


def event_bounds(event) -> tuple[datetime, datetime]:
    """From the beginning of the event's first day to the end of its last."""
    return day_bounds(event, event.starts_on)[0], day_bounds(event, event.ends_on)[1]
