"""Business-hours arithmetic for the first-response SLA. Pure functions: no database, no clock.

A schedule is `{"mon": [["09:00", "17:00"]], ...}` in one time zone: the spans of each weekday when
the sales team works (several spans allow a lunch break; a day missing or empty is closed), plus
holidays (dates closed all day). "Four business hours" after a lead arrives on Friday at 16:00 is
Monday at 12:00 for a nine-to-five team.

Spans are laid on the calendar in local time and measured in real (UTC) time, so a span on the
night the clocks change lasts what the clock on the wall says it lasts: 01:00–05:00 on the night
summer time starts is three hours of work, not four.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Used while an admin has set no hours of their own: Monday to Friday, nine to five.
DEFAULT_HOURS = {day: [["09:00", "17:00"]] for day in WEEKDAYS[:5]}
# A schedule with open hours finds its deadline well within this many days; past it the schedule
# has no open hours left (e.g. every remaining day a holiday) and the deadline is undefined.
SEARCH_DAYS = 800


class ScheduleError(ValueError):
    """The schedule cannot be used: `errors` names each bad part and why."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def _parse_time(text) -> dt.time:
    if not isinstance(text, str):
        raise ValueError
    if text.strip() == "24:00":
        return dt.time.max
    hour, minute = text.strip().split(":")
    if len(minute) != 2:
        raise ValueError
    return dt.time(int(hour), int(minute))


def clean_schedule(business_hours, time_zone, holidays) -> tuple[dict[int, list[tuple[dt.time, dt.time]]], ZoneInfo,
                                                                   frozenset[dt.date]]:
    """Check a schedule as people write it and return it as (spans by weekday number, zone, holidays).

    Raises `ScheduleError` naming the day, zone or holiday that is wrong, so a settings form or
    the API can say exactly what to fix.
    """
    errors: dict[str, str] = {}
    try:
        zone = ZoneInfo(str(time_zone))
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        errors["time_zone"] = f"'{time_zone}' is not a time zone; use a name such as Europe/Berlin"
        zone = None
    spans: dict[int, list[tuple[dt.time, dt.time]]] = {}
    if not isinstance(business_hours, dict):
        errors["business_hours"] = "give the hours per weekday, e.g. {\"mon\": [[\"09:00\", \"17:00\"]]}"
        business_hours = {}
    for key, day_spans in business_hours.items():
        if key not in WEEKDAYS:
            errors[f"business_hours.{key}"] = "unknown day; use mon, tue, wed, thu, fri, sat or sun"
            continue
        parsed = []
        for span in day_spans or []:
            try:
                opens, closes = (_parse_time(t) for t in span)
            except (TypeError, ValueError):
                errors[f"business_hours.{key}"] = "write each span as two times, e.g. [\"09:00\", \"17:00\"]"
                break
            if closes <= opens:
                errors[f"business_hours.{key}"] = f"{span[0]}–{span[1]}: the end must come after the start"
                break
            parsed.append((opens, closes))
        parsed.sort()
        if any(later[0] < earlier[1] for earlier, later in zip(parsed, parsed[1:], strict=False)):
            errors[f"business_hours.{key}"] = "the spans of a day overlap"
        spans[WEEKDAYS.index(key)] = parsed
    if not errors and not any(spans.values()):
        errors["business_hours"] = "open at least one span on one weekday"
    days = set()
    for value in holidays or []:
        try:
            days.add(value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)))
        except ValueError:
            errors["holidays"] = f"'{value}' is not a date; use YYYY-MM-DD"
    if errors:
        raise ScheduleError(errors)
    return spans, zone, frozenset(days)


def _open_spans(day: dt.date, spans, zone: ZoneInfo, holidays) -> Iterable[tuple[dt.datetime, dt.datetime]]:
    """The day's open spans as UTC instants (none on a holiday or a closed weekday)."""
    if day in holidays:
        return
    for opens, closes in spans.get(day.weekday(), ()):
        start = dt.datetime.combine(day, opens, tzinfo=zone).astimezone(dt.UTC)
        if closes == dt.time.max:
            end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone).astimezone(dt.UTC)
        else:
            end = dt.datetime.combine(day, closes, tzinfo=zone).astimezone(dt.UTC)
        yield start, end


def add_business_hours(start: dt.datetime, hours, *, business_hours, time_zone="UTC", holidays=()) -> dt.datetime:
    """The instant (UTC) at which `hours` of business time have passed since `start`.

    `start` must be timezone-aware. Time before opening, after closing, at weekends and on
    holidays does not count; zero hours during closed time is the next opening.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    remaining = dt.timedelta(hours=float(Decimal(str(hours))))
    if remaining < dt.timedelta(0):
        raise ValueError("hours must not be negative")
    spans, zone, closed = clean_schedule(business_hours, time_zone, holidays)
    cursor = start.astimezone(dt.UTC)
    # Start a day early: a span that opened yesterday in local time may still be running.
    day = cursor.astimezone(zone).date() - dt.timedelta(days=1)
    for _ in range(SEARCH_DAYS):
        for opens, closes in _open_spans(day, spans, zone, closed):
            if closes <= cursor:
                continue
            begin = max(opens, cursor)
            available = closes - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
            cursor = closes
        day += dt.timedelta(days=1)
    raise ScheduleError({"holidays": f"no open hours in the {SEARCH_DAYS} days after {start.date().isoformat()}"})


def business_hours_between(start: dt.datetime, end: dt.datetime, *, business_hours, time_zone="UTC",
                           holidays=()) -> float:
    """Business hours from `start` to `end` (0 when `end` is not after `start`)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    if end <= start:
        return 0.0
    spans, zone, closed = clean_schedule(business_hours, time_zone, holidays)
    start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    total = dt.timedelta(0)
    day = start.astimezone(zone).date() - dt.timedelta(days=1)
    last = end.astimezone(zone).date()
    while day <= last:
        for opens, closes in _open_spans(day, spans, zone, closed):
            overlap = min(closes, end) - max(opens, start)
            if overlap > dt.timedelta(0):
                total += overlap
        day += dt.timedelta(days=1)
    return total.total_seconds() / 3600
