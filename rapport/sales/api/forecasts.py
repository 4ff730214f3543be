"""/api/v1/ endpoints for the forecast, targets and suggested (effective) targets.

Thin: parse, call a selector or service, shape the reply. Money travels as decimal strings in
its currency; totals are in the base currency with whatever had no exchange rate listed apart
under `unconverted` ({currency: amount}), never added in. A target the caller may not read
answers 404; one they read but may not change, 403.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Query, Router, Schema, Status
from pydantic import Field

from rapport.api.auth import actor_of
from rapport.api.schemas import InputSchema, Problem, ValidationProblem, reject_unknown_params

from ..currencies import round_money
from ..models import TargetMetric
from ..selectors import forecasts as selectors
from ..selectors import targets as target_selectors
from ..selectors.suggestions import suggestions
from ..services import forecasts as services

router = Router(tags=["forecasts"])

SOURCE = "api"
ERRORS = {401: Problem, 403: Problem, 404: Problem, 422: ValidationProblem}
LIST_ERRORS = {401: Problem, 422: ValidationProblem}


class Money(Schema):
    amount: str = Field(description="In `currency` (the base currency for totals)")
    currency: str
    unconverted: dict[str, str] = Field(description="Amounts with no exchange rate on their date, per currency: "
                                                    "not included in `amount`")


class TargetRef(Schema):
    id: int
    amount: str
    currency: str = Field(description="Empty for new-customer targets (a count)")
    in_base: str | None = Field(description="The target in the base currency; null when its currency has no rate")


class ForecastRowOut(Schema):
    key: int | None = Field(description="Owner, team or pipeline id; null for deals without one")
    label: str
    closed_won: Money
    commit: Money
    best_case: Money
    weighted: Money
    pipeline: Money = Field(description="Every open deal expected to close in the period, unweighted")
    won_deals: int
    open_deals: int
    target: TargetRef | None
    attainment: str | None = Field(description="Closed won as a percentage of the target")
    projected: str | None = Field(description="Closed won plus commit as a percentage of the target")


class PeriodOut(Schema):
    kind: str
    start: dt.date
    end: dt.date = Field(description="The first day after the period")
    label: str


class ForecastOut(Schema):
    base_currency: str
    group: str
    period: PeriodOut
    commit_probability: int
    best_case_probability: int
    rows: list[ForecastRowOut]
    total: ForecastRowOut
    undated_open_deals: int = Field(description="Open deals you can see with no expected close date (in no period)")


class ForecastParams(Schema):
    group: str | None = Field(None, description="owner (default), team or pipeline")
    period: str | None = Field(None, description="month (default) or quarter")
    start: str | None = Field(None, description="The period's first day, e.g. 2026-04-01; default: the current one")


def _money(total) -> dict:
    return total.as_dict()


def _target_ref(target) -> dict | None:
    if target is None:
        return None
    return {"id": target.id, "amount": str(target.amount), "currency": target.currency,
            "in_base": None if target.in_base is None else str(target.in_base)}


def _row(row) -> dict:
    return {"key": row.key, "label": row.label, **{name: _money(getattr(row, name)) for name in selectors.FIGURES},
            "won_deals": row.won_deals, "open_deals": row.open_deals, "target": _target_ref(row.target),
            "attainment": None if row.attainment is None else str(row.attainment),
            "projected": None if row.projected is None else str(row.projected)}


@router.get("/forecast", response={200: ForecastOut, **LIST_ERRORS}, operation_id="get_forecast")
def get_forecast(request, params: Query[ForecastParams]):
    """Closed won, commit, best case, weighted and open pipeline of the deals you may see in one month
    or quarter, a row per owner, team or pipeline, beside the revenue targets you may read.

    Commit: open deals expected to close in the period with a probability of at least 90% or in their
    pipeline's last stage. Best case: commit plus open deals of at least 50%."""
    reject_unknown_params(request, ForecastParams)
    result = selectors.forecast(actor_of(request), group=params.group, kind=params.period, start=params.start)
    return {"base_currency": result.base_currency, "group": result.group,
            "period": {"kind": result.period_kind, "start": result.start, "end": result.end, "label": result.label},
            "commit_probability": result.commit_probability, "best_case_probability": result.best_case_probability,
            "rows": [_row(r) for r in result.rows], "total": _row(result.total),
            "undated_open_deals": result.undated_open_deals}


# --- targets -----------------------------------------------------------------------------------

class TargetOut(Schema):
    id: int
    user: int | None
    team: int | None
    metric: str
    period_kind: str
    period_start: dt.date
    amount: str
    currency: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_user(obj) -> int | None:
        return obj.user_id

    @staticmethod
    def resolve_team(obj) -> int | None:
        return obj.team_id

    @staticmethod
    def resolve_amount(obj) -> str:
        if obj.metric in (TargetMetric.RETENTION, TargetMetric.HEALTH):
            return str(obj.amount.quantize(Decimal("0.1")))
        if obj.metric == TargetMetric.NEW_CUSTOMERS or not obj.currency:
            return str(obj.amount.quantize(Decimal(1)))
        return str(round_money(obj.amount, obj.currency))


class TargetPage(Schema):
    items: list[TargetOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last")


class TargetFilters(Schema):
    user: str | None = Field(None, description="User id")
    team: str | None = Field(None, description="Team id")
    metric: str | None = Field(None, description="revenue, new_customers, retention or health")
    period: str | None = Field(None, description="month or quarter")
    start: str | None = Field(None, description="A period's first day")
    cursor: str | None = Field(None, description="next_cursor of the previous page")
    limit: int = Field(50, ge=1, le=200)


class TargetFields(InputSchema):
    user: int | None = Field(None, description="User id (or give `team`)")
    team: int | None = Field(None, description="Team id (or give `user`)")
    metric: str | None = Field(None, description="revenue (default), new_customers, retention (12-month "
                                                 "retention in percent) or health (mean customer health, 0-100)")
    period_kind: str | None = Field(None, description="month (default) or quarter")
    period_start: str | None = Field(None, description="The first day of the month or quarter, e.g. 2026-04-01")
    amount: str | int | float | None = Field(None, description="Money in `currency`, a whole count of customers, or "
                                                               "0-100 for retention and health")
    currency: str | None = Field(None, description="Revenue targets: ISO 4217 code (default: the base currency); "
                                                   "other metrics: leave out")


class TargetCreate(TargetFields):
    """A target for a user or a team. If one exists for the same who, metric and period it is updated
    (answer 200 instead of 201)."""


class TargetUpdate(TargetFields):
    """Only the fields sent change."""


class SuggestionAccept(InputSchema):
    user: int | str | None = Field(None, description="The seller's user id")
    period_kind: str | None = Field(None, description="month or quarter")
    period_start: str | None = Field(None, description="The first day of the month or quarter")


class SuggestionOut(Schema):
    user: int
    label: str
    suggested: str | None = Field(description="The suggested revenue target in `currency`; null when there is "
                                              "nothing to base it on")
    currency: str
    reasoning: list[str]
    win_rate: str | None
    open_pipeline: str
    pipeline_estimate: str | None
    won_revenue_12_months: str
    seasonal_share: str | None
    history_estimate: str | None
    current_target: TargetRef | None
    may_accept: bool
    left_out: str = Field(description="Amounts left out of the figures for want of an exchange rate")


class SuggestionParams(Schema):
    period: str | None = Field(None, description="month (default) or quarter")
    start: str | None = Field(None, description="The period's first day; default: the current period")


def _text(value, places: int = 4) -> str | None:
    return None if value is None else str(round(value, places))


@router.get("/targets/suggestions", response={200: list[SuggestionOut], **LIST_ERRORS},
            operation_id="list_target_suggestions")
def list_target_suggestions(request, params: Query[SuggestionParams]):
    """A suggested revenue target per seller you may see (yourself; a manager's team; everyone for
    admins), from their trailing win rate, average won deal, open pipeline for the period and the
    team's seasonality, with the reasoning. See docs/decisions/0003-effective-targets.md."""
    reject_unknown_params(request, SuggestionParams)
    rows = suggestions(actor_of(request), kind=params.period, start=params.start)
    return [{
        "user": row.user.pk, "label": row.label, "suggested": _text(row.suggestion.amount, 0),
        "currency": row.history.currency, "reasoning": row.suggestion.reasons,
        "win_rate": _text(row.suggestion.win_rate), "open_pipeline": str(row.history.open_pipeline),
        "pipeline_estimate": _text(row.suggestion.pipeline_estimate, 2),
        "won_revenue_12_months": str(row.history.won_revenue),
        "seasonal_share": _text(row.suggestion.seasonal_share),
        "history_estimate": _text(row.suggestion.history_estimate, 2),
        "current_target": _target_ref(row.current), "may_accept": row.may_accept, "left_out": row.left_out,
    } for row in rows]


@router.post("/targets/suggestions/accept", response={200: TargetOut, 201: TargetOut, **ERRORS},
             operation_id="accept_target_suggestion")
def accept_target_suggestion(request, payload: SuggestionAccept):
    """Make the seller's suggestion (recomputed now) their revenue target for the period: 201 when
    created, 200 when it replaced the existing target. Admins and managers (for their team)."""
    target, created = services.accept_suggestion(actor=actor_of(request), user_id=payload.user,
                                                 period_kind=payload.period_kind, period_start=payload.period_start,
                                                 source=SOURCE)
    return Status(201 if created else 200, target)


@router.get("/targets", response={200: TargetPage, **LIST_ERRORS}, operation_id="list_targets")
def list_targets(request, filters: Query[TargetFilters]):
    """Targets you may read (admins all; managers their team's and its members'; others their own and
    their team's), latest period first."""
    reject_unknown_params(request, TargetFilters)
    page = target_selectors.list_targets(actor_of(request), filters.model_dump(exclude={"cursor", "limit"}),
                                         cursor=filters.cursor, size=filters.limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/targets", response={200: TargetOut, 201: TargetOut, **ERRORS}, operation_id="set_target")
def set_target(request, payload: TargetCreate):
    target, created = services.set_target(actor=actor_of(request),
                                          data=payload.model_dump(mode="json", exclude_unset=True), source=SOURCE)
    return Status(201 if created else 200, target)


@router.get("/targets/{target_id}", response={200: TargetOut, **ERRORS}, operation_id="get_target")
def get_target(request, target_id: int):
    return target_selectors.get_target(actor_of(request), target_id)


@router.patch("/targets/{target_id}", response={200: TargetOut, **ERRORS}, operation_id="update_target")
def update_target(request, target_id: int, payload: TargetUpdate):
    actor = actor_of(request)
    target = target_selectors.get_target(actor, target_id)
    return services.update_target(actor=actor, target=target, data=payload.model_dump(mode="json", exclude_unset=True),
                                  source=SOURCE)


@router.delete("/targets/{target_id}", response={204: None, **ERRORS}, operation_id="delete_target")
def delete_target(request, target_id: int):
    actor = actor_of(request)
    services.delete_target(actor=actor, target=target_selectors.get_target(actor, target_id), source=SOURCE)
    return Status(204, None)
