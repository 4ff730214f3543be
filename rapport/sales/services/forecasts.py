"""Writes for forecasts: targets, and accepting a suggested (effective) target.

Admins set anyone's targets and managers those of their team and its members; sellers read
their own (see `selectors.targets`). A target is one per person or team, metric and period:
setting one that exists updates it. Every change is audited. Targets concern no customer, so
they leave no timeline event.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from rapport.core import audit
from rapport.core.errors import NotAllowed, NotVisible, ValidationFailed
from rapport.core.models import AuditAction, Team

from .. import periods
from ..currencies import CURRENCIES, clean_currency, clean_money, parse_decimal
from ..models import NON_MONEY_METRICS, Target, TargetMetric
from ..selectors import targets as selectors

TARGET_FIELDS = ["user", "team", "metric", "period_kind", "period_start", "amount", "currency"]
LARGEST_COUNT = Decimal(1_000_000_000)
METRIC_CHOICES = "choose revenue, new_customers, retention or health"


def _as_id(value: Any, field: str, errors: dict[str, str]) -> int | None:
    if value in (None, ""):
        return None
    if hasattr(value, "pk"):
        return value.pk
    try:
        return int(value)
    except (TypeError, ValueError):
        errors[field] = "must be a whole number (an id)"
        return None


def _clean_who(actor, data: dict[str, Any], errors: dict[str, str]) -> tuple[Any, Team | None]:
    user_id = _as_id(data.get("user"), "user", errors)
    team_id = _as_id(data.get("team"), "team", errors)
    if "user" in errors or "team" in errors:
        return None, None
    if user_id is not None and team_id is not None:
        errors["team"] = "a target is for a user or for a team, not both"
        return None, None
    if user_id is None and team_id is None:
        errors["user"] = "choose a user or a team"
        return None, None
    if user_id is not None:
        user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
        # Another team's member is "no such user" to a manager: the id says nothing more.
        if user is None or not selectors.may_set_target(actor, user=user):
            errors["user"] = "no such user among the people you set targets for"
            return None, None
        return user, None
    team = Team.objects.filter(pk=team_id).first()
    if team is None or not selectors.may_set_target(actor, team=team):
        errors["team"] = "no such team among the teams you set targets for"
        return None, None
    return None, team


def _clean_amount(data: dict[str, Any], metric: str, errors: dict[str, str]) -> tuple[Decimal | None, str]:
    amount = data.get("amount")
    if amount in (None, "") or (isinstance(amount, str) and not amount.strip()):
        errors["amount"] = "enter the target"
        return None, ""
    if metric in (TargetMetric.RETENTION, TargetMetric.HEALTH):
        return _clean_score(amount, metric, data, errors), ""
    if metric == TargetMetric.NEW_CUSTOMERS:
        if data.get("currency") not in (None, ""):
            errors["currency"] = "a new-customers target is a count: leave the currency empty"
        try:
            number = parse_decimal(amount, "amount")
        except ValidationFailed as exc:
            errors.update(exc.errors)
            return None, ""
        if number < 0:
            errors["amount"] = "must not be negative"
        elif number != number.to_integral_value():
            errors["amount"] = "a count of customers is a whole number"
        elif number >= LARGEST_COUNT:
            errors["amount"] = "too large"
        return (None if "amount" in errors else number.quantize(Decimal(1))), ""
    try:
        currency = clean_currency(data.get("currency") or settings.RAPPORT_BASE_CURRENCY)
        return clean_money(amount, currency, field="amount"), currency
    except ValidationFailed as exc:
        errors.update(exc.errors)
        return None, ""


def _clean_score(amount, metric: str, data: dict[str, Any], errors: dict[str, str]) -> Decimal | None:
    """A retention target is a percentage and a health target a score: both 0 to 100."""
    what = "a retention target is a percentage" if metric == TargetMetric.RETENTION else "a health target is a score"
    if data.get("currency") not in (None, ""):
        errors["currency"] = f"{what}: leave the currency empty"
    try:
        number = parse_decimal(amount, "amount")
    except ValidationFailed as exc:
        errors.update(exc.errors)
        return None
    if not 0 <= number <= 100:
        errors["amount"] = f"{what} from 0 to 100"
        return None
    return number.quantize(Decimal("0.1"))


def _clean_target(actor, data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {name: "unknown field" for name in set(data) - set(TARGET_FIELDS)}
    user, team = _clean_who(actor, data, errors)
    metric = data.get("metric") or TargetMetric.REVENUE
    if metric not in TargetMetric.values:
        errors["metric"] = METRIC_CHOICES
        metric = TargetMetric.REVENUE
    kind = None
    try:
        kind = periods.clean_kind(data.get("period_kind"), field="period_kind")
    except ValidationFailed as exc:
        errors.update(exc.errors)
    start = None
    if data.get("period_start") in (None, ""):
        errors["period_start"] = "enter the first day of the month or quarter"
    elif kind:
        try:
            start = periods.clean_start(data["period_start"], kind, field="period_start")
        except ValidationFailed as exc:
            errors.update(exc.errors)
    amount, currency = _clean_amount(data, metric, errors)
    if errors:
        raise ValidationFailed(errors)
    return {"user": user, "team": team, "metric": metric, "period_kind": kind, "period_start": start,
            "amount": amount, "currency": currency}


def _require_manager(actor) -> None:
    if not selectors.may_manage_targets(actor):
        raise NotAllowed("only admins and managers set targets")


def _same_target(cleaned: dict[str, Any]):
    return Target.objects.select_for_update().filter(
        deleted_at__isnull=True, user=cleaned["user"], team=cleaned["team"], metric=cleaned["metric"],
        period_kind=cleaned["period_kind"], period_start=cleaned["period_start"])


def _apply(actor, target: Target, cleaned: dict[str, Any], source: str) -> Target:
    # The column keeps four places; compare in the currency's own so 5000.0000 -> 5000.00 is no change.
    places = CURRENCIES.get(target.currency, 0) if target.currency else 0
    target.amount = Decimal(target.amount).quantize(Decimal(1).scaleb(-places))
    before = audit.snapshot(target, TARGET_FIELDS)
    for name, value in cleaned.items():
        setattr(target, name, value)
    changes = audit.changes_between(before, audit.snapshot(target, TARGET_FIELDS))
    if changes:
        target.updated_at = timezone.now()
        target.save()
        audit.audit(actor=actor, action=AuditAction.UPDATE, instance=target, changes=changes, source=source)
    return target


@transaction.atomic
def set_target(*, actor, data: dict[str, Any], source: str = "web") -> tuple[Target, bool]:
    """Set a target: creates it, or updates the live one for the same person or team, metric and
    period. Returns (target, created)."""
    _require_manager(actor)
    cleaned = _clean_target(actor, data)
    existing = _same_target(cleaned).first()
    if existing is not None:
        return _apply(actor, existing, cleaned, source), False
    try:
        with transaction.atomic():
            target = Target.objects.create(created_by=actor, **cleaned)
    except IntegrityError as exc:  # another request set the same target a moment ago
        raise ValidationFailed({"period_start": "this target was just set by someone else; reload and change it"}) from exc
    audit.audit_created(actor=actor, instance=target, fields=TARGET_FIELDS, source=source)
    return target, True


def _check_may_change(actor, target: Target) -> None:
    _require_manager(actor)
    if not selectors.may_set_target(actor, user=target.user, team=target.team):
        raise NotAllowed("you set targets only for your team and its members")


@transaction.atomic
def update_target(*, actor, target: Target, data: dict[str, Any], source: str = "web") -> Target:
    """Change a target (fetched with `selectors.targets.get_target(actor, id)`). Moving it onto
    another target's person, metric and period is refused: change that one instead."""
    _check_may_change(actor, target)
    unknown = set(data) - set(TARGET_FIELDS)
    if unknown:
        raise ValidationFailed({name: "unknown field" for name in unknown})
    merged = {"user": target.user_id, "team": target.team_id, "metric": target.metric,
              "period_kind": target.period_kind, "period_start": target.period_start,
              "amount": target.amount, "currency": target.currency or None}
    if "metric" in data and data["metric"] in NON_MONEY_METRICS and "currency" not in data:
        merged["currency"] = None
    if "user" in data and data["user"] not in (None, "") and "team" not in data:
        merged["team"] = None
    if "team" in data and data["team"] not in (None, "") and "user" not in data:
        merged["user"] = None
    merged.update(data)
    cleaned = _clean_target(actor, merged)
    if _same_target(cleaned).exclude(pk=target.pk).exists():
        raise ValidationFailed({"period_start": "there is already a target for this person or team, metric and "
                                                "period: change that one"})
    return _apply(actor, target, cleaned, source)


@transaction.atomic
def delete_target(*, actor, target: Target, source: str = "web") -> None:
    """Remove a target (kept in the database, out of every page and figure)."""
    _check_may_change(actor, target)
    target.deleted_at = timezone.now()
    target.save(update_fields=["deleted_at"])
    audit.audit(actor=actor, action=AuditAction.DELETE, instance=target, source=source)


def accept_suggestion(*, actor, user_id: Any, period_kind: Any, period_start: Any, source: str = "web",
                      today: dt.date | None = None) -> tuple[Target, bool]:
    """Make a seller's suggested revenue target (recomputed now, in the base currency) their
    target for the period: one click for a manager who agrees with the reasoning."""
    from ..selectors.suggestions import suggestions

    _require_manager(actor)
    errors: dict[str, str] = {}
    uid = _as_id(user_id, "user", errors)
    if uid is None and "user" not in errors:
        errors["user"] = "choose a seller"
    kind = None
    try:
        kind = periods.clean_kind(period_kind, field="period_kind")
        if period_start in (None, ""):
            errors["period_start"] = "enter the first day of the month or quarter"
        else:
            periods.clean_start(period_start, kind, field="period_start")
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    try:
        found = suggestions(actor, kind=kind, start=period_start, only_user_id=uid, today=today)
    except NotVisible:
        found = []
    if not found or not found[0].may_accept:
        raise ValidationFailed({"user": "no such user among the people you set targets for"})
    suggestion = found[0].suggestion
    if suggestion.amount is None:
        raise ValidationFailed({"user": "no suggestion for this seller: no won revenue in a year and no open "
                                        "pipeline for the period"})
    return set_target(actor=actor, source=source, data={
        "user": uid, "metric": TargetMetric.REVENUE, "period_kind": kind, "period_start": period_start,
        "amount": suggestion.amount, "currency": settings.RAPPORT_BASE_CURRENCY})
