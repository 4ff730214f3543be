"""The balanced scorecard: per seller and team, for a month or quarter, how much they won beside
whether those wins are customers who stay, each with its change since the previous period.

Quantity: revenue won, deals won and revenue target attainment (as on the forecast pages), new
customers (the targets' rule: a customer whose first order falls in the period, counted for the
owner of the deal it came from, else the order's owner).

Quality:
- Repeat-purchase rate: of the new customers of the period, the share who have ordered again
  since (a day or more after the first order). Recent periods have had less time to.
- 12-month retention: of the customers they won in the same period a year earlier, those whose
  first order is at least a year old, the share who ordered again within a year of it. Measured
  a year back because a customer won this quarter cannot have a 12-month figure yet.
- Mean predicted 12-month value of the new customers (the stored scores of the latest refresh).
- Minutes with customers: logged activities' durations in the period.
- Customer health: the mean stored health (0-100) of the customers they own now. Scores keep no
  history, so this is today's figure whatever the period, with no trend.
- Time to first response: the median time from a lead's arrival to its owner's first call,
  e-mail or meeting, over the leads that arrived in the period and have been answered (the leads
  feature's own measure, `rapport.leads.routing.reports`). A median does not add up, so teams get
  their own, over their leads.
- Follow-ups on time: of the tasks assigned to them that fell due in the period (and whose
  deadline has passed), the share done by the deadline: the due time, or the end of the due day
  for an all-day task. Cancelled tasks do not count.

Who: admins see every team and seller, a manager their team and its members, anyone else
themselves and their team (`rapport.sales.selectors.targets.people_in_scope`). The figures come
from the records the user may see. Per period a fixed number of grouped queries, whatever the
number of people.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Avg, Count, F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from rapport.assistant.models import TaskStatus
from rapport.assistant.selectors.tasks import task_queryset
from rapport.core.errors import ValidationFailed
from rapport.core.visibility import visible_to
from rapport.leads.routing.reports import first_touch_percentiles, report_leads
from rapport.sales import periods
from rapport.sales.currencies import RateBook, base_currency, format_money
from rapport.sales.models import PeriodKind, TargetMetric
from rapport.sales.selectors.deals import deal_queryset
from rapport.sales.selectors.forecasts import (
    BaseTotal,
    TargetFigure,
    last_stage_ids,
    percent,
    period_figures,
    target_figure,
    user_label,
)
from rapport.sales.selectors.targets import first_orders, people_in_scope, target_queryset, teams_in_scope
from rapport.timeline.models import Activity

from ..models import CustomerScore
from .analytics_orders import YEAR, bought_again, predicted_value_12m, visible_orders, year_old


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    side: str  # "quantity" or "quality"
    unit: str  # "money", "count", "percent", "score", "minutes"
    trend: bool = True
    higher_is_better: bool = True


COLUMNS = [
    Column("revenue", "Revenue won", "quantity", "money"),
    Column("deals_won", "Deals won", "quantity", "count"),
    Column("attainment", "Revenue target", "quantity", "percent"),
    Column("new_customers", "New customers", "quantity", "count"),
    Column("repeat_rate", "Bought again", "quality", "percent"),
    Column("retention", "12-month retention", "quality", "percent"),
    Column("new_value", "Predicted value of new customers", "quality", "money"),
    Column("minutes", "Minutes with customers", "quality", "minutes"),
    Column("health", "Customer health now", "quality", "score", trend=False),
    Column("first_response", "Time to first response", "quality", "hours", higher_is_better=False),
    Column("follow_ups", "Follow-ups on time", "quality", "percent"),
]
SORTS = {"name", *(c.key for c in COLUMNS)}


@dataclass
class Figures:
    """One seller's or team's figures for one period."""

    revenue: BaseTotal
    deals_won: int = 0
    new_customers: int = 0
    again: int = 0
    scored: int = 0
    value_sum: float = 0.0
    year_old: int = 0
    retained: int = 0
    minutes: int = 0
    health_sum: float = 0.0
    health_n: int = 0
    tasks_due: int = 0
    tasks_on_time: int = 0
    # Median hours to first response: set per person and per team from their own leads (not added up).
    response_hours: float | None = None

    def add(self, other: Figures) -> None:
        self.revenue.merge(other.revenue)
        for name in ("deals_won", "new_customers", "again", "scored", "value_sum", "year_old", "retained",
                     "minutes", "health_sum", "health_n", "tasks_due", "tasks_on_time"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def value(self, key: str, target: TargetFigure | None = None):
        if key == "revenue":
            return float(self.revenue.amount)
        if key == "attainment":
            return float(percent(self.revenue.amount, target.in_base)) if target and target.in_base else None
        if key in ("deals_won", "new_customers", "minutes"):
            return getattr(self, key)
        if key == "repeat_rate":
            return 100 * self.again / self.new_customers if self.new_customers else None
        if key == "retention":
            return 100 * self.retained / self.year_old if self.year_old else None
        if key == "new_value":
            return self.value_sum / self.scored if self.scored else None
        if key == "health":
            return self.health_sum / self.health_n if self.health_n else None
        if key == "first_response":
            return self.response_hours
        if key == "follow_ups":
            return 100 * self.tasks_on_time / self.tasks_due if self.tasks_due else None
        raise KeyError(key)


@dataclass
class Cell:
    column: Column
    value: float | None
    text: str
    trend: float | None = None
    trend_text: str = ""
    better: bool | None = None  # the change is an improvement (None: no change or no trend)
    target_text: str = ""
    note: str = ""


@dataclass
class ScorecardRow:
    key: int | None
    label: str
    is_team: bool
    cells: list[Cell] = field(default_factory=list)

    def cell(self, key: str) -> Cell:
        return next(c for c in self.cells if c.column.key == key)


@dataclass
class Scorecard:
    kind: str
    start: dt.date
    previous_start: dt.date
    base_currency: str
    sort: str
    teams: list[ScorecardRow]
    people: list[ScorecardRow]
    columns: list[Column] = field(default_factory=lambda: COLUMNS)
    is_current: bool = False

    @property
    def label(self) -> str:
        return periods.label(self.kind, self.start)

    @property
    def previous_label(self) -> str:
        return periods.label(self.kind, self.previous_start)

    @property
    def retention_cohort_label(self) -> str:
        return periods.label(self.kind, periods.add_months(self.start, -12))


def clean_sort(value) -> str:
    if value in (None, ""):
        return "name"
    if value.lstrip("-") not in SORTS:
        raise ValidationFailed({"sort": "choose one of: " + ", ".join(sorted(SORTS)) + " (a leading - sorts down)"})
    return value


def _period(user, orders, deals, kind: str, start: dt.date, *, book: RateBook, last_stages, now) -> dict:
    """{(owner id, team id): Figures} of one period, from five grouped queries."""
    end = periods.period_end(kind, start)
    base = book.base
    figures: dict[tuple, Figures] = {}

    def of(key) -> Figures:
        if key not in figures:
            figures[key] = Figures(revenue=BaseTotal(base))
        return figures[key]

    for key, row in period_figures(deals, ["owner_id", "team_id"], start, end, book=book,
                                   last_stages=last_stages).items():
        of(key).revenue.merge(row.closed_won)
        of(key).deals_won += row.won_deals

    def attributed(qs):
        return qs.order_by().annotate(by=Coalesce("deal__owner_id", "owner_id"),
                                      by_team=Coalesce("deal__team_id", "team_id")).values("by", "by_team")

    new = attributed(first_orders(orders, start, end).annotate(value=predicted_value_12m())).annotate(
        n=Count("id"), again=Count("id", filter=bought_again(orders)), scored=Count("value"), value_sum=Sum("value"))
    for row in new:
        f = of((row["by"], row["by_team"]))
        f.new_customers += row["n"]
        f.again += row["again"]
        f.scored += row["scored"]
        f.value_sum += float(row["value_sum"] or 0)

    a_year_before = first_orders(orders, periods.add_months(start, -12), periods.add_months(end, -12))
    for row in attributed(a_year_before).annotate(
            year_old=Count("id", filter=year_old(now)),
            retained=Count("id", filter=year_old(now) & bought_again(orders, within=YEAR))):
        f = of((row["by"], row["by_team"]))
        f.year_old += row["year_old"]
        f.retained += row["retained"]

    activities = visible_to(Activity.objects.filter(deleted_at__isnull=True), user).filter(
        occurred_at__gte=periods.midnight(start), occurred_at__lt=periods.midnight(end))
    for row in activities.order_by().values("owner_id", "team_id").annotate(m=Sum("duration_minutes")):
        of((row["owner_id"], row["team_id"])).minutes += int(row["m"] or 0)

    # Tasks whose deadline has passed: an all-day task may be done until the end of its day.
    deadline_passed = Q(all_day=False, due_at__lt=now) | Q(all_day=True, due_at__lt=now - dt.timedelta(days=1))
    done_in_time = Q(status=TaskStatus.DONE) & (Q(all_day=False, completed_at__lte=F("due_at"))
                                                | Q(all_day=True, completed_at__lt=F("due_at") + dt.timedelta(days=1)))
    tasks = (task_queryset(user).exclude(status=TaskStatus.CANCELLED)
             .filter(deadline_passed, due_at__gte=periods.midnight(start), due_at__lt=periods.midnight(end)))
    for row in tasks.order_by().values("assignee_id", "team_id").annotate(n=Count("id"),
                                                                          kept=Count("id", filter=done_in_time)):
        f = of((row["assignee_id"], row["team_id"]))
        f.tasks_due += row["n"]
        f.tasks_on_time += row["kept"]
    return figures


def _first_response(user, kind: str, start: dt.date) -> tuple[dict, dict]:
    """Median hours to first response of the leads that arrived in the period: by owner, by team."""
    end = periods.period_end(kind, start)
    leads = report_leads(user).filter(created_at__gte=periods.midnight(start), created_at__lt=periods.midnight(end))
    by_owner = {key[0]: touch.median_hours for key, touch in first_touch_percentiles(leads, ["owner_id"]).items()}
    by_team = {key[0]: touch.median_hours for key, touch in first_touch_percentiles(leads, ["team_id"]).items()}
    return by_owner, by_team


def _by(figures: dict[tuple, Figures], index: int, base: str) -> dict:
    folded: dict = {}
    for key, f in figures.items():
        target = folded.setdefault(key[index], Figures(revenue=BaseTotal(base)))
        target.add(f)
    return folded


def _text(column: Column, value, base: str) -> str:
    if value is None:
        return "—"
    if column.unit == "money":
        return format_money(Decimal(str(round(value, 2))), base)
    if column.unit == "percent":
        return f"{value:.0f}%"
    if column.unit == "score":
        return f"{value:.0f}"
    if column.unit == "hours":
        return _hours_text(value)
    return f"{value:,.0f}"


def _hours_text(hours: float) -> str:
    if hours < 1:
        return f"{max(hours * 60, 1):.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


def _trend_text(column: Column, change: float, base: str) -> str:
    sign = "+" if change > 0 else "−"
    if column.unit == "percent":
        return f"{sign}{abs(change):.0f} pts"
    if column.unit == "money":
        return sign + format_money(Decimal(str(round(abs(change), 2))), base)
    if column.unit == "hours":
        return sign + _hours_text(abs(change))
    return f"{sign}{abs(change):,.0f}"


def _target_text(metric_target: TargetFigure | None, actual, unit: str) -> tuple[str, str]:
    """("of 70% target", "met") style texts for a target beside its actual figure."""
    if metric_target is None:
        return "", ""
    if metric_target.in_base is None:
        return f"target {metric_target} (no exchange rate)", ""
    goal = float(metric_target.in_base)
    text = f"target {metric_target}"
    if actual is None:
        return text, ""
    share = 100 * actual / goal if goal else None
    return text, (f"{share:.0f}% of target" if share is not None else "")


def _row(key, label: str, is_team: bool, now: Figures, before: Figures, targets: dict, previous_targets: dict,
         base: str, *, is_current: bool) -> ScorecardRow:
    row = ScorecardRow(key=key, label=label, is_team=is_team)
    revenue_target = targets.get(TargetMetric.REVENUE)
    for column in COLUMNS:
        value = now.value(column.key, revenue_target)
        cell = Cell(column=column, value=value, text=_text(column, value, base))
        if column.trend:
            earlier = before.value(column.key, previous_targets.get(TargetMetric.REVENUE))
            if value is not None and earlier is not None:
                change = value - earlier
                cell.trend = change
                if round(change, 1):
                    cell.trend_text = _trend_text(column, change, base)
                    cell.better = (change > 0) == column.higher_is_better
        if column.key == "attainment" and revenue_target:
            cell.target_text = f"of {revenue_target}"
        elif column.key == "new_customers":
            cell.target_text, cell.note = _target_text(targets.get(TargetMetric.NEW_CUSTOMERS), value, column.unit)
        elif column.key == "retention":
            cell.target_text, cell.note = _target_text(targets.get(TargetMetric.RETENTION), value, column.unit)
        elif column.key == "health":
            if is_current:
                cell.target_text, cell.note = _target_text(targets.get(TargetMetric.HEALTH), value, column.unit)
            elif targets.get(TargetMetric.HEALTH):
                cell.target_text = f"target {targets[TargetMetric.HEALTH]}"
                cell.note = "health of a past period was not kept"
        row.cells.append(cell)
    return row


def _sorted(rows: list[ScorecardRow], sort: str) -> list[ScorecardRow]:
    key = sort.lstrip("-")
    down = sort.startswith("-")
    if key == "name":
        return sorted(rows, key=lambda r: r.label.lower(), reverse=down)
    known = [r for r in rows if r.cell(key).value is not None]
    unknown = [r for r in rows if r.cell(key).value is None]
    known.sort(key=lambda r: (r.cell(key).value, r.label.lower()), reverse=down)
    # Rows without the figure go last whichever the direction.
    return known + sorted(unknown, key=lambda r: r.label.lower())


def scorecard(user, *, kind=None, start=None, sort=None, today: dt.date | None = None,
              now: dt.datetime | None = None) -> Scorecard:
    """The scorecard of one month or quarter (default: this quarter) with trends against the
    period before it."""
    kind = periods.clean_kind(kind or PeriodKind.QUARTER)
    start = periods.clean_start(start, kind, today=today)
    sort = clean_sort(sort)
    now = now or timezone.now()
    today = today or now.date()
    previous = periods.shift(kind, start, -1)
    book = RateBook()
    base = base_currency()
    last_stages = last_stage_ids()
    orders, deals = visible_orders(user), deal_queryset(user)
    current = _period(user, orders, deals, kind, start, book=book, last_stages=last_stages, now=now)
    before = _period(user, orders, deals, kind, previous, book=book, last_stages=last_stages, now=now)
    health = (visible_to(CustomerScore.objects.filter(health__isnull=False), user).order_by()
              .values("owner_id", "team_id").annotate(mean=Avg("health"), n=Count("id")))
    for row in health:
        f = current.setdefault((row["owner_id"], row["team_id"]), Figures(revenue=BaseTotal(base)))
        f.health_sum += row["mean"] * row["n"]
        f.health_n += row["n"]
    targets: dict[tuple, dict] = {}
    for target in target_queryset(user).filter(period_kind=kind, period_start__in=[start, previous]):
        who = ("team", target.team_id) if target.team_id else ("user", target.user_id)
        targets.setdefault((target.period_start, *who), {})[target.metric] = target_figure(target, book, kind)
    is_current = start <= today < periods.period_end(kind, start)
    result = Scorecard(kind=kind, start=start, previous_start=previous, base_currency=base, sort=sort, teams=[],
                       people=[], is_current=is_current)
    empty = Figures(revenue=BaseTotal(base))
    now_by, before_by = _by(current, 0, base), _by(before, 0, base)
    now_team, before_team = _by(current, 1, base), _by(before, 1, base)
    for period_start, people, teams in ((start, now_by, now_team), (previous, before_by, before_team)):
        by_owner, by_team = _first_response(user, kind, period_start)
        for folded, medians in ((people, by_owner), (teams, by_team)):
            for key, hours in medians.items():
                if key is not None:
                    folded.setdefault(key, Figures(revenue=BaseTotal(base))).response_hours = hours
    for team in teams_in_scope(user):
        result.teams.append(_row(team.pk, team.name, True, now_team.get(team.pk, empty), before_team.get(team.pk, empty),
                                 targets.get((start, "team", team.pk), {}),
                                 targets.get((previous, "team", team.pk), {}), base, is_current=is_current))
    for person in people_in_scope(user):
        result.people.append(_row(person.pk, user_label(person), False, now_by.get(person.pk, empty),
                                  before_by.get(person.pk, empty), targets.get((start, "user", person.pk), {}),
                                  targets.get((previous, "user", person.pk), {}), base, is_current=is_current))
    result.teams, result.people = _sorted(result.teams, sort), _sorted(result.people, sort)
    return result
