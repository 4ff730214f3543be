"""Lead reports: per source and campaign, and the time to first touch per seller and source.

Counts, values and costs are aggregated by the database. The first-touch percentiles are the
exception: the database hands over one number per answered lead and Python sorts them, because
ranking them in SQL (window functions) cost four times as much on SQLite, which sorts every row
of a window in its generic sorter. The reports page reads those numbers once for its three
tables. `lead_report_idx` holds every column these queries read, from the period's first day on,
so they read that index and never the wide lead rows.

Definitions (shown on the page):
- Leads: leads created in the period.
- Qualified rate: leads ever qualified (qualified or converted) over leads.
- Won: leads whose deal is won; conversion is won over leads.
- Time to first touch: from the lead's arrival to the first call, e-mail or meeting (or "mark
  contacted"), in clock hours; median and 90th percentile (nearest rank) of the leads answered.
- Cost per won deal: the cost of the time logged on the deals these leads became (won and lost
  alike) over the deals won, as in Cost of sales; managers and admins only.
- Mean predicted value: the mean predicted 12-month value of the won leads' contacts, from the
  latest customer scores (customers not yet scored are left out and counted).

Who sees what: sellers their own leads; managers their team's; admins and marketers all.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter

from django.db import connection
from django.db.models import Avg, Count, F, FloatField, Q, QuerySet, Sum
from django.db.models.expressions import RawSQL
from django.db.models.functions import TruncDate

from rapport.core.errors import ValidationFailed
from rapport.core.models import Role
from rapport.core.visibility import profile_of, visible_to
from rapport.sales.currencies import RateBook, base_currency, round_money
from rapport.sales.selectors.forecasts import BaseTotal
from rapport.sales.selectors.rates import cost_rate_table, may_see_cost_rates

from ..models import DisqualifyReason, Lead, LeadSource, LeadStatus

SOURCE_LABELS = dict(LeadSource.choices)
MAX_DAYS = 366 * 5


def report_leads(user) -> QuerySet[Lead]:
    """Live leads the user may count: a seller only theirs, others what they may see."""
    leads = Lead.objects.filter(deleted_at__isnull=True)
    if profile_of(user).role == Role.SELLER and not user.is_superuser:
        return leads.filter(owner_id=user.pk)
    return visible_to(leads, user)


def clean_period(start, end, *, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The creation dates a report covers (both inclusive); by default the last 90 days."""
    today = today or dt.datetime.now(dt.UTC).date()
    errors, days = {}, {}
    for name, value, default in (("start", start, today - dt.timedelta(days=89)), ("end", end, today)):
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
    if not errors and (days["end"] - days["start"]).days > MAX_DAYS:
        errors["end"] = "at most five years at a time"
    if errors:
        raise ValidationFailed(errors)
    return days["start"], days["end"]


def in_period(leads: QuerySet[Lead], start: dt.date, end: dt.date) -> QuerySet[Lead]:
    begin = dt.datetime.combine(start, dt.time(0), tzinfo=dt.UTC)
    stop = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC)
    return leads.filter(created_at__gte=begin, created_at__lt=stop)


def _seconds_to_first_touch() -> RawSQL:
    table = connection.ops.quote_name(Lead._meta.db_table)
    first, created = f'{table}."first_response_at"', f'{table}."created_at"'
    if connection.vendor == "postgresql":
        # A float, as SQLite's is: PostgreSQL's epoch is numeric, and Decimals sort slowly.
        return RawSQL(f"EXTRACT(EPOCH FROM ({first} - {created}))::float8", [], output_field=FloatField())
    return RawSQL(f"(julianday({first}) - julianday({created})) * 86400.0", [], output_field=FloatField())


@dataclass
class Touch:
    answered: int
    median_hours: float | None
    p90_hours: float | None


def answered_times(leads: QuerySet[Lead], fields: list[str]) -> list[tuple]:
    """(fields..., seconds to first touch) of every answered lead, as plain tuples (no model
    rows, no converters: a hundred thousand of them come back in a tenth of a second)."""
    answered = (leads.filter(first_response_at__isnull=False).order_by()
                .annotate(secs=_seconds_to_first_touch()).values_list(*fields, "secs"))
    sql, params = answered.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def rank_times(rows: list[tuple], *groupings: tuple[int, ...]) -> list[dict[tuple, Touch]]:
    """Median and 90th percentile per group, for each grouping (the row positions that name a
    row's group; a row's last value is its time), from one pass over the rows.

    Nearest rank: the smallest time whose rank (1-based, fastest first) reaches p × n, that is
    rank ceil(n / 2) and ceil(9n / 10), worked out in whole numbers."""
    tables: list[dict] = [defaultdict(list) for _ in groupings]
    keys = [itemgetter(*positions) for positions in groupings]
    for row in rows:
        time = row[-1]
        for table, key in zip(tables, keys, strict=True):
            table[key(row)].append(time)
    result = []
    for positions, table in zip(groupings, tables, strict=True):
        ranked = {}
        for group, times in table.items():
            times.sort()
            n = len(times)
            ranked[group if len(positions) > 1 else (group,)] = Touch(
                n, _hours(times[(n + 1) // 2 - 1]), _hours(times[(9 * n + 9) // 10 - 1]))
        result.append(ranked)
    return result


def first_touch_percentiles(leads: QuerySet[Lead], keys: list[str]) -> dict[tuple, Touch]:
    """Median and 90th percentile of the time to first touch, per group of `keys` (lead fields)."""
    return rank_times(answered_times(leads, keys), tuple(range(len(keys))))[0]


def _hours(seconds) -> float | None:
    return None if seconds is None else max(float(seconds), 0.0) / 3600


@dataclass
class SourceRow:
    source: str
    campaign: str
    leads: int = 0
    qualified: int = 0
    disqualified: int = 0
    won: int = 0
    answered: int = 0
    median_hours: float | None = None
    p90_hours: float | None = None
    mean_value: float | None = None
    valued: int = 0
    cost: BaseTotal | None = None
    reasons: list[tuple[str, int]] = field(default_factory=list)

    @property
    def source_label(self) -> str:
        return SOURCE_LABELS.get(self.source, self.source)

    @property
    def qualified_rate(self) -> float | None:
        return self.qualified / self.leads if self.leads else None

    @property
    def conversion(self) -> float | None:
        return self.won / self.leads if self.leads else None

    @property
    def cost_per_won_deal(self) -> Decimal | None:
        if self.cost is None or not self.won:
            return None
        return round_money(self.cost.exact / self.won, self.cost.currency)


@dataclass
class SourceReport:
    start: dt.date
    end: dt.date
    rows: list[SourceRow]
    shows_cost: bool
    base_currency: str
    missing_rates: list[str] = field(default_factory=list)

    @property
    def total_leads(self) -> int:
        return sum(r.leads for r in self.rows)


def source_report(user, *, start=None, end=None, today: dt.date | None = None) -> SourceReport:
    """A row per (source, campaign) of the leads created in the period that the user may count."""
    start, end = clean_period(start, end, today=today)
    leads = in_period(report_leads(user), start, end)
    touches = first_touch_percentiles(leads, ["source", "campaign"])
    return _source_report(user, leads, start, end, touches)


def _source_report(user, leads: QuerySet[Lead], start: dt.date, end: dt.date,
                   touches: dict[tuple, Touch]) -> SourceReport:
    ever_qualified = Q(qualified_at__isnull=False) | Q(status__in=[LeadStatus.QUALIFIED, LeadStatus.CONVERTED])
    rows: dict[tuple, SourceRow] = {}
    # One pass over the leads table alone gives the counts and the disqualification reasons (a group per
    # reason given); only the (few) won leads then join their deal and score.
    labels = dict(DisqualifyReason.objects.values_list("pk", "label"))
    for r in (leads.order_by().values("source", "campaign", "disqualify_reason_id").annotate(
            n=Count("id"), qualified=Count("id", filter=ever_qualified),
            disqualified=Count("id", filter=Q(status=LeadStatus.DISQUALIFIED)),
            answered=Count("id", filter=Q(first_response_at__isnull=False)))):
        key = (r["source"], r["campaign"])
        row = rows.get(key) or rows.setdefault(key, SourceRow(*key))
        row.leads += r["n"]
        row.qualified += r["qualified"]
        row.disqualified += r["disqualified"]
        row.answered += r["answered"]
        if r["disqualify_reason_id"] is not None:
            row.reasons.append((labels.get(r["disqualify_reason_id"], "?"), r["n"]))
    for r in (leads.filter(deal__status="won").order_by().values("source", "campaign").annotate(
            won=Count("id"), mean_value=Avg("contact__score__value_12m"), valued=Count("contact__score__value_12m"))):
        row = rows[(r["source"], r["campaign"])]
        row.won, row.mean_value, row.valued = r["won"], r["mean_value"], r["valued"]
    for key, touch in touches.items():
        if key in rows:
            rows[key].median_hours, rows[key].p90_hours = touch.median_hours, touch.p90_hours
    for row in rows.values():
        row.reasons.sort(key=lambda item: (-item[1], item[0]))
    shows_cost = may_see_cost_rates(user)
    missing: set[str] = set()
    if shows_cost:
        missing = _add_costs(leads, rows)
    ordered = sorted(rows.values(), key=lambda r: (-r.leads, r.source, r.campaign))
    return SourceReport(start, end, ordered, shows_cost, base_currency(), sorted(missing))


def _add_costs(leads: QuerySet[Lead], rows: dict[tuple, SourceRow]) -> set[str]:
    """The cost of the time logged on the closed deals these leads became, per row: one query that
    adds up the minutes per row and role (and per close date, when a rate's currency is not the
    base currency and so must be converted at that date's exchange rate)."""
    book, rates = RateBook(), cost_rate_table()
    for row in rows.values():
        row.cost = BaseTotal(book.base)
    # Filtering on the deal's activities before reading them keeps one join: only live activities with
    # minutes are added up.
    logged = (leads.filter(deal__status__in=["won", "lost"], deal__activities__deleted_at__isnull=True,
                           deal__activities__duration_minutes__gt=0)
              .order_by().annotate(role=F("deal__activities__owner__profile__role")))
    by = ["source", "campaign", "role"]
    if any(rate.currency != book.base for rate in rates.values()):
        logged = logged.annotate(closed_on=TruncDate("deal__closed_at", tzinfo=dt.UTC))
        by.append("closed_on")
    missing = set()
    today = dt.datetime.now(dt.UTC).date()
    for item in logged.values(*by).annotate(total=Sum("deal__activities__duration_minutes")):
        rate = rates.get(item["role"])
        if rate is None:
            missing.add(item["role"] or "no role")
            continue
        amount = Decimal(item["total"]) * rate.cost_per_hour / 60
        # A deal closed without a close date is converted at today's rate.
        rows[(item["source"], item["campaign"])].cost.add(book, amount, rate.currency, item.get("closed_on") or today)
    return missing


@dataclass
class TouchRow:
    label: str
    touch: Touch


def first_touch_by(user, by: str, *, start=None, end=None, today: dt.date | None = None) -> list[TouchRow]:
    """Time to first touch per seller ("owner") or per source, slowest median first."""
    if by not in ("owner", "source"):
        raise ValidationFailed({"by": "choose owner or source"})
    start, end = clean_period(start, end, today=today)
    leads = in_period(report_leads(user), start, end)
    return _touch_rows(by, first_touch_percentiles(leads, ["owner_id" if by == "owner" else "source"]))


def _touch_rows(by: str, touches: dict[tuple, Touch]) -> list[TouchRow]:
    if by == "owner":
        from django.contrib.auth import get_user_model

        users = {u.pk: u for u in get_user_model().objects.filter(pk__in=[k[0] for k in touches if k[0]])}
        label = {k: (users[k[0]].get_full_name() or users[k[0]].username) if k[0] in users else "Unassigned"
                 for k in touches}
    else:
        label = {k: SOURCE_LABELS.get(k[0], k[0]) for k in touches}
    rows = [TouchRow(label[k], t) for k, t in touches.items()]
    return sorted(rows, key=lambda r: (-(r.touch.median_hours or 0), r.label))


@dataclass
class ReportsPage:
    report: SourceReport
    by_owner: list[TouchRow]
    by_source: list[TouchRow]


def reports_page(user, *, start=None, end=None, today: dt.date | None = None) -> ReportsPage:
    """What the lead reports page shows: the source and campaign report and the time to first touch
    per seller and per source, the three from one read of the answered leads' times."""
    start, end = clean_period(start, end, today=today)
    leads = in_period(report_leads(user), start, end)
    per_row, per_owner, per_source = rank_times(answered_times(leads, ["source", "campaign", "owner_id"]),
                                                (0, 1), (2,), (0,))
    report = _source_report(user, leads, start, end, per_row)
    return ReportsPage(report, _touch_rows("owner", per_owner), _touch_rows("source", per_source))
