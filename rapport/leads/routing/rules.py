"""Keeping the routing table: assignment rules, seller capacities and the routing settings.

Admins only: who gets which leads is a sales-management decision. Every change is audited.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from rapport.core import audit
from rapport.core.errors import NotAllowed, NotVisible, ValidationFailed
from rapport.core.models import AuditAction, Team
from rapport.core.visibility import is_admin
from rapport.people.models import SizeBand

from ..models import AssignmentRule, LeadSource, RoutingSettings, SellerCapacity
from .assignment import routing_settings
from .business_hours import DEFAULT_HOURS, ScheduleError, clean_schedule

RULE_FIELDS = ["name", "position", "active", "countries", "industries", "size_bands", "sources", "assign_to", "team"]
SETTINGS_FIELDS = ["fallback_owner", "default_capacity", "first_response_hours", "time_zone", "business_hours",
                   "holidays"]
MAX_VALUES = 200


def _require_admin(actor) -> None:
    if not is_admin(actor):
        raise NotAllowed("only admins may change lead routing")


def rule_queryset(actor) -> QuerySet[AssignmentRule]:
    """Every live rule, in the order they are tried. Admins and managers read them (to explain routing)."""
    from rapport.core.visibility import profile_of

    if not (is_admin(actor) or profile_of(actor).role == "manager"):
        return AssignmentRule.objects.none()
    return AssignmentRule.objects.filter(deleted_at__isnull=True).select_related("assign_to", "team")


def get_rule(actor, rule_id: int) -> AssignmentRule:
    rule = rule_queryset(actor).filter(pk=rule_id).first()
    if rule is None:
        raise NotVisible(f"assignment rule {rule_id}")
    return rule


def _text_list(name: str, value: Any, errors: dict, *, limit: int, allowed=None, transform=str.strip) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [v for v in value.split(",")]
    if not isinstance(value, list | tuple):
        errors[name] = "give a list of values"
        return []
    cleaned = []
    for item in value:
        if not isinstance(item, str):
            errors[name] = "each value must be text"
            return []
        item = transform(item.strip())
        if not item:
            continue
        if len(item) > limit:
            errors[name] = f"each value at most {limit} characters"
        elif allowed is not None and item not in allowed:
            errors[name] = f"'{item}' is not one of: {', '.join(allowed)}"
        elif item not in cleaned:
            cleaned.append(item)
    if len(cleaned) > MAX_VALUES:
        errors[name] = f"at most {MAX_VALUES} values"
    return cleaned


def _active_user(name: str, value: Any, errors: dict):
    if value in (None, ""):
        return None
    try:
        user = get_user_model().objects.filter(pk=int(value), is_active=True).first()
    except (TypeError, ValueError):
        user = None
    if user is None:
        errors[name] = "no active user with this id"
    return user


def clean_rule(data: dict[str, Any], *, instance: AssignmentRule | None = None) -> dict[str, Any]:
    errors: dict[str, str] = {k: "unknown field" for k in set(data) - set(RULE_FIELDS)}
    cleaned: dict[str, Any] = {}
    if "name" in data or instance is None:
        name = str(data.get("name") or "").strip()
        if not name:
            errors["name"] = "give the rule a name"
        elif len(name) > 120:
            errors["name"] = "at most 120 characters"
        cleaned["name"] = name
    if "position" in data:
        try:
            cleaned["position"] = int(data["position"])
            if cleaned["position"] < 0 or cleaned["position"] > 1_000_000:
                raise ValueError
        except (TypeError, ValueError):
            errors["position"] = "a whole number from 0 up"
    if "active" in data:
        if not isinstance(data["active"], bool):
            errors["active"] = "true or false"
        cleaned["active"] = bool(data["active"])
    if "countries" in data:
        cleaned["countries"] = _text_list("countries", data["countries"], errors, limit=2, transform=str.upper)
        if any(len(c) != 2 or not c.isalpha() for c in cleaned["countries"]) and "countries" not in errors:
            errors["countries"] = "use two-letter ISO country codes, e.g. DE or AT"
    if "industries" in data:
        cleaned["industries"] = _text_list("industries", data["industries"], errors, limit=100)
    if "size_bands" in data:
        cleaned["size_bands"] = _text_list("size_bands", data["size_bands"], errors, limit=10,
                                           allowed=SizeBand.values)
    if "sources" in data:
        cleaned["sources"] = _text_list("sources", data["sources"], errors, limit=20, allowed=LeadSource.values)
    if "assign_to" in data:
        cleaned["assign_to"] = _active_user("assign_to", data["assign_to"], errors)
    if "team" in data:
        team = None
        if data["team"] not in (None, ""):
            try:
                team = Team.objects.filter(pk=int(data["team"])).first()
            except (TypeError, ValueError):
                team = None
            if team is None:
                errors["team"] = "no team with this id"
        cleaned["team"] = team
    assign_to = cleaned["assign_to"] if "assign_to" in cleaned else getattr(instance, "assign_to", None)
    team = cleaned["team"] if "team" in cleaned else getattr(instance, "team", None)
    if "assign_to" not in errors and "team" not in errors:
        if assign_to is None and team is None:
            errors["assign_to"] = "give the leads to a user, or choose a team to take turns in"
        elif assign_to is not None and team is not None:
            errors["team"] = "choose a user or a team, not both"
    if errors:
        raise ValidationFailed(errors)
    return cleaned


@transaction.atomic
def create_rule(*, actor, data: dict[str, Any], source: str = "web") -> AssignmentRule:
    _require_admin(actor)
    cleaned = clean_rule(data)
    if "position" not in cleaned:
        last = AssignmentRule.objects.filter(deleted_at__isnull=True).order_by("-position").first()
        cleaned["position"] = (last.position + 10) if last else 10
    rule = AssignmentRule.objects.create(created_by=actor, **cleaned)
    audit.audit_created(actor=actor, instance=rule, fields=RULE_FIELDS, source=source)
    return rule


@transaction.atomic
def update_rule(*, actor, rule: AssignmentRule, data: dict[str, Any], source: str = "web") -> AssignmentRule:
    _require_admin(actor)
    audit.save_changes(actor=actor, instance=rule, values=clean_rule(data, instance=rule), fields=RULE_FIELDS,
                       source=source)
    return rule


@transaction.atomic
def delete_rule(*, actor, rule: AssignmentRule, source: str = "web") -> None:
    _require_admin(actor)
    rule.deleted_at = timezone.now()
    rule.save(update_fields=["deleted_at"])
    audit.audit(actor=actor, action=AuditAction.DELETE, instance=rule, source=source)


@transaction.atomic
def set_capacity(*, actor, user, max_open_leads: Any, accepts_leads: bool = True, source: str = "web") -> SellerCapacity:
    """An admin, or the seller's manager, sets how many open leads a seller may hold."""
    from rapport.core.visibility import may_assign_owner

    if not may_assign_owner(actor, user) or (actor.pk == user.pk and not is_admin(actor)):
        raise NotAllowed("only an admin or the seller's manager may set their capacity")
    try:
        limit = int(max_open_leads)
        if not 0 <= limit <= 100_000:
            raise ValueError
    except (TypeError, ValueError):
        raise ValidationFailed({"max_open_leads": "a whole number from 0 to 100,000"}) from None
    capacity, created = SellerCapacity.objects.get_or_create(user=user, defaults={"max_open_leads": limit,
                                                                                 "accepts_leads": accepts_leads})
    before = {"max_open_leads": None, "accepts_leads": None} if created else \
        {"max_open_leads": capacity.max_open_leads, "accepts_leads": capacity.accepts_leads}
    capacity.max_open_leads, capacity.accepts_leads = limit, bool(accepts_leads)
    capacity.save()
    changes = audit.changes_between(before, {"max_open_leads": limit, "accepts_leads": bool(accepts_leads)})
    if changes:
        audit.audit(actor=actor, action=AuditAction.CREATE if created else AuditAction.UPDATE, instance=capacity,
                    changes=changes, source=source)
    return capacity


@transaction.atomic
def update_routing_settings(*, actor, data: dict[str, Any], source: str = "web") -> RoutingSettings:
    """Fallback owner, default capacity and the SLA (hours, business hours, time zone, holidays)."""
    _require_admin(actor)
    settings = routing_settings()
    errors: dict[str, str] = {k: "unknown field" for k in set(data) - set(SETTINGS_FIELDS)}
    cleaned: dict[str, Any] = {}
    if "fallback_owner" in data:
        cleaned["fallback_owner"] = _active_user("fallback_owner", data["fallback_owner"], errors)
    if "default_capacity" in data:
        try:
            cleaned["default_capacity"] = int(data["default_capacity"])
            if not 0 <= cleaned["default_capacity"] <= 100_000:
                raise ValueError
        except (TypeError, ValueError):
            errors["default_capacity"] = "a whole number from 0 to 100,000"
    if "first_response_hours" in data:
        try:
            hours = Decimal(str(data["first_response_hours"]))
            if not Decimal(0) <= hours <= Decimal(999) or hours != hours.quantize(Decimal("0.01")):
                raise InvalidOperation
            cleaned["first_response_hours"] = hours
        except (InvalidOperation, ValueError):
            errors["first_response_hours"] = "a number of hours from 0 to 999, at most two decimals"
    schedule = {k: data.get(k, getattr(settings, k)) for k in ("business_hours", "time_zone", "holidays")}
    if "business_hours" not in data:
        schedule["business_hours"] = settings.business_hours or DEFAULT_HOURS
    if any(k in data for k in schedule):
        try:
            _, _, holidays = clean_schedule(schedule["business_hours"], schedule["time_zone"], schedule["holidays"])
            cleaned.update(business_hours=schedule["business_hours"], time_zone=str(schedule["time_zone"]),
                           holidays=sorted(d.isoformat() for d in holidays))
        except ScheduleError as error:
            errors.update(error.errors)
    if errors:
        raise ValidationFailed(errors)
    before = audit.snapshot(settings, SETTINGS_FIELDS)
    for name, value in cleaned.items():
        setattr(settings, name, value)
    settings.updated_at = timezone.now()
    settings.save()
    changes = audit.changes_between(before, audit.snapshot(settings, SETTINGS_FIELDS))
    if changes:
        audit.audit(actor=actor, action=AuditAction.UPDATE, instance=settings, changes=changes, source=source)
    return settings
