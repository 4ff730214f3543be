"""/api/v1/ endpoints for stored scores: what a contact or company is worth and how healthy it is.

A score is visible exactly when its contact or company is. Hidden and missing customers answer
404 "Not found"; a visible customer without a score answers 404 saying it is not scored yet.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Router, Schema, Status
from pydantic import Field

from rapport.api.auth import actor_of
from rapport.api.schemas import Problem, ValidationProblem, reject_unknown_params

from ..selectors import scores as selectors

router = Router(tags=["scores"])
ERRORS = {401: Problem, 404: Problem, 422: ValidationProblem}
NOT_SCORED = "Not scored yet: run a refresh (rapport insights refresh, or Refresh now on the Scores page)"


class ReasonOut(Schema):
    component: str = Field(..., description="alive, recency, engagement, contact or deals")
    score: int = Field(..., description="The component's score, 0-100")
    text: str = Field(..., description="In plain words, e.g. 'no contact in 74 days while they usually buy every 30 days'")


class ScoreOut(Schema):
    contact: int | None
    company: int | None
    as_of: dt.date = Field(..., description="The scores describe the customer as of the end of this day (UTC)")
    model: str = Field(..., description="bg_nbd, pareto_nbd, sbg (renewals) or a combination such as bg_nbd+sbg")
    engine_version: str
    currency: str = Field(..., description="The base currency every value is in")
    value_12m: float | None = Field(None, description="Predicted value of the next 12 months, not discounted")
    lifetime_value: float | None = Field(None, description="Predicted value over the lifetime-value horizon, discounted")
    probability_alive: float | None = Field(None, description="Chance they are still a customer, 0-1")
    expected_purchases_12m: float | None
    expected_order_value: float | None
    renewal_probability: float | None = Field(None, description="Contracts: chance of the next renewal")
    renewals: int | None = Field(None, description="Contracts: renewals so far")
    health: int | None = Field(None, description="0-100")
    health_components: dict[str, int | None]
    reasons: list[ReasonOut] = Field(..., description="What moves health most, worst first")
    orders: int
    orders_without_rate: int = Field(..., description="Orders whose currency had no exchange rate: value unknown")
    revenue: Decimal = Field(..., description="Past revenue in the base currency")
    first_order_at: dt.datetime | None
    last_order_at: dt.datetime | None
    frequency: int = Field(..., description="Repeat purchases (weeks with a purchase after the first)")
    recency_weeks: float
    age_weeks: float
    usual_interval_days: float | None
    last_contacted_at: dt.datetime | None


def _out(score) -> dict:
    return {
        "contact": score.contact_id, "company": score.company_id, "as_of": score.as_of, "model": score.model,
        "engine_version": score.engine_version, "currency": selectors.base_currency(),
        **{name: getattr(score, name) for name in (
            "value_12m", "lifetime_value", "probability_alive", "expected_purchases_12m", "expected_order_value",
            "renewal_probability", "renewals", "health", "orders", "orders_without_rate", "revenue",
            "first_order_at", "last_order_at", "frequency", "usual_interval_days", "last_contacted_at")},
        "health_components": score.health_components or {},
        "reasons": [{"component": r.component, "score": r.score, "text": r.text}
                    for r in selectors.explain(score, limit=5)],
        "recency_weeks": score.recency, "age_weeks": score.age,
    }


@router.get("/contacts/{contact_id}/score", response={200: ScoreOut, **ERRORS}, operation_id="get_contact_score")
def get_contact_score(request, contact_id: int):
    """The contact's latest scores: value, chance still a customer, health with its reasons."""
    reject_unknown_params(request)
    score = selectors.contact_score(actor_of(request), contact_id)
    if score is None:
        return Status(404, {"detail": NOT_SCORED})
    return _out(score)


@router.get("/companies/{company_id}/score", response={200: ScoreOut, **ERRORS}, operation_id="get_company_score")
def get_company_score(request, company_id: int):
    """The company's latest scores, from the orders placed for the company."""
    reject_unknown_params(request)
    score = selectors.company_score(actor_of(request), company_id)
    if score is None:
        return Status(404, {"detail": NOT_SCORED})
    return _out(score)
