"""Lead reports: per source and campaign, and the time to first touch per seller and source.

Everything is aggregated by the database (grouped counts, and the percentiles through window
functions), so a report over a million leads reads no lead row into Python.

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
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import Avg, Count, F, FloatField, Q, QuerySet, Sum
from django.db.models.expressions import RawSQL

from rapport.core.errors import ValidationFailed
from rapport.core.models import Role
from rapport.core.visibility import profile_of, visible_to
from rapport.sales.currencies import RateBook, base_currency, round_money
from rapport.sales.selectors.forecasts import BaseTotal
from rapport.sales.selectors.rates import cost_rate_table, may_see_cost_rates
from rapport.timeline.models import Activity

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
        return RawSQL(f"EXTRACT(EPOCH FROM ({first} - {created}))", [], output_field=FloatField())
    return RawSQL(f"(julianday({first}) - julianday({created})) * 86400.0", [], output_field=FloatField())


@dataclass
class Touch:
    answered: int
    median_hours: float | None
    p90_hours: float | None


def first_touch_percentiles(leads: QuerySet[Lead], keys: list[str]) -> dict[tuple, Touch]:
    """Median and 90th percentile of the time to first touch, per group of `keys` (lead fields).

    Nearest-rank percentiles by window functions (SQLite 3.25+ and PostgreSQL): each answered
    lead gets its rank within its group, and the percentile is the smallest time whose rank
    reaches p × n. One query, whatever the number of leads or groups.
    """
    answered = (leads.filter(first_response_at__isnull=False).order_by()
                .annotate(secs=_seconds_to_first_touch(), **{f"k{i}": F(key) for i, key in enumerate(keys)})
                .values(*[f"k{i}" for i in range(len(keys))], "secs"))
    inner, params = answered.query.sql_with_params()
    group = ", ".join(f"k{i}" for i in range(len(keys)))
    sql = (f"SELECT {group}, COUNT(*), MIN(CASE WHEN rn >= 0.5 * n THEN secs END), "
           f"MIN(CASE WHEN rn >= 0.9 * n THEN secs END) FROM ("
           f"SELECT {group}, secs, ROW_NUMBER() OVER (PARTITION BY {group} ORDER BY secs) AS rn, "
           f"COUNT(*) OVER (PARTITION BY {group}) AS n FROM ({inner}) answered) ranked GROUP BY {group}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    width = len(keys)
    return {tuple(row[:width]): Touch(row[width], _hours(row[width + 1]), _hours(row[width + 2])) for row in rows}


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
    for key, touch in first_touch_percentiles(leads, ["source", "campaign"]).items():
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
    """The cost of the time logged on the closed deals these leads became, per row (two queries)."""
    group_of = {deal_id: (source, campaign, closed_at) for deal_id, source, campaign, closed_at in
                leads.filter(deal__status__in=["won", "lost"]).order_by()
                .values_list("deal_id", "source", "campaign", "deal__closed_at")}
    book, rates = RateBook(), cost_rate_table()
    for row in rows.values():
        row.cost = BaseTotal(book.base)
    missing = set()
    closed = leads.filter(deal__status__in=["won", "lost"]).values("deal_id")
    minutes = (Activity.objects.filter(deal_id__in=closed, deleted_at__isnull=True, duration_minutes__gt=0)
               .order_by().annotate(role=F("owner__profile__role")).values("deal_id", "role")
               .annotate(total=Sum("duration_minutes")))
    for item in minutes:
        source, campaign, closed_at = group_of[item["deal_id"]]
        rate = rates.get(item["role"])
        if rate is None:
            missing.add(item["role"] or "no role")
            continue
        amount = Decimal(item["total"]) * rate.cost_per_hour / 60
        rows[(source, campaign)].cost.add(book, amount, rate.currency,
                                          (closed_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).date())
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
    key = "owner_id" if by == "owner" else "source"
    touches = first_touch_percentiles(leads, [key])
    if by == "owner":
        from django.contrib.auth import get_user_model

        users = {u.pk: u for u in get_user_model().objects.filter(pk__in=[k[0] for k in touches if k[0]])}
        label = {k: (users[k[0]].get_full_name() or users[k[0]].username) if k[0] in users else "Unassigned"
                 for k in touches}
    else:
        label = {k: SOURCE_LABELS.get(k[0], k[0]) for k in touches}
    rows = [TouchRow(label[k], t) for k, t in touches.items()]
    return sorted(rows, key=lambda r: (-(r.touch.median_hours or 0), r.label))

