"""Cost of sales: what the time logged on deals cost, per deal and summed per owner or source.

A deal's cost is the minutes of its live activities, each priced at the hourly cost rate of
the role of the person who logged it (their role now: Rapport does not keep role history). The
cost is in the rate's currency and converted to the base currency at the deal's close date (today
for an open deal). Time logged by a role without a cost rate is shown as such and never counted
as free. Only admins and managers see costs (`may_see_cost_rates`): a cost divided by its
minutes is the rate.

A summary row: won and lost deals closed in the period, the cost of each side, the total, the
cost per won deal (everything spent, lost deals included, over the deals won: what a win really
costs) and the cost as a share of won revenue.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, F, Sum
from django.db.models.functions import TruncDate

from rapport.core.errors import NotVisible, ValidationFailed
from rapport.core.models import Role
from rapport.core.pagination import Page, keyset_page
from rapport.timeline.models import Activity

from .. import periods
from ..currencies import RateBook, base_currency, round_money
from ..models import Deal, DealStatus
from .deals import deal_queryset
from .forecasts import BaseTotal, labels_for, percent
from .rates import cost_rate_table, may_see_cost_rates

ROLE_LABELS = dict(Role.choices)
COST_GROUPS = ("owner", "source")


def role_label(role: str | None) -> str:
    return ROLE_LABELS.get(role, "No role (user removed)") if role else "No role (user removed)"


@dataclass
class RoleTime:
    role: str | None
    minutes: int
    cost_per_hour: Decimal | None = None
    currency: str = ""

    @property
    def label(self) -> str:
        return role_label(self.role)

    @property
    def exact_cost(self) -> Decimal | None:
        if self.cost_per_hour is None:
            return None
        return Decimal(self.minutes) * self.cost_per_hour / 60

    @property
    def cost(self) -> Decimal | None:
        exact = self.exact_cost
        return None if exact is None else round_money(exact, self.currency)


@dataclass
class DealCost:
    deal: Deal
    roles: list[RoleTime]
    in_base: BaseTotal

    @property
    def minutes(self) -> int:
        return sum(r.minutes for r in self.roles)

    @property
    def rated(self) -> list[RoleTime]:
        return [r for r in self.roles if r.cost_per_hour is not None]

    @property
    def unrated(self) -> list[RoleTime]:
        return [r for r in self.roles if r.cost_per_hour is None]

    @property
    def by_currency(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = {}
        for r in self.rated:
            totals[r.currency] = totals.get(r.currency, Decimal(0)) + r.exact_cost
        return {c: round_money(a, c) for c, a in sorted(totals.items())}


def cost_date(deal: Deal) -> dt.date:
    """The day a deal's cost converts at: its close date, or today while it is open."""
    return (deal.closed_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).date()


def _priced(deal: Deal, minutes_by_role: dict, rates: dict, book: RateBook) -> DealCost:
    roles = []
    total = BaseTotal(book.base)
    for role, minutes in sorted(minutes_by_role.items(), key=lambda item: role_label(item[0])):
        rate = rates.get(role)
        time = RoleTime(role=role, minutes=minutes, cost_per_hour=rate.cost_per_hour if rate else None,
                        currency=rate.currency if rate else "")
        roles.append(time)
        if rate is not None:
            total.add(book, time.exact_cost, rate.currency, cost_date(deal))
    return DealCost(deal=deal, roles=roles, in_base=total)


def _minutes(activities) -> object:
    return (activities.filter(deleted_at__isnull=True, duration_minutes__gt=0)
            .annotate(role=F("owner__profile__role")).order_by())


def deal_cost(deal: Deal, *, book: RateBook | None = None) -> DealCost:
    """The cost of the time logged on `deal` (fetched by the caller through a selector taking
    the user; whether the user may see costs is `may_see_cost_rates`). Three queries."""
    book = book or RateBook()
    rows = _minutes(Activity.objects.filter(deal=deal)).values("role").annotate(minutes=Sum("duration_minutes"))
    return _priced(deal, {r["role"]: r["minutes"] for r in rows}, cost_rate_table(), book)


@dataclass
class CostRow:
    key: object
    label: str
    base: str
    won_deals: int = 0
    lost_deals: int = 0
    won_revenue: BaseTotal = None
    won_cost: BaseTotal = None
    lost_cost: BaseTotal = None
    unrated_minutes: dict = field(default_factory=dict)

    def __post_init__(self):
        for name in ("won_revenue", "won_cost", "lost_cost"):
            if getattr(self, name) is None:
                setattr(self, name, BaseTotal(self.base))

    @property
    def total_cost(self) -> BaseTotal:
        total = BaseTotal(self.base)
        total.merge(self.won_cost)
        total.merge(self.lost_cost)
        return total

    @property
    def cost_per_won_deal(self) -> Decimal | None:
        if not self.won_deals:
            return None
        return round_money(self.total_cost.exact / self.won_deals, self.base)

    @property
    def cost_share(self) -> Decimal | None:
        """Cost as a percentage of won revenue."""
        return percent(self.total_cost.amount, self.won_revenue.amount)

    @property
    def unrated_text(self) -> str:
        return ", ".join(f"{_hours(m)} by {role_label(r).lower()}" for r, m in sorted(
            self.unrated_minutes.items(), key=lambda item: role_label(item[0])))

    def merge(self, other: CostRow) -> None:
        self.won_deals += other.won_deals
        self.lost_deals += other.lost_deals
        self.won_revenue.merge(other.won_revenue)
        self.won_cost.merge(other.won_cost)
        self.lost_cost.merge(other.lost_cost)
        for role, minutes in other.unrated_minutes.items():
            self.unrated_minutes[role] = self.unrated_minutes.get(role, 0) + minutes


def _hours(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"


@dataclass
class CostReport:
    group: str
    start: dt.date
    end: dt.date  # inclusive
    base_currency: str
    rows: list[CostRow]
    total: CostRow
    missing_rates: list[str]


def clean_range(start, end, *, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The closing dates a cost report covers (both inclusive); by default the 12 months up to
    today (from the first day of the month eleven months ago)."""
    today = today or dt.datetime.now(dt.UTC).date()
    errors: dict[str, str] = {}
    days = {}
    for name, value, default in (("start", start, periods.add_months(today.replace(day=1), -11)),
                                 ("end", end, today)):
        if value in (None, ""):
            days[name] = default
        elif isinstance(value, dt.date):
            days[name] = value
        else:
            try:
                days[name] = dt.date.fromisoformat(str(value).strip())
            except ValueError:
                errors[name] = "use a date such as 2026-03-31"
    if not errors and days["end"] < days["start"]:
        errors["end"] = "the end comes before the start"
    if not errors and (days["end"] - days["start"]).days > 366 * 5:
        errors["end"] = "at most five years at a time"
    if errors:
        raise ValidationFailed(errors)
    return days["start"], days["end"]


def clean_cost_group(value) -> str:
    if value in (None, ""):
        return "owner"
    if value not in COST_GROUPS:
        raise ValidationFailed({"group": "choose owner or source"})
    return value


def closed_deals(user, start: dt.date, end: dt.date):
    return deal_queryset(user).filter(status__in=[DealStatus.WON, DealStatus.LOST],
                                      closed_at__gte=periods.midnight(start),
                                      closed_at__lt=periods.midnight(end + dt.timedelta(days=1)))


def cost_of_sales(user, *, group=None, start=None, end=None, today: dt.date | None = None) -> CostReport:
    """Cost of the deals won and lost between start and end (closing dates), a row per owner
    or source. Four queries whatever the number of deals and activities (plus one per currency
    for its exchange rates)."""
    if not may_see_cost_rates(user):
        raise NotVisible("cost of sales")
    group = clean_cost_group(group)
    start, end = clean_range(start, end, today=today)
    base, book, rates = base_currency(), RateBook(), cost_rate_table()
    key_field = "owner_id" if group == "owner" else "source"
    deals = closed_deals(user, start, end)
    rows: dict = {}

    def row_for(key) -> CostRow:
        if key not in rows:
            rows[key] = CostRow(key=key, label="", base=base)
        return rows[key]

    figures = (deals.annotate(day=TruncDate("closed_at", tzinfo=dt.UTC), key=F(key_field)).order_by()
               .values("key", "status", "currency", "day").annotate(n=Count("id"), amount=Sum("amount")))
    for item in figures:
        row = row_for(item["key"])
        if item["status"] == DealStatus.WON:
            row.won_deals += item["n"]
            row.won_revenue.add(book, item["amount"], item["currency"], item["day"])
        else:
            row.lost_deals += item["n"]
    minutes = (_minutes(Activity.objects.filter(deal__in=deals.values("pk")))
               .annotate(day=TruncDate("deal__closed_at", tzinfo=dt.UTC), key=F(f"deal__{key_field}"),
                         status=F("deal__status"))
               .values("key", "status", "role", "day").annotate(minutes=Sum("duration_minutes")))
    missing = set()
    for item in minutes:
        row = row_for(item["key"])
        rate = rates.get(item["role"])
        if rate is None:
            missing.add(role_label(item["role"]))
            row.unrated_minutes[item["role"]] = row.unrated_minutes.get(item["role"], 0) + item["minutes"]
            continue
        side = row.won_cost if item["status"] == DealStatus.WON else row.lost_cost
        side.add(book, Decimal(item["minutes"]) * rate.cost_per_hour / 60, rate.currency, item["day"])
    if group == "owner":
        names = labels_for("owner", rows)
    else:
        names = {key: key or "No source" for key in rows}
    for key, row in rows.items():
        row.label = names[key]
    ordered = sorted(rows.values(), key=lambda r: (not r.key, r.label.lower()))
    total = CostRow(key=None, label="Total", base=base)
    for row in ordered:
        total.merge(row)
    return CostReport(group=group, start=start, end=end, base_currency=base, rows=ordered, total=total,
                      missing_rates=sorted(missing))


def closed_deal_costs(user, *, start, end, cursor: str | None = None, size: int = 50,
                      today: dt.date | None = None) -> tuple[Page, list[DealCost]]:
    """One page of the deals closed in the range, latest first, each with its cost: the cost of
    winning each won deal and of each lost one. Three queries per page, whatever its size."""
    if not may_see_cost_rates(user):
        raise NotVisible("cost of sales")
    start, end = clean_range(start, end, today=today)
    page = keyset_page(closed_deals(user, start, end).select_related("owner"), order="-closed_at",
                       cursor=cursor, size=size)
    by_deal: dict[int, dict] = {deal.pk: {} for deal in page.items}
    rows = (_minutes(Activity.objects.filter(deal_id__in=list(by_deal)))
            .values("deal_id", "role").annotate(minutes=Sum("duration_minutes")))
    for item in rows:
        by_deal[item["deal_id"]][item["role"]] = item["minutes"]
    rates, book = cost_rate_table(), RateBook()
    return page, [_priced(deal, by_deal[deal.pk], rates, book) for deal in page.items]
