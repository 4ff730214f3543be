"""Cohort retention: customers grouped by the month of their first order (their acquisition
month), and for each later month the share of them who bought in it and the revenue they brought
against their first month's.

Two grouped queries over the orders the user may see, whatever their number: customers per
(acquisition month, month), and revenue per (acquisition month, month, currency). Revenue is
converted to the base currency at the rate of the last day of the month it was earned in; an
amount without a rate is left out and named.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from rapport.core.errors import ValidationFailed
from rapport.sales import periods
from rapport.sales.currencies import MissingRate, RateBook, base_currency

from .analytics_orders import first_order_at, visible_orders
from .analytics_sql import MonthIndex

DEFAULT_MONTHS = 12
MOST_MONTHS = 36


@dataclass
class CohortCell:
    offset: int  # months after the acquisition month
    customers: int = 0
    share: float | None = None  # of the cohort; None for months not reached yet
    revenue: Decimal = Decimal(0)
    revenue_share: float | None = None  # revenue against the acquisition month's
    partial: bool = False  # the current month: figures so far


@dataclass
class Cohort:
    month: dt.date
    customers: int
    revenue: Decimal
    cells: list[CohortCell] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.month.strftime("%b %Y")


@dataclass
class CohortTable:
    months: int
    currency: str
    cohorts: list[Cohort]
    unconverted: dict[str, Decimal] = field(default_factory=dict)

    @property
    def offsets(self) -> range:
        return range(self.months)


def clean_months(value) -> int:
    if value in (None, ""):
        return DEFAULT_MONTHS
    try:
        months = int(value)
    except (TypeError, ValueError):
        raise ValidationFailed({"months": "must be a whole number of months"}) from None
    if not 2 <= months <= MOST_MONTHS:
        raise ValidationFailed({"months": f"choose between 2 and {MOST_MONTHS} months"})
    return months


def _month_index(year: int, month: int) -> int:
    return year * 12 + month - 1


def cohort_retention(user, *, months=None, today: dt.date | None = None) -> CohortTable:
    """The last `months` acquisition months (this one included), each followed for up to
    `months` months."""
    months = clean_months(months)
    today = today or timezone.now().date()
    current = periods.period_containing(periods.MONTH, today)
    first_month = periods.add_months(current, -(months - 1))
    window_start = periods.midnight(first_month)
    orders = visible_orders(user)
    rows = (orders.filter(ordered_at__gte=window_start)
            .annotate(first_at=first_order_at(orders))
            .filter(first_at__gte=window_start)
            .annotate(cohort=MonthIndex("first_at"), month=MonthIndex("ordered_at"))
            .order_by())
    # A customer is a company, or a contact buying without one: counted apart, then added.
    counts = rows.values("cohort", "month").annotate(
        companies=Count("company_id", distinct=True),
        solo=Count("contact_id", distinct=True, filter=Q(company__isnull=True)))
    money = rows.values("cohort", "month", "currency").annotate(total=Sum("total"))

    base = base_currency()
    book = RateBook()
    cells: dict[tuple[int, int], CohortCell] = {}
    for row in counts:
        offset = row["month"] - row["cohort"]
        cells[(row["cohort"], offset)] = CohortCell(offset=offset, customers=row["companies"] + row["solo"])
    unconverted: dict[str, Decimal] = {}
    for row in money:
        cohort, offset = row["cohort"], row["month"] - row["cohort"]
        month_start = dt.date(row["month"] // 12, row["month"] % 12 + 1, 1)
        on = min(periods.period_end(periods.MONTH, month_start) - dt.timedelta(days=1), today)
        try:
            amount = book.convert_exact(Decimal(row["total"] or 0), row["currency"], base, on)
        except MissingRate:
            unconverted[row["currency"]] = unconverted.get(row["currency"], Decimal(0)) + Decimal(row["total"] or 0)
            continue
        cell = cells.setdefault((cohort, offset), CohortCell(offset=offset))
        cell.revenue += amount

    current_index = _month_index(current.year, current.month)
    table = CohortTable(months=months, currency=base, cohorts=[], unconverted=unconverted)
    for n in range(months):
        month = periods.add_months(first_month, n)
        index = _month_index(month.year, month.month)
        start = cells.get((index, 0)) or CohortCell(offset=0)
        cohort = Cohort(month=month, customers=start.customers, revenue=start.revenue)
        for offset in range(months):
            cell = cells.get((index, offset)) or CohortCell(offset=offset)
            if index + offset > current_index:
                cell.share = cell.revenue_share = None
            else:
                cell.partial = index + offset == current_index
                cell.share = cell.customers / cohort.customers if cohort.customers else None
                cell.revenue_share = float(cell.revenue / cohort.revenue) if cohort.revenue else None
            cohort.cells.append(cell)
        table.cohorts.append(cohort)
    return table
