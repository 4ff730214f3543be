"""Reads of exchange rates and cost rates, and who may change them."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from rapport.core.errors import NotVisible, ValidationFailed
from rapport.core.models import AuditEntry
from rapport.core.pagination import Page, keyset_page
from rapport.core.visibility import is_admin

from ..currencies import CURRENCIES
from ..models import CostRate, ExchangeRate
from .products import may_manage_products, signed_in


def may_manage_rates(user) -> bool:
    """Exchange and cost rates change every report's figures: admins only."""
    return signed_in(user) and is_admin(user)


def may_see_cost_rates(user) -> bool:
    """What an hour of each role costs is for the people who set targets and budgets."""
    return may_manage_products(user)


def exchange_rate_queryset(user) -> QuerySet[ExchangeRate]:
    """Every signed-in user reads the rates: reports in their name are converted with them."""
    if not signed_in(user):
        return ExchangeRate.objects.none()
    return ExchangeRate.objects.all()


def list_exchange_rates(user, params: dict[str, Any], *, cursor: str | None = None, size: int = 50) -> Page:
    """Rates newest first (by valid_from), optionally of one currency."""
    qs = exchange_rate_queryset(user).select_related("created_by")
    currency = (params.get("currency") or "").strip().upper()
    if currency:
        if currency not in CURRENCIES:
            raise ValidationFailed({"currency": f"unknown currency '{params['currency'].strip()[:10]}'"})
        qs = qs.filter(currency=currency)
    return keyset_page(qs, order="-valid_from", cursor=cursor, size=size)


def get_exchange_rate(user, rate_id: int) -> ExchangeRate:
    rate = exchange_rate_queryset(user).filter(pk=rate_id).first()
    if rate is None:
        raise NotVisible(f"exchange rate {rate_id}")
    return rate


def latest_exchange_rates(user) -> list[ExchangeRate]:
    """The newest rate of each currency that has one (the summary above the rate list), in
    one query whatever the number of currencies."""
    newest = ExchangeRate.objects.filter(currency=OuterRef("currency")).order_by("-valid_from").values("pk")[:1]
    return list(exchange_rate_queryset(user).filter(pk=Subquery(newest)).order_by("currency"))


def cost_rates(user) -> list[CostRate]:
    """The cost per hour of each role that has one; NotVisible for roles that may not see them."""
    if not may_see_cost_rates(user):
        raise NotVisible("cost rates")
    return list(CostRate.objects.order_by("role"))


def cost_rate_table() -> dict[str, CostRate]:
    """{role: CostRate} for computing cost of sales (no user: the figures shown are sums, and
    the caller has already checked what the user may see)."""
    return {rate.role: rate for rate in CostRate.objects.all()}


def recent_rate_changes(user, kind: str, *, limit: int = 20) -> list[AuditEntry]:
    """The latest audit entries of exchange rates (kind "exchange") or cost rates ("cost"), for
    the people who may see those rates; a deleted rate's entry still says what it was."""
    record_type = {"exchange": "sales.exchangerate", "cost": "sales.costrate"}[kind]
    allowed = may_see_cost_rates(user) if kind == "cost" else may_manage_rates(user)
    if not allowed:
        return []
    return list(AuditEntry.objects.filter(record_type=record_type).select_related("actor").order_by("-at", "-id")[:limit])
