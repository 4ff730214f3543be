"""/api/v1/lead-scoring: fit rules, scoring settings and the predictive model's evaluation.

Managers, marketers and admins read them; admins and marketers change rules and settings.
Changes apply to new leads at once and to open leads at the next `rapport leads score`.
Thin: parse, call the scoring services and selectors, shape the reply.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ninja import Router, Schema, Status

from rapport.api.auth import actor_of
from rapport.api.schemas import InputSchema, Problem, ValidationProblem
from rapport.core.errors import NotVisible

from ..scoring import configuration, selectors

router = Router(tags=["lead scoring"])
SOURCE = "api"
ERRORS = {401: Problem, 403: Problem, 404: Problem, 422: ValidationProblem}


class FitRuleOut(Schema):
    id: int
    label: str
    attribute: str
    custom_field: str | None
    operator: str
    values: list[Any]
    number: Decimal | None
    currency: str
    weight: int
    active: bool
    position: int
    updated_at: dt.datetime

    @staticmethod
    def resolve_custom_field(rule) -> str | None:
        field = rule.custom_field
        return f"{field.entity}.{field.key}" if field is not None else None


class FitRuleIn(InputSchema):
    """`values` for "one_of" rules; `number` (and `currency` for a budget floor) for at_least / at_most.
    A custom-field rule names its field as "company.<key>" or "contact.<key>"."""

    label: str | None = None
    attribute: str | None = None
    custom_field: str | int | None = None
    operator: str | None = None
    values: list[Any] | None = None
    number: Decimal | str | None = None
    currency: str | None = None
    weight: Any = None
    active: bool | None = None
    position: int | None = None


class SettingsOut(Schema):
    poor_fit_threshold: int
    half_life_days: float
    event_weights: dict[str, float]
    min_outcomes: int
    fit_share: int
    updated_at: dt.datetime


class SettingsIn(InputSchema):
    poor_fit_threshold: Any = None
    half_life_days: Any = None
    event_weights: Any = None
    min_outcomes: Any = None
    fit_share: Any = None


class CalibrationRow(Schema):
    leads: int
    predicted: float
    observed: float
    wins: int


class EvaluationOut(Schema):
    version: str
    trained_at: dt.datetime
    status: str
    note: str
    in_use: bool
    outcomes: int
    wins: int
    roc_auc: float | None = None
    brier: float | None = None
    brier_base_rate: float | None = None
    base_rate: float | None = None
    holdout: int | None = None
    calibration: list[CalibrationRow] = []


def _payload(payload) -> dict:
    return payload.model_dump(exclude_unset=True)


@router.get("/lead-scoring/rules", response={200: list[FitRuleOut], **ERRORS})
def list_fit_rules(request):
    """Every fit rule, active or not, in order."""
    return selectors.fit_rules(actor_of(request))


@router.post("/lead-scoring/rules", response={201: FitRuleOut, **ERRORS})
def create_fit_rule(request, payload: FitRuleIn):
    rule = configuration.create_fit_rule(actor=actor_of(request), data=_payload(payload), source_label=SOURCE)
    return Status(201, rule)


@router.patch("/lead-scoring/rules/{rule_id}", response={200: FitRuleOut, **ERRORS})
def update_fit_rule(request, rule_id: int, payload: FitRuleIn):
    actor = actor_of(request)
    rule = selectors.fit_rule(actor, rule_id)
    return configuration.update_fit_rule(actor=actor, rule=rule, data=_payload(payload), source_label=SOURCE)


@router.delete("/lead-scoring/rules/{rule_id}", response={204: None, **ERRORS})
def delete_fit_rule(request, rule_id: int):
    actor = actor_of(request)
    configuration.delete_fit_rule(actor=actor, rule=selectors.fit_rule(actor, rule_id), source_label=SOURCE)
    return Status(204, None)


@router.get("/lead-scoring/settings", response={200: SettingsOut, **ERRORS})
def get_scoring_settings(request):
    return selectors.scoring_settings(actor_of(request))


@router.patch("/lead-scoring/settings", response={200: SettingsOut, **ERRORS})
def update_scoring_settings(request, payload: SettingsIn):
    return configuration.update_scoring_settings(actor=actor_of(request), data=_payload(payload),
                                                 source_label=SOURCE)


@router.get("/lead-scoring/evaluation", response={200: EvaluationOut, **ERRORS})
def get_evaluation(request):
    """The latest training run: ROC AUC, Brier score and calibration table on its holdout."""
    report = selectors.evaluation(actor_of(request))
    if report is None:
        raise NotVisible("no model has been trained yet (rapport leads train)")
    m = report["metrics"] or {}
    return {**{k: report[k] for k in ("version", "trained_at", "status", "note", "in_use", "outcomes", "wins")},
            **{k: m.get(k) for k in ("roc_auc", "brier", "brier_base_rate", "base_rate", "holdout")},
            "calibration": m.get("calibration", [])}
