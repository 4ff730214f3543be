"""The forecast: what each owner, team or pipeline has won in a period and what its open deals
promise, in the base currency, beside the target.

Definitions (shown on the forecast page and in docs/decisions/0003-effective-targets.md):

- An open deal counts in a period when its expected close date falls in it; a deal without an
  expected close date is in no period's forecast (the page counts them so they are not forgotten).
- Closed won: deals won (closed_at) in the period.
- Commit: open deals whose effective probability (the deal's own, else its stage's default) is
  at least COMMIT_PROBABILITY, or that sit in their pipeline's last stage.
- Best case: commit plus the open deals of at least BEST_CASE_PROBABILITY.
- Weighted pipeline: the sum of amount x effective probability over all open deals in the period.
- Open pipeline: every open deal in the period, unweighted (effective targets read its coverage).

Amounts are converted to the base currency with the exchange rate of their own date (the close
date for won deals, the expected close date for open ones); an amount without a rate is kept
apart per currency and shown as "plus N XXX without a rate", never added in.

Every figure comes from one grouped query per period, whatever the number of deals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Case, Count, DateField, DecimalField, F, Q, QuerySet, Sum, When
from django.db.models.functions import Coalesce, TruncDate

from rapport.core.errors import ValidationFailed
from rapport.core.models import Team

from .. import periods
from ..currencies import MissingRate, RateBook, base_currency, format_money, round_money
from ..models import NON_MONEY_METRICS, DealStatus, Pipeline, Stage, TargetMetric
from .deals import deal_queryset

COMMIT_PROBABILITY = 90
BEST_CASE_PROBABILITY = 50
GROUPS = {"owner": "owner_id", "team": "team_id", "pipeline": "pipeline_id"}
FIGURES = ("closed_won", "commit", "best_case", "weighted", "pipeline")


@dataclass
class BaseTotal:
    """Amounts of several currencies added up in the base currency. Amounts whose currency has
    no rate on their date stay apart, per currency, so a page can say so."""

    currency: str
    exact: Decimal = Decimal(0)
    unconverted: dict[str, Decimal] = field(default_factory=dict)

    def add(self, book: RateBook, amount, currency: str, on_date) -> None:
        if not amount:
            return
        try:
            self.exact += book.convert_exact(Decimal(amount), currency, self.currency, on_date)
        except MissingRate:
            self.unconverted[currency] = self.unconverted.get(currency, Decimal(0)) + Decimal(amount)

    def merge(self, other: BaseTotal) -> None:
        self.exact += other.exact
        for currency, amount in other.unconverted.items():
            self.unconverted[currency] = self.unconverted.get(currency, Decimal(0)) + amount

    @property
    def amount(self) -> Decimal:
        return round_money(self.exact, self.currency)

    @property
    def complete(self) -> bool:
        return not self.unconverted

    @property
    def unconverted_text(self) -> str:
        """"plus 1,200 JPY without a rate" (empty when everything converted)."""
        if not self.unconverted:
            return ""
        parts = [format_money(amount, currency) for currency, amount in sorted(self.unconverted.items())]
        return "plus " + " and ".join(parts) + " without a rate"

    def __str__(self) -> str:
        return format_money(self.amount, self.currency)

    def as_dict(self) -> dict:
        return {"amount": str(self.amount), "currency": self.currency,
                "unconverted": {c: str(round_money(a, c)) for c, a in sorted(self.unconverted.items())}}


@dataclass
class TargetFigure:
    """A target beside the figure it is measured against."""

    id: int
    amount: Decimal
    currency: str
    metric: str
    # The target in the base currency (revenue) or the number itself (new customers, retention
    # percent, health score); None when a revenue target's currency has no rate.
    in_base: Decimal | None

    def __str__(self) -> str:
        if self.metric == TargetMetric.NEW_CUSTOMERS:
            return f"{self.amount:,.0f}"
        if self.metric == TargetMetric.RETENTION:
            return f"{self.amount:.1f}%"
        if self.metric == TargetMetric.HEALTH:
            return f"{self.amount:.0f}"
        return format_money(self.amount, self.currency)


def percent(part: Decimal | int | None, whole: Decimal | int | None) -> Decimal | None:
    if part is None or not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


@dataclass
class ForecastRow:
    key: int | None
    label: str
    closed_won: BaseTotal
    commit: BaseTotal
    best_case: BaseTotal
    weighted: BaseTotal
    pipeline: BaseTotal
    won_deals: int = 0
    open_deals: int = 0
    target: TargetFigure | None = None

    @property
    def attainment(self) -> Decimal | None:
        """Closed won as a percentage of the target."""
        return percent(self.closed_won.amount, self.target.in_base) if self.target else None

    @property
    def projected(self) -> Decimal | None:
        """Closed won plus commit, as a percentage of the target: where the period should land."""
        if not self.target:
            return None
        return percent(self.closed_won.amount + self.commit.amount, self.target.in_base)

    def merge(self, other: ForecastRow) -> None:
        for name in FIGURES:
            getattr(self, name).merge(getattr(other, name))
        self.won_deals += other.won_deals
        self.open_deals += other.open_deals


def empty_row(key, label: str, base: str) -> ForecastRow:
    return ForecastRow(key=key, label=label, **{name: BaseTotal(base) for name in FIGURES})


@dataclass
class Forecast:
    group: str
    period_kind: str
    start: dt.date
    end: dt.date
    base_currency: str
    rows: list[ForecastRow]
    total: ForecastRow
    # Open deals the user may see that have no expected close date: in no period's forecast.
    undated_open_deals: int = 0
    commit_probability: int = COMMIT_PROBABILITY
    best_case_probability: int = BEST_CASE_PROBABILITY

    @property
    def label(self) -> str:
        return periods.label(self.period_kind, self.start)


def clean_group(value, *, field: str = "group") -> str:
    if value in (None, ""):
        return "owner"
    if value not in GROUPS:
        raise ValidationFailed({field: "choose owner, team or pipeline"})
    return value


def last_stage_ids() -> list[int]:
    """The last (highest) stage of each pipeline: deals there count as commit."""
    last: dict[int, int] = {}
    for pipeline_id, stage_id in Stage.objects.order_by("pipeline_id", "-position", "-id").values_list(
            "pipeline_id", "id"):
        last.setdefault(pipeline_id, stage_id)
    return list(last.values())


def period_figures(deals: QuerySet, keys: list[str], start: dt.date, end: dt.date, *, book: RateBook,
                   last_stages: list[int]) -> dict[tuple, ForecastRow]:
    """The forecast figures of `deals` for [start, end), one row per distinct value of `keys`
    (deal fields such as "owner_id"), in one grouped query.

    Rows come back per key, currency and day, so each amount converts at its own day's rate.
    """
    base = book.base
    probability = Coalesce("probability", "stage__probability")
    open_ = Q(status=DealStatus.OPEN)
    commit = open_ & (Q(effective__gte=COMMIT_PROBABILITY) | Q(stage_id__in=last_stages))
    best = open_ & (Q(effective__gte=BEST_CASE_PROBABILITY) | Q(stage_id__in=last_stages))
    money = DecimalField(max_digits=30, decimal_places=8)
    grouped = (
        deals.filter(Q(status=DealStatus.OPEN, expected_close_date__gte=start, expected_close_date__lt=end)
                     | Q(status=DealStatus.WON, closed_at__gte=periods.midnight(start),
                         closed_at__lt=periods.midnight(end)))
        .alias(effective=probability)
        .annotate(day=Case(When(status=DealStatus.WON, then=TruncDate("closed_at", tzinfo=dt.UTC)),
                           default=F("expected_close_date"), output_field=DateField()))
        .order_by()
        .values(*keys, "currency", "day")
        .annotate(
            won=Sum("amount", filter=Q(status=DealStatus.WON)),
            won_n=Count("id", filter=Q(status=DealStatus.WON)),
            open=Sum("amount", filter=open_),
            open_n=Count("id", filter=open_),
            commit=Sum("amount", filter=commit),
            best=Sum("amount", filter=best),
            weighted=Sum(F("amount") * probability, filter=open_, output_field=money),
        )
    )
    rows: dict[tuple, ForecastRow] = {}
    for item in grouped:
        key = tuple(item[k] for k in keys)
        row = rows.get(key)
        if row is None:
            row = rows[key] = empty_row(key if len(key) > 1 else key[0], "", base)
        currency, day = item["currency"], item["day"]
        row.closed_won.add(book, item["won"], currency, day)
        row.pipeline.add(book, item["open"], currency, day)
        row.commit.add(book, item["commit"], currency, day)
        row.best_case.add(book, item["best"], currency, day)
        if item["weighted"]:
            row.weighted.add(book, Decimal(item["weighted"]) / 100, currency, day)
        row.won_deals += item["won_n"]
        row.open_deals += item["open_n"]
    return rows


def fold(rows: dict[tuple, ForecastRow], index: int, base: str) -> dict:
    """Rows keyed by several fields, added up by the field at `index`."""
    folded: dict = {}
    for key, row in rows.items():
        target = folded.get(key[index])
        if target is None:
            target = folded[key[index]] = empty_row(key[index], "", base)
        target.merge(row)
    return folded


def user_label(user) -> str:
    return (user.get_full_name() or user.username) if user else "Unassigned"


def labels_for(group: str, keys) -> dict:
    """Display names of owners, teams or pipelines, one query."""
    ids = [k for k in keys if k is not None]
    if group == "owner":
        found = {u.pk: user_label(u) for u in get_user_model().objects.filter(pk__in=ids)}
    elif group == "team":
        found = dict(Team.objects.filter(pk__in=ids).values_list("pk", "name"))
    else:
        found = dict(Pipeline.objects.filter(pk__in=ids).values_list("pk", "name"))
    none = {"owner": "Unassigned", "team": "No team", "pipeline": "No pipeline"}[group]
    return {k: found.get(k, none) if k is not None else none for k in keys}


def target_figure(target, book: RateBook, kind: str) -> TargetFigure:
    """A target with its value in the base currency, converted at the period's last day's rate
    (a rate set any time up to the end of the period counts)."""
    if target.metric in NON_MONEY_METRICS:
        in_base = target.amount
    else:
        last_day = periods.period_end(kind, target.period_start) - dt.timedelta(days=1)
        try:
            in_base = round_money(book.convert_exact(target.amount, target.currency, book.base, last_day), book.base)
        except MissingRate:
            in_base = None
    return TargetFigure(id=target.pk, amount=target.amount, currency=target.currency, metric=target.metric,
                        in_base=in_base)


def forecast(user, *, group=None, kind=None, start=None, today: dt.date | None = None) -> Forecast:
    """The forecast of the deals `user` may see for one month or quarter, a row per owner,
    team or pipeline, each owner's and team's revenue target beside it (targets the user may
    read). Owners and teams with a target but no deals in the period get a row too."""
    from .targets import period_targets

    group = clean_group(group)
    kind = periods.clean_kind(kind)
    start = periods.clean_start(start, kind, today=today)
    end = periods.period_end(kind, start)
    book = RateBook()
    base = base_currency()
    deals = deal_queryset(user)
    figures = period_figures(deals, [GROUPS[group]], start, end, book=book, last_stages=last_stage_ids())
    rows = {key[0]: row for key, row in figures.items()}
    targets = {}
    if group in ("owner", "team"):
        who = "user" if group == "owner" else "team"
        targets = period_targets(user, kind=kind, start=start, metric=TargetMetric.REVENUE, who=who)
        for key in targets:
            rows.setdefault(key, empty_row(key, "", base))
    names = labels_for(group, rows)
    for key, row in rows.items():
        row.label = names[key]
        if key in targets:
            row.target = target_figure(targets[key], book, kind)
    ordered = sorted(rows.values(), key=lambda r: (r.key is None, r.label.lower()))
    total = empty_row(None, "Total", base)
    target_sum = Decimal(0)
    for row in ordered:
        total.merge(row)
        if row.target and row.target.in_base is not None:
            target_sum += row.target.in_base
    if target_sum:
        total.target = TargetFigure(id=0, amount=target_sum, currency=base, metric=TargetMetric.REVENUE,
                                    in_base=target_sum)
    undated = deals.filter(status=DealStatus.OPEN, expected_close_date__isnull=True).count()
    return Forecast(group=group, period_kind=kind, start=start, end=end, base_currency=base, rows=ordered,
                    total=total, undated_open_deals=undated)
