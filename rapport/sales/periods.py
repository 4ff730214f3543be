"""Sales periods: calendar months and calendar quarters (January, April, July, October).

Forecasts, targets and their suggestions all count a period from its first day (00:00 UTC)
to the first day of the next one, so a deal closed at 23:30 UTC on 31 March belongs to the
first quarter whatever the viewer's time zone. Plain functions, no database.
"""

from __future__ import annotations

import datetime as dt

from rapport.core.errors import ValidationFailed

MONTH = "month"
QUARTER = "quarter"
KINDS = (MONTH, QUARTER)
MONTHS_IN = {MONTH: 1, QUARTER: 3}
PERIODS_PER_YEAR = {MONTH: 12, QUARTER: 4}


def add_months(day: dt.date, months: int) -> dt.date:
    """The first day of the month `months` after `day`'s month (negative goes back)."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def period_containing(kind: str, day: dt.date) -> dt.date:
    """The first day of the month or quarter that holds `day`."""
    if kind == QUARTER:
        return dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return dt.date(day.year, day.month, 1)


def period_end(kind: str, start: dt.date) -> dt.date:
    """The first day after the period (periods are half-open: start <= day < end)."""
    return add_months(start, MONTHS_IN[kind])


def shift(kind: str, start: dt.date, periods: int) -> dt.date:
    return add_months(start, MONTHS_IN[kind] * periods)


def label(kind: str, start: dt.date) -> str:
    """"2026-Q2" or "May 2026"."""
    if kind == QUARTER:
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return start.strftime("%B %Y")


def months_of(kind: str, start: dt.date) -> tuple[int, ...]:
    """The calendar months (1-12) the period covers: seasonality compares the same months."""
    return tuple(add_months(start, i).month for i in range(MONTHS_IN[kind]))


def utc_today() -> dt.date:
    """Today's date in UTC, the zone periods are counted in."""
    return dt.datetime.now(dt.UTC).date()


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def clean_kind(value, *, field: str = "period") -> str:
    if value in (None, ""):
        return MONTH
    if value not in KINDS:
        raise ValidationFailed({field: "choose month or quarter"})
    return value


def clean_start(value, kind: str, *, field: str = "start", today: dt.date | None = None) -> dt.date:
    """A period's first day from a date or ISO text; empty means the period holding today.

    Any other day is refused rather than moved: a target "from 15 March" is a mistake the
    person should see, not one we quietly turn into March or the first quarter.
    """
    if value in (None, ""):
        return period_containing(kind, today or utc_today())
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        try:
            value = dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValidationFailed({field: "use a date such as 2026-04-01"}) from None
    if value.day != 1:
        raise ValidationFailed({field: "a period starts on the first day of a month"})
    if kind == QUARTER and value.month not in (1, 4, 7, 10):
        raise ValidationFailed({field: "a quarter starts on 1 January, 1 April, 1 July or 1 October"})
    if not 2000 <= value.year <= 2100:
        raise ValidationFailed({field: "choose a year between 2000 and 2100"})
    return value
