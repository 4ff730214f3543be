"""/api/v1/cost-of-sales: what winning and losing deals cost, per owner or source, and per deal.

Admins and managers only (a cost divided by its minutes is the hourly rate): for anyone else
the endpoints answer 404. Totals are in the base currency; costs whose currency had no
exchange rate are listed apart under `unconverted`; time logged by roles without a cost rate
is listed under `unrated_minutes` and never counted as free.
"""

from __future__ import annotations

import datetime as dt

from ninja import Query, Router, Schema
from pydantic import Field

from rapport.api.auth import actor_of
from rapport.api.schemas import Problem, ValidationProblem, reject_unknown_params

from ..currencies import round_money
from ..selectors import costs as selectors
from .forecasts import Money

router = Router(tags=["cost of sales"])

LIST_ERRORS = {401: Problem, 404: Problem, 422: ValidationProblem}


class CostRowOut(Schema):
    key: int | str | None = Field(description="Owner id, or the source text")
    label: str
    won_deals: int
    lost_deals: int
    won_revenue: Money
    won_cost: Money = Field(description="Cost of the time logged on the deals won")
    lost_cost: Money = Field(description="Cost of the time logged on the deals lost")
    total_cost: Money
    cost_per_won_deal: str | None = Field(description="Total cost (lost deals included) / deals won")
    cost_share: str | None = Field(description="Total cost as a percentage of won revenue")
    unrated_minutes: dict[str, int] = Field(description="Minutes by role with no cost rate: not counted")


class CostReportOut(Schema):
    base_currency: str
    group: str
    start: dt.date
    end: dt.date = Field(description="Inclusive")
    missing_rates: list[str] = Field(description="Roles whose logged time has no cost rate")
    rows: list[CostRowOut]
    total: CostRowOut


class CostParams(Schema):
    group: str | None = Field(None, description="owner (default) or source")
    start: str | None = Field(None, description="First closing date, e.g. 2026-01-01; default: 11 months ago, "
                                                "from the first of that month")
    end: str | None = Field(None, description="Last closing date (inclusive); default: today")


class RoleTimeOut(Schema):
    role: str | None
    minutes: int
    cost_per_hour: str | None
    cost: str | None
    currency: str


class DealCostOut(Schema):
    deal: int
    name: str
    status: str
    closed_at: dt.datetime | None
    owner: int | None
    amount: str
    currency: str
    minutes: int
    cost: Money
    roles: list[RoleTimeOut]


class DealCostPage(Schema):
    items: list[DealCostOut]
    next_cursor: str | None = None


class DealCostParams(Schema):
    start: str | None = None
    end: str | None = None
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)


def _row(row) -> dict:
    return {"key": row.key, "label": row.label, "won_deals": row.won_deals, "lost_deals": row.lost_deals,
            "won_revenue": row.won_revenue.as_dict(), "won_cost": row.won_cost.as_dict(),
            "lost_cost": row.lost_cost.as_dict(), "total_cost": row.total_cost.as_dict(),
            "cost_per_won_deal": None if row.cost_per_won_deal is None else str(row.cost_per_won_deal),
            "cost_share": None if row.cost_share is None else str(row.cost_share),
            "unrated_minutes": {role or "none": minutes for role, minutes in sorted(
                row.unrated_minutes.items(), key=lambda item: item[0] or "")}}


@router.get("/cost-of-sales", response={200: CostReportOut, **LIST_ERRORS}, operation_id="get_cost_of_sales")
def get_cost_of_sales(request, params: Query[CostParams]):
    """The cost of the deals won and lost between `start` and `end` (closing dates) that you may see,
    a row per owner or source: minutes logged on each deal's activities x the hourly cost rate of the
    role of whoever logged them."""
    reject_unknown_params(request, CostParams)
    report = selectors.cost_of_sales(actor_of(request), group=params.group, start=params.start, end=params.end)
    return {"base_currency": report.base_currency, "group": report.group, "start": report.start, "end": report.end,
            "missing_rates": report.missing_rates, "rows": [_row(r) for r in report.rows], "total": _row(report.total)}


@router.get("/cost-of-sales/deals", response={200: DealCostPage, **LIST_ERRORS}, operation_id="list_deal_costs")
def list_deal_costs(request, params: Query[DealCostParams]):
    """Each deal won or lost in the range with its cost (the cost of winning it, or of losing it),
    latest closed first."""
    reject_unknown_params(request, DealCostParams)
    page, costs = selectors.closed_deal_costs(actor_of(request), start=params.start, end=params.end,
                                              cursor=params.cursor, size=params.limit)
    items = [{
        "deal": c.deal.pk, "name": c.deal.name, "status": c.deal.status, "closed_at": c.deal.closed_at,
        "owner": c.deal.owner_id, "amount": str(round_money(c.deal.amount, c.deal.currency)),
        "currency": c.deal.currency, "minutes": c.minutes, "cost": c.in_base.as_dict(),
        "roles": [{"role": r.role, "minutes": r.minutes,
                   "cost_per_hour": None if r.cost_per_hour is None else str(r.cost_per_hour),
                   "cost": None if r.cost is None else str(r.cost), "currency": r.currency} for r in c.roles],
    } for c in costs]
    return {"items": items, "next_cursor": page.next_cursor}
