"""/api/v1/lead-routing: the assignment rules, seller capacities and routing settings.

Admins change them; managers may read the rules (to explain to a seller why a lead went where).
Thin: parse, call the routing services, shape the reply.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib.auth import get_user_model
from ninja import Router, Schema, Status

from rapport.api.auth import actor_of
from rapport.api.schemas import InputSchema, Problem, ValidationProblem
from rapport.core.errors import NotAllowed, NotVisible
from rapport.core.visibility import is_admin

from ..routing import rules as services
from ..routing.assignment import routing_settings

router = Router(tags=["lead routing"])
SOURCE = "api"
ERRORS = {401: Problem, 403: Problem, 404: Problem, 422: ValidationProblem}


class RuleOut(Schema):
    id: int
    name: str
    position: int
    active: bool
    countries: list[str]
    industries: list[str]
    size_bands: list[str]
    sources: list[str]
    assign_to: int | None
    team: int | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_assign_to(rule) -> int | None:
        return rule.assign_to_id

    @staticmethod
    def resolve_team(rule) -> int | None:
        return rule.team_id


class RuleIn(InputSchema):
    """Conditions are lists; an empty or missing list accepts any lead. Give `assign_to` (a user id)
    or `team` (a team id, for round-robin among its sellers), not both."""

    name: str | None = None
    position: int | None = None
    active: bool | None = None
    countries: list[str] | None = None
    industries: list[str] | None = None
    size_bands: list[str] | None = None
    sources: list[str] | None = None
    assign_to: int | None = None
    team: int | None = None


class SettingsOut(Schema):
    fallback_owner: int | None
    default_capacity: int
    first_response_hours: Decimal
    time_zone: str
    business_hours: dict
    holidays: list[str]

    @staticmethod
    def resolve_fallback_owner(settings) -> int | None:
        return settings.fallback_owner_id

    @staticmethod
    def resolve_first_response_hours(settings) -> Decimal:
        return Decimal(str(settings.first_response_hours)).quantize(Decimal("0.01"))

    @staticmethod
    def resolve_business_hours(settings) -> dict:
        from ..routing.business_hours import DEFAULT_HOURS

        return settings.business_hours or DEFAULT_HOURS


class SettingsIn(InputSchema):
    fallback_owner: int | None = None
    default_capacity: int | None = None
    first_response_hours: Decimal | None = None
    time_zone: str | None = None
    business_hours: dict[str, list[list[str]]] | None = None
    holidays: list[str] | None = None


class CapacityIn(InputSchema):
    max_open_leads: int
    accepts_leads: bool = True


class CapacityOut(Schema):
    user: int
    max_open_leads: int
    accepts_leads: bool

    @staticmethod
    def resolve_user(capacity) -> int:
        return capacity.user_id


@router.get("/lead-routing/rules", response={200: list[RuleOut], **ERRORS})
def list_rules(request):
    """The rules in the order they are tried (admins and managers)."""
    actor = actor_of(request)
    rules = services.rule_queryset(actor)
    if not rules.query.is_empty():
        return list(rules.order_by("position", "id"))
    raise NotAllowed("only admins and managers read the routing rules")


@router.post("/lead-routing/rules", response={201: RuleOut, **ERRORS})
def create_rule(request, payload: RuleIn):
    rule = services.create_rule(actor=actor_of(request), data=payload.model_dump(exclude_unset=True), source=SOURCE)
    return Status(201, rule)


@router.get("/lead-routing/rules/{rule_id}", response={200: RuleOut, **ERRORS})
def get_rule(request, rule_id: int):
    return services.get_rule(actor_of(request), rule_id)


@router.patch("/lead-routing/rules/{rule_id}", response={200: RuleOut, **ERRORS})
def update_rule(request, rule_id: int, payload: RuleIn):
    actor = actor_of(request)
    rule = services.get_rule(actor, rule_id)
    return services.update_rule(actor=actor, rule=rule, data=payload.model_dump(exclude_unset=True), source=SOURCE)


@router.delete("/lead-routing/rules/{rule_id}", response={204: None, **ERRORS})
def delete_rule(request, rule_id: int):
    actor = actor_of(request)
    services.delete_rule(actor=actor, rule=services.get_rule(actor, rule_id), source=SOURCE)
    return Status(204, None)


@router.get("/lead-routing/settings", response={200: SettingsOut, **ERRORS})
def get_settings(request):
    if not is_admin(actor_of(request)):
        raise NotAllowed("only admins read the routing settings")
    return routing_settings()


@router.patch("/lead-routing/settings", response={200: SettingsOut, **ERRORS})
def update_settings(request, payload: SettingsIn):
    return services.update_routing_settings(actor=actor_of(request), data=payload.model_dump(exclude_unset=True),
                                            source=SOURCE)


@router.put("/lead-routing/capacities/{user_id}", response={200: CapacityOut, **ERRORS})
def set_capacity(request, user_id: int, payload: CapacityIn):
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise NotVisible(f"user {user_id}")
    return services.set_capacity(actor=actor_of(request), user=user, max_open_leads=payload.max_open_leads,
                                 accepts_leads=payload.accepts_leads, source=SOURCE)
