"""Writes to the scoring configuration: fit rules and settings, audited.

Changing a rule or a setting does not rescore leads by itself (a million leads take a while);
the pages and the API say so, and `rapport leads score` (or the nightly schedule) applies it.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from rapport.core import audit
from rapport.core.errors import NotAllowed, ValidationFailed
from rapport.core.models import AuditAction
from rapport.leads.models import DEFAULT_EVENT_WEIGHTS, FitRule, ScoringSettings

from .rules import clean_fit_rule
from .selectors import may_edit_scoring

RULE_FIELDS = ["label", "attribute", "custom_field", "operator", "values", "number", "currency", "weight", "active",
               "position"]
SETTING_FIELDS = ["poor_fit_threshold", "half_life_days", "event_weights", "min_outcomes", "fit_share"]


def _require_editor(actor) -> None:
    if not may_edit_scoring(actor):
        raise NotAllowed("only admins and marketers change fit rules and scoring settings")


@transaction.atomic
def create_fit_rule(*, actor, data: dict[str, Any], source_label: str = "web") -> FitRule:
    _require_editor(actor)
    rule = FitRule(created_by=actor, **clean_fit_rule(data))
    rule.save()
    audit.audit_created(actor=actor, instance=rule, fields=RULE_FIELDS, source=source_label)
    return rule


@transaction.atomic
def update_fit_rule(*, actor, rule: FitRule, data: dict[str, Any], source_label: str = "web") -> FitRule:
    _require_editor(actor)
    rule = FitRule.objects.select_for_update().get(pk=rule.pk, deleted_at__isnull=True)
    audit.save_changes(actor=actor, instance=rule, values=clean_fit_rule(data, instance=rule), fields=RULE_FIELDS,
                       source=source_label)
    return rule


@transaction.atomic
def delete_fit_rule(*, actor, rule: FitRule, source_label: str = "web") -> None:
    _require_editor(actor)
    rule.deleted_at = timezone.now()
    rule.active = False
    rule.save(update_fields=["deleted_at", "active", "updated_at"])
    audit.audit(actor=actor, action=AuditAction.DELETE, instance=rule, source=source_label)


def _number(data: dict, name: str, errors: dict, *, low: float, high: float, whole: bool = True):
    value = data[name]
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)
        if whole and number != int(number):
            raise ValueError
    except (TypeError, ValueError):
        errors[name] = "a whole number" if whole else "a number"
        return None
    if not low <= number <= high:
        errors[name] = f"from {low:g} to {high:g}"
        return None
    return int(number) if whole else number


def clean_settings(data: dict[str, Any]) -> dict[str, Any]:
    """Judge the settings sent; unknown names, out-of-range numbers and unknown event kinds are refused."""
    from rapport.timeline.models import EventKind

    if not isinstance(data, dict):
        raise ValidationFailed({"settings": "send the settings as an object"})
    errors = {name: "unknown field" for name in sorted(set(data) - set(SETTING_FIELDS))}
    cleaned: dict[str, Any] = {}
    limits = {"poor_fit_threshold": (0, 100, True), "half_life_days": (0.5, 365, False),
              "min_outcomes": (20, 1_000_000, True), "fit_share": (0, 100, True)}
    for name, (low, high, whole) in limits.items():
        if name in data:
            cleaned[name] = _number(data, name, errors, low=low, high=high, whole=whole)
    if "event_weights" in data:
        weights = data["event_weights"]
        if not isinstance(weights, dict):
            errors["event_weights"] = "points per event kind, e.g. {\"page_view\": 1, \"form\": 10}"
        else:
            unknown = sorted(set(weights) - set(EventKind.values))
            bad = []
            clean = {}
            for kind, points in weights.items():
                try:
                    value = float(points)
                    if isinstance(points, bool) or not 0 <= value <= 100:
                        raise ValueError
                    clean[kind] = value
                except (TypeError, ValueError):
                    bad.append(str(kind))
            if unknown:
                errors["event_weights"] = f"unknown event kinds: {', '.join(unknown[:10])}"
            elif bad:
                errors["event_weights"] = f"points from 0 to 100 (not negative) for: {', '.join(bad[:10])}"
            cleaned["event_weights"] = clean
    if errors:
        raise ValidationFailed(errors)
    return cleaned


@transaction.atomic
def update_scoring_settings(*, actor, data: dict[str, Any], source_label: str = "web") -> ScoringSettings:
    _require_editor(actor)
    cleaned = clean_settings(data)
    settings = ScoringSettings.current()
    before = audit.snapshot(settings, SETTING_FIELDS)
    for name, value in cleaned.items():
        setattr(settings, name, value)
    settings.updated_at, settings.updated_by = timezone.now(), actor
    settings.save()
    changes = audit.changes_between(before, audit.snapshot(settings, SETTING_FIELDS))
    if changes:
        audit.audit(actor=actor, action=AuditAction.UPDATE, instance=settings, changes=changes, source=source_label)
    return settings


def default_event_weights() -> dict[str, float]:
    return dict(DEFAULT_EVENT_WEIGHTS)
