"""Fit rules: how an admin's description of the ideal customer is checked and applied.

`clean_fit_rule` judges what an admin (page or API) sends; `compile_rules` turns the active
rules into checks that run over columns of leads (`columns.LeadColumns`), so one lead and a
million leads are judged by the same code. Each check answers per lead: met (1), missed (0) or
unknown (-1: the lead has not told us the fact yet). Unknown counts as missed in the score.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from rapport.core.errors import ValidationFailed
from rapport.leads.models import BudgetBand, FitAttribute, FitOperator, FitRule
from rapport.people.models import CustomField, CustomFieldEntity, CustomFieldType, SizeBand
from rapport.sales.currencies import CURRENCIES, parse_decimal

MET, MISSED, UNKNOWN = 1, 0, -1
ALLOWED_FIELDS = {"label", "attribute", "custom_field", "operator", "values", "number", "currency", "weight",
                  "active", "position"}
MAX_VALUES = 200
# A budget band's range, to judge a budget floor when the prospect gave a band, not an amount.
BAND_RANGE = {BudgetBand.UNDER_1K: (0, 1_000), BudgetBand.FROM_1K: (1_000, 10_000),
              BudgetBand.FROM_10K: (10_000, 50_000), BudgetBand.FROM_50K: (50_000, 250_000),
              BudgetBand.OVER_250K: (250_000, float("inf"))}
SIZE_LABEL = dict(SizeBand.choices)
COUNTRY = re.compile(r"^[A-Z]{2}$")


# --- validation --------------------------------------------------------------------------------

def _custom_field(value: Any, errors: dict[str, str]) -> CustomField | None:
    """A custom field named as "company.key" / "contact.key", or by id."""
    if isinstance(value, CustomField):
        return value
    found = None
    if isinstance(value, int) and not isinstance(value, bool):
        found = CustomField.objects.filter(pk=value).first()
    elif isinstance(value, str) and "." in value:
        entity, _, key = value.strip().partition(".")
        found = CustomField.objects.filter(entity=entity.lower(), key=key).first()
    elif isinstance(value, str) and value.strip().isdigit():
        found = CustomField.objects.filter(pk=int(value)).first()
    if found is None:
        errors["custom_field"] = (f"no custom field '{str(value)[:60]}': name one as company.<key> or contact.<key> "
                                  "(admins define them under Custom fields)")
    return found


def _weight(value: Any, errors: dict[str, str]) -> int:
    try:
        if isinstance(value, bool):
            raise TypeError
        weight = int(str(value).strip()) if isinstance(value, str) else int(value)
        if weight != float(value):
            raise ValueError
    except (TypeError, ValueError):
        errors["weight"] = "a whole number of points from 1 to 100"
        return 0
    if not 1 <= weight <= 100:
        errors["weight"] = ("must be from 1 to 100 points (a rule cannot count against a lead; "
                            "to stop a rule counting, switch it off)")
    return weight


def _value_list(raw: Any, errors: dict[str, str]) -> list:
    if isinstance(raw, str):
        raw = [v for v in (part.strip() for part in raw.split(",")) if v]
    if not isinstance(raw, list) or not raw:
        errors["values"] = "list at least one value the ideal customer has"
        return []
    if len(raw) > MAX_VALUES:
        errors["values"] = f"at most {MAX_VALUES} values"
        return []
    return raw


def _clean_values(attribute: str, field: CustomField | None, raw: Any, errors: dict[str, str]) -> list:
    values = _value_list(raw, errors)
    if not values:
        return []
    bad: list[str] = []
    cleaned: list = []
    if attribute == FitAttribute.NEED:
        from rapport.sales.models import ProductCategory

        ids = []
        for v in values:
            try:
                ids.append(int(v))
            except (TypeError, ValueError):
                bad.append(str(v)[:40])
        known = set(ProductCategory.objects.filter(pk__in=ids).values_list("pk", flat=True))
        bad += [str(i) for i in ids if i not in known]
        cleaned = sorted(set(ids) & known)
        reason = "unknown product categories: {}"
    elif attribute == FitAttribute.SIZE_BAND:
        cleaned = [str(v).strip() for v in values]
        bad = [v for v in cleaned if v not in SizeBand.values]
        reason = "unknown size bands: {} (use " + ", ".join(SizeBand.values) + ")"
    elif attribute == FitAttribute.COUNTRY:
        cleaned = [str(v).strip().upper() for v in values]
        bad = [v for v in cleaned if not COUNTRY.match(v)]
        reason = "not two-letter country codes (ISO 3166, e.g. DE): {}"
    elif field is not None and field.field_type == CustomFieldType.BOOLEAN:
        for v in values:
            text = str(v).strip().lower()
            if text in ("true", "yes", "1"):
                cleaned.append("true")
            elif text in ("false", "no", "0"):
                cleaned.append("false")
            else:
                bad.append(str(v)[:40])
        reason = "a yes/no field takes yes or no, not: {}"
    elif field is not None and field.field_type == CustomFieldType.CHOICE:
        allowed = {str(c).strip().lower(): str(c).strip() for c in field.choices}
        cleaned = [allowed.get(str(v).strip().lower(), "") for v in values]
        bad = [str(v)[:40] for v, c in zip(values, cleaned, strict=True) if not c]
        reason = "not among the field's choices: {}"
    else:  # industry, text and number custom fields: compared as text, ignoring case
        cleaned = [str(v).strip() for v in values if str(v).strip()]
        bad = [v[:40] for v in cleaned if len(v) > 200]
        reason = "values longer than 200 characters: {}"
    if bad:
        errors["values"] = reason.format(", ".join(bad[:10]))
    return list(dict.fromkeys(cleaned))


def clean_fit_rule(data: dict[str, Any], *, instance: FitRule | None = None) -> dict[str, Any]:
    """Judge a fit rule (all of it when creating, the fields sent when editing).

    Refuses unknown fields, attributes and custom fields, operators the attribute does not
    take, values that cannot match (a size band or category that does not exist), a budget
    floor without a positive amount and a currency, and weights outside 1-100 (a negative weight
    would make a fact count against a lead; switching the rule off is how to drop it).
    """
    if not isinstance(data, dict):
        raise ValidationFailed({"rule": "send the rule as an object"})
    errors = {name: "unknown field" for name in sorted(set(data) - ALLOWED_FIELDS)}
    merged = {
        "label": instance.label if instance else "", "attribute": instance.attribute if instance else None,
        "custom_field": instance.custom_field if instance else None,
        "operator": instance.operator if instance else None, "values": instance.values if instance else [],
        "number": instance.number if instance else None, "currency": instance.currency if instance else "",
        "weight": instance.weight if instance else 10, "active": instance.active if instance else True,
        "position": instance.position if instance else 0,
    } | {k: v for k, v in data.items() if k in ALLOWED_FIELDS}

    attribute = merged["attribute"]
    if attribute not in FitAttribute.values:
        errors["attribute"] = "choose one of: " + ", ".join(FitAttribute.values)
        raise ValidationFailed(errors)
    field = None
    if attribute == FitAttribute.CUSTOM:
        if merged["custom_field"] in (None, ""):
            errors["custom_field"] = "name the custom field, e.g. company.annual_revenue"
        else:
            field = _custom_field(merged["custom_field"], errors)
    elif data.get("custom_field") not in (None, ""):
        errors["custom_field"] = "only custom-field rules name a custom field"

    numeric = attribute == FitAttribute.BUDGET or (
        field is not None and field.field_type in (CustomFieldType.NUMBER, CustomFieldType.DATE))
    operator = merged["operator"] or (FitOperator.AT_LEAST if attribute == FitAttribute.BUDGET
                                      else FitOperator.ONE_OF)
    if operator not in FitOperator.values:
        errors["operator"] = "choose one of: " + ", ".join(FitOperator.values)
    elif attribute == FitAttribute.BUDGET and operator != FitOperator.AT_LEAST:
        errors["operator"] = "a budget floor is always 'at_least'"
    elif operator != FitOperator.ONE_OF and not numeric:
        errors["operator"] = "only budgets and number or date custom fields compare with at_least / at_most"

    cleaned: dict[str, Any] = {"attribute": attribute, "custom_field": field, "operator": operator,
                               "values": [], "number": None, "currency": ""}
    if operator == FitOperator.ONE_OF and "operator" not in errors:
        cleaned["values"] = _clean_values(attribute, field, merged["values"], errors)
    elif field is not None and field.field_type == CustomFieldType.DATE:
        raw = merged["values"][0] if isinstance(merged["values"], list) and merged["values"] else merged["values"]
        try:
            cleaned["values"] = [dt.date.fromisoformat(str(raw).strip()).isoformat()]
        except ValueError:
            errors["values"] = "a date field compares with one date, written YYYY-MM-DD"
    elif "operator" not in errors:
        try:
            number = parse_decimal(merged["number"], "number")
            if attribute == FitAttribute.BUDGET and number <= 0:
                errors["number"] = "a budget floor is an amount above zero"
            elif abs(number) >= Decimal("1e14"):
                errors["number"] = "too large"
            cleaned["number"] = number
        except ValidationFailed as error:
            errors.update(error.errors)
        if attribute == FitAttribute.BUDGET:
            currency = str(merged["currency"] or "").strip().upper()
            if currency not in CURRENCIES:
                errors["currency"] = "the budget floor's currency, a three-letter code such as EUR"
            cleaned["currency"] = currency

    cleaned["weight"] = _weight(merged["weight"], errors)
    if not isinstance(merged["active"], bool):
        errors["active"] = "true or false"
    cleaned["active"] = merged["active"]
    try:
        cleaned["position"] = max(0, int(merged["position"]))
    except (TypeError, ValueError):
        errors["position"] = "a whole number"
    label = str(merged["label"] or "").strip()
    if len(label) > 200:
        errors["label"] = "at most 200 characters"
    if errors:
        raise ValidationFailed(errors)
    cleaned["label"] = label or describe(cleaned)
    return cleaned


def describe(rule: dict[str, Any]) -> str:
    """The rule in words, for a rule the admin did not name."""
    attribute, field = rule["attribute"], rule.get("custom_field")
    name = field.label if field is not None else FitAttribute(attribute).label
    if rule["operator"] == FitOperator.ONE_OF:
        values = rule["values"]
        if attribute == FitAttribute.SIZE_BAND:
            values = [SIZE_LABEL.get(v, v) for v in values]
        elif attribute == FitAttribute.NEED:
            from rapport.sales.models import ProductCategory

            names = dict(ProductCategory.objects.filter(pk__in=values).values_list("pk", "name"))
            values = [names.get(v, str(v)) for v in values]
        shown = ", ".join(str(v) for v in values[:5]) + (f" and {len(values) - 5} more" if len(values) > 5 else "")
        verb = "includes" if attribute == FitAttribute.NEED else "is"
        return f"{name} {verb} {shown}" if len(values) == 1 else f"{name} {verb} one of {shown}"
    if attribute == FitAttribute.BUDGET:
        return f"Budget at least {rule['number']:,.0f} {rule['currency']}"
    bound = rule["values"][0] if rule["values"] else f"{rule['number']:,}"
    return f"{name} {'at least' if rule['operator'] == FitOperator.AT_LEAST else 'at most'} {bound}"


# --- evaluation over columns -------------------------------------------------------------------

@dataclass
class CompiledRule:
    id: int
    label: str
    weight: int
    attribute: str
    operator: str
    values: list
    number: float | None
    currency: str
    custom_key: str | None  # "company.key" / "contact.key": the column LeadColumns reads
    field_type: str | None


def compile_rules(rules: list[FitRule] | None = None) -> list[CompiledRule]:
    if rules is None:
        rules = list(FitRule.objects.filter(active=True, deleted_at__isnull=True).select_related("custom_field"))
    compiled = []
    for r in rules:
        field = r.custom_field
        compiled.append(CompiledRule(
            id=r.pk, label=r.label or str(r), weight=int(r.weight), attribute=r.attribute, operator=r.operator,
            values=list(r.values or []), number=float(r.number) if r.number is not None else None,
            currency=r.currency,
            custom_key=f"{field.entity}.{field.key}" if field is not None else None,
            field_type=field.field_type if field is not None else None))
    return compiled


def custom_keys(rules: list[CompiledRule]) -> list[str]:
    return sorted({r.custom_key for r in rules if r.custom_key})


def _one_of(leads, name: str, accepted: set, normalise) -> np.ndarray:
    """Per lead: met / missed / unknown (empty value), judging each distinct value once."""
    levels, codes = leads.factor(name)
    verdict = np.array([UNKNOWN if v is None or v == "" else (MET if normalise(v) in accepted else MISSED)
                        for v in levels], dtype=np.int8)
    return verdict[codes] if len(levels) else np.zeros(0, dtype=np.int8)


def _custom_text(value, field_type: str | None = None) -> str:
    """A stored custom value as rules compare it: yes/no as true/false, whole numbers without
    decimals, text lower-cased (values arrive as text from the bulk reads)."""
    text = str(value).strip().lower()
    if field_type == CustomFieldType.BOOLEAN:
        return {"1": "true", "1.0": "true", "0": "false", "0.0": "false"}.get(text, text)
    if field_type == CustomFieldType.NUMBER:
        try:
            number = float(text)
            return str(int(number)) if number.is_integer() else str(number)
        except ValueError:
            return text
    return text


def evaluate(rules: list[CompiledRule], leads, *, rates: dict[str, float] | None = None) -> np.ndarray:
    """A (leads x rules) matrix of MET / MISSED / UNKNOWN.

    `rates` converts budgets between currencies (units of the base currency per unit); a budget
    in a currency without a rate is unknown rather than guessed.
    """
    n = len(leads.ids)
    out = np.full((n, len(rules)), UNKNOWN, dtype=np.int8)
    for j, rule in enumerate(rules):
        if rule.attribute == FitAttribute.INDUSTRY:
            out[:, j] = _one_of(leads, "industry", {v.lower() for v in rule.values}, lambda v: v.lower())
        elif rule.attribute == FitAttribute.SIZE_BAND:
            out[:, j] = _one_of(leads, "size_band", set(rule.values), str)
        elif rule.attribute == FitAttribute.COUNTRY:
            out[:, j] = _one_of(leads, "country", set(rule.values), lambda v: v.upper())
        elif rule.attribute == FitAttribute.NEED:
            has_any = np.zeros(n, dtype=bool)
            met = np.zeros(n, dtype=bool)
            if len(leads.need_lead):
                has_any[leads.need_lead] = True
                hit = np.isin(leads.need_category, np.array(rule.values, dtype=np.int64))
                met[leads.need_lead[hit]] = True
            out[:, j] = np.where(met, MET, np.where(has_any, MISSED, UNKNOWN))
        elif rule.attribute == FitAttribute.BUDGET:
            out[:, j] = _budget(rule, leads, rates or {})
        else:
            out[:, j] = _custom(rule, leads)
    return out


def _budget(rule: CompiledRule, leads, rates: dict[str, float]) -> np.ndarray:
    floor = rule.number or 0.0
    levels, codes = leads.factor("budget_currency")
    target = rates.get(rule.currency, np.nan)
    per_level = np.array([1.0 if (c or rule.currency) == rule.currency
                          else (rates[c] / target if c in rates else np.nan) for c in levels], dtype=float)
    factor = per_level[codes] if len(levels) else np.zeros(0)
    amount = leads.budget_amount * factor
    verdict = np.full(len(amount), UNKNOWN, dtype=np.int8)
    known = ~np.isnan(amount)
    verdict[known] = np.where(amount[known] >= floor, MET, MISSED)
    # a band (in the lead's currency) decides when it lies wholly above or below the floor
    band_levels, band_codes = leads.factor("budget_band")
    for band, (low, high) in BAND_RANGE.items():
        if band not in band_levels:
            continue
        rows = ~known & (band_codes == band_levels.index(band)) & ~np.isnan(factor)
        if rows.any():
            verdict[rows & (low * factor >= floor)] = MET
            verdict[rows & (high * factor <= floor)] = MISSED
    return verdict


def _custom(rule: CompiledRule, leads) -> np.ndarray:
    if rule.custom_key not in leads.custom:
        raise KeyError(rule.custom_key)
    name = f"custom:{rule.custom_key}"
    if rule.operator == FitOperator.ONE_OF:
        return _one_of(leads, name, {_custom_text(v, rule.field_type) for v in rule.values},
                       lambda v: _custom_text(v, rule.field_type))
    levels, codes = leads.factor(name)
    is_date = rule.field_type == CustomFieldType.DATE
    bound = rule.values[0] if is_date else rule.number
    at_least = rule.operator == FitOperator.AT_LEAST
    verdict = np.empty(len(levels), dtype=np.int8)
    for i, value in enumerate(levels):
        if value is None or value == "":
            verdict[i] = UNKNOWN
            continue
        try:
            v = str(value)[:10] if is_date else float(value)
        except (TypeError, ValueError):
            verdict[i] = UNKNOWN  # a stored value of the wrong type: we cannot say
            continue
        verdict[i] = MET if (v >= bound if at_least else v <= bound) else MISSED
    return verdict[codes] if len(levels) else np.zeros(0, dtype=np.int8)


def fit_scores(rules: list[CompiledRule], verdicts: np.ndarray) -> np.ndarray:
    """0-100 per lead: the share of the rules' weight met. NaN when there are no rules."""
    if not rules:
        return np.full(verdicts.shape[0], np.nan)
    weights = np.array([r.weight for r in rules], dtype=float)
    return np.rint(100.0 * ((verdicts == MET) @ weights) / weights.sum())


def details(rules: list[CompiledRule], verdicts_row: np.ndarray, score: float) -> dict:
    """What `lead.fit_details` holds: the score and each rule met or missed (unknown marked)."""
    met, missed = [], []
    for rule, v in zip(rules, verdicts_row.tolist(), strict=True):
        item = {"rule": rule.id, "label": rule.label, "weight": rule.weight}
        if v == MET:
            met.append(item)
        else:
            missed.append(item | ({"unknown": True} if v == UNKNOWN else {}))
    return {"score": None if np.isnan(score) else int(score), "met": met, "missed": missed,
            "rules": len(rules)}


def custom_entity_choices() -> list[str]:
    return [c.value for c in CustomFieldEntity]
