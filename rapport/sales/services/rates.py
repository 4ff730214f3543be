"""Writes to exchange rates and cost rates: admins only, because every report's figures follow
them. Each service validates (ValidationFailed names each rejected field) and writes its audit
entry in the same transaction; a deleted rate's audit entry keeps what it said.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from rapport.core import audit
from rapport.core.errors import NotAllowed, ValidationFailed
from rapport.core.models import AuditAction, Role

from ..currencies import (
    base_currency,
    clean_currency,
    clean_money,
    decimal_places,
    parse_decimal,
    round_money,
)
from ..models import CostRate, ExchangeRate
from ..selectors import rates as selectors


def _require_admin(actor) -> None:
    if not selectors.may_manage_rates(actor):
        raise NotAllowed("only admins set exchange and cost rates")


# --- exchange rates -----------------------------------------------------------------------------

def _rate_snapshot(rate: ExchangeRate) -> dict[str, str]:
    # Written the same way whether the rate came from a form or from the database, so an
    # audit entry shows "0.5", never "0.5000000000".
    return {"currency": rate.currency, "rate": format(Decimal(rate.rate).normalize(), "f"),
            "valid_from": rate.valid_from.isoformat()}


def _clean_date(value, field: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationFailed({field: "use a date like 2024-01-31"}) from None


def _clean_rate(value) -> Decimal:
    if isinstance(value, str) and not value.strip():
        raise ValidationFailed({"rate": "enter a rate"})
    number = parse_decimal(value, "rate")
    if number <= 0:
        raise ValidationFailed({"rate": "must be more than zero"})
    if decimal_places(number) > 10:
        raise ValidationFailed({"rate": "at most 10 decimal places"})
    if number >= Decimal("1e10"):
        raise ValidationFailed({"rate": "too large (at most 9,999,999,999)"})
    return number


@transaction.atomic
def add_exchange_rate(*, actor, currency, rate, valid_from, source: str = "web") -> ExchangeRate:
    """From `valid_from` on, one unit of `currency` is worth `rate` units of the base currency.

    One rate per currency and date: a wrong rate is deleted and entered again, so the audit
    log shows both."""
    _require_admin(actor)
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    raw = {"currency": currency, "rate": rate, "valid_from": valid_from}
    for field, clean in (("currency", clean_currency), ("rate", _clean_rate),
                         ("valid_from", lambda v: _clean_date(v, "valid_from"))):
        try:
            cleaned[field] = clean(raw[field])
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if "currency" in cleaned and cleaned["currency"] == base_currency():
        errors["currency"] = f"{cleaned['currency']} is the base currency: it needs no rate"
    if errors:
        raise ValidationFailed(errors)
    duplicate = ValidationFailed({"valid_from": f"{cleaned['currency']} already has a rate from "
                                                f"{cleaned['valid_from'].isoformat()}; delete that one to change it"})
    if ExchangeRate.objects.filter(currency=cleaned["currency"], valid_from=cleaned["valid_from"]).exists():
        raise duplicate
    exchange_rate = ExchangeRate(created_by=actor, **cleaned)
    try:
        with transaction.atomic():
            exchange_rate.save()
    except IntegrityError as exc:
        raise duplicate from exc
    audit.audit(actor=actor, action=AuditAction.CREATE, instance=exchange_rate,
                changes={k: [None, v] for k, v in _rate_snapshot(exchange_rate).items()}, source=source)
    return exchange_rate


@transaction.atomic
def delete_exchange_rate(*, actor, exchange_rate: ExchangeRate, source: str = "web") -> None:
    """Remove a rate entered by mistake; the audit entry keeps what it said."""
    _require_admin(actor)
    audit.audit(actor=actor, action=AuditAction.DELETE, instance=exchange_rate,
                changes={k: [v, None] for k, v in _rate_snapshot(exchange_rate).items()}, source=source)
    ExchangeRate.objects.filter(pk=exchange_rate.pk).delete()


# --- cost rates ---------------------------------------------------------------------------------

def _cost_snapshot(rate: CostRate) -> dict[str, str]:
    return {"role": rate.role, "cost_per_hour": str(round_money(Decimal(rate.cost_per_hour), rate.currency)),
            "currency": rate.currency}


@transaction.atomic
def set_cost_rate(*, actor, role, cost_per_hour, currency, source: str = "web") -> CostRate:
    """What an hour of this role's time costs; cost of sales multiplies logged minutes by it."""
    _require_admin(actor)
    errors: dict[str, str] = {}
    if role not in Role.values:
        errors["role"] = f"choose one of: {', '.join(Role.values)}"
    code = None
    try:
        code = clean_currency(currency)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    amount = None
    if code:
        try:
            amount = clean_money(cost_per_hour, code, field="cost_per_hour")
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    rate = CostRate.objects.select_for_update().filter(role=role).first()
    if rate is None:
        rate = CostRate.objects.create(role=role, cost_per_hour=amount, currency=code)
        audit.audit(actor=actor, action=AuditAction.CREATE, instance=rate,
                    changes={k: [None, v] for k, v in _cost_snapshot(rate).items()}, source=source)
        return rate
    before = _cost_snapshot(rate)
    rate.cost_per_hour, rate.currency, rate.updated_at = amount, code, timezone.now()
    changes = audit.changes_between(before, _cost_snapshot(rate))
    if changes:
        rate.save()
        audit.audit(actor=actor, action=AuditAction.UPDATE, instance=rate, changes=changes, source=source)
    return rate


@transaction.atomic
def remove_cost_rate(*, actor, role, source: str = "web") -> None:
    """Forget a role's cost: its time no longer counts in cost of sales."""
    _require_admin(actor)
    rate = CostRate.objects.select_for_update().filter(role=role).first()
    if rate is None:
        raise ValidationFailed({"role": "this role has no cost rate"})
    audit.audit(actor=actor, action=AuditAction.DELETE, instance=rate,
                changes={k: [v, None] for k, v in _cost_snapshot(rate).items()}, source=source)
    rate.delete()
