"""Display helpers for deal pages: money in its currency's minor units, time spent in a stage."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import template
from django.utils import timezone

from rapport.sales.currencies import format_money

register = template.Library()


@register.filter
def money(amount, currency: str) -> str:
    """1234.5|money:"EUR" → "1,234.50 EUR"."""
    return format_money(amount, currency) if amount is not None else ""


@register.filter
def days_since(moment: dt.datetime | None) -> str:
    """How long ago, in whole days: "today", "1 day", "12 days"."""
    if moment is None:
        return ""
    days = (timezone.now() - moment).days
    if days < 1:
        return "less than a day"
    return "1 day" if days == 1 else f"{days} days"


@register.filter
def plain_number(value) -> str:
    """Decimal("3.000") → "3", Decimal("2.50") → "2.5": no trailing zeros, never "1E+1"."""
    if value is None:
        return ""
    text = f"{Decimal(value).normalize():f}"
    return text
