"""Validating the values of admin-defined custom fields."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from .models import CustomField, CustomFieldType
from .normalize import InvalidValue


def definitions(entity: str) -> list[CustomField]:
    return list(CustomField.objects.filter(entity=entity))


def clean_value(field: CustomField, raw: Any) -> Any:
    """The stored (JSON) form of one custom value, or InvalidValue naming the reason."""
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        if field.required:
            raise InvalidValue(f"{field.label} is required")
        return None
    kind = field.field_type
    if kind == CustomFieldType.TEXT:
        text = str(raw).strip()
        if len(text) > 1000:
            raise InvalidValue(f"{field.label} has at most 1,000 characters")
        return text
    if kind == CustomFieldType.NUMBER:
        if isinstance(raw, bool):
            raise InvalidValue(f"{field.label} must be a number")
        try:
            number = Decimal(str(raw).strip().replace(",", ""))
        except InvalidOperation as exc:
            raise InvalidValue(f"{field.label} must be a number, not '{raw}'") from exc
        if not number.is_finite():
            raise InvalidValue(f"{field.label} must be a finite number")
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == CustomFieldType.DATE:
        if isinstance(raw, dt.date):
            return raw.isoformat()
        try:
            return dt.date.fromisoformat(str(raw).strip()).isoformat()
        except ValueError as exc:
            raise InvalidValue(f"{field.label} must be a date as YYYY-MM-DD, not '{raw}'") from exc
    if kind == CustomFieldType.CHOICE:
        text = str(raw).strip()
        for choice in field.choices:
            if text.lower() == str(choice).lower():
                return choice
        raise InvalidValue(f"{field.label} must be one of: {', '.join(map(str, field.choices))}")
    if kind == CustomFieldType.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in {"true", "yes", "1", "y", "on"}:
            return True
        if text in {"false", "no", "0", "n", "off"}:
            return False
        raise InvalidValue(f"{field.label} must be yes or no, not '{raw}'")
    raise InvalidValue(f"{field.label} has an unknown type")


def clean_custom(entity: str, values: dict[str, Any], *, existing: dict | None = None,
                 fields: list[CustomField] | None = None, partial: bool = False) -> tuple[dict, dict[str, str]]:
    """Merge `values` into `existing`, returning (custom, errors keyed by field key).

    Unknown keys are an error, not silently dropped.
    """
    fields = fields if fields is not None else definitions(entity)
    by_key = {f.key: f for f in fields}
    result = dict(existing or {})
    errors: dict[str, str] = {}
    for key in values:
        if key not in by_key:
            errors[key] = f"'{key}' is not a custom field of {entity}s"
    for field in fields:
        if field.key not in values:
            if not partial and field.required and result.get(field.key) in (None, ""):
                errors[field.key] = f"{field.label} is required"
            continue
        try:
            cleaned = clean_value(field, values[field.key])
        except InvalidValue as exc:
            errors[field.key] = str(exc)
            continue
        if cleaned is None:
            result.pop(field.key, None)
        else:
            result[field.key] = cleaned
    return result, errors
