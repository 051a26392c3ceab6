"""Time: stored in UTC, shown in the event's own time zone, never naive."""

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

from marshmallow import ValidationError, fields
from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """A timestamp column that only accepts aware datetimes and returns UTC.

    SQLite has no time zone type, so the value is stored there as naive UTC;
    PostgreSQL gets a real ``timestamptz``. Either way Python sees aware UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def local_to_utc(day: date, wall: time, tz: str) -> datetime:
    """The UTC instant of a wall-clock time on a day in a time zone."""
    return datetime.combine(day, wall, tzinfo=ZoneInfo(tz)).astimezone(timezone.utc)


def localise(value: datetime | None, tz: str) -> datetime | None:
    return None if value is None else value.astimezone(ZoneInfo(tz))


# The instants an input may name, in UTC: a year inside the calendar's ends, so that the
# instant in any zone, and a day's or a reminder's arithmetic on it, is still a datetime.
EARLIEST = datetime(2, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(9998, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc)


class EventDateTime(fields.AwareDateTime):
    """An ISO 8601 field that rejects naive input and renders in the event's zone.

    Every datetime the API takes is one of these: an instant outside years 2 to 9998
    in UTC (``9999-12-31T23:30:00-05:00`` is in year 10000) is refused, not an
    OverflowError later. The object being dumped names its zone in a ``timezone``
    attribute.
    """

    def _deserialize(self, value, attr, data, **kwargs):
        instant = super()._deserialize(value, attr, data, **kwargs)
        try:
            in_range = EARLIEST <= instant.astimezone(timezone.utc) <= LATEST
        except OverflowError:
            in_range = False
        if not in_range:
            raise ValidationError("Must be from 0002-01-01 to 9998-12-31 in UTC.")
        return instant

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None:
            value = localise(value, getattr(obj, "timezone", "UTC"))
        return super()._serialize(value, attr, obj, **kwargs)
