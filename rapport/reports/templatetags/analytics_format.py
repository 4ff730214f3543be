"""Display helpers for the insights pages: counts, money in the base currency, shares and days."""

from __future__ import annotations

from decimal import Decimal

from django import template

from rapport.sales.currencies import format_money

register = template.Library()


@register.filter
def whole(value) -> str:
    """1234 -> "1,234"."""
    return "—" if value is None else f"{value:,.0f}"


@register.filter
def plain(value) -> str:
    """An edge of a value range: 2000.0 -> "2,000", 0.5 -> "0.5"."""
    if value is None:
        return "—"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


@register.filter
def money(value, currency: str) -> str:
    """A float or Decimal amount in `currency`, with its minor units: "1,234.50 EUR"."""
    if value is None:
        return "—"
    return format_money(Decimal(str(round(float(value), 6))), currency)


@register.filter
def share(value) -> str:
    """0.625 -> "63%"."""
    return "—" if value is None else f"{value:.0%}"


@register.filter
def days(value) -> str:
    """4.25 -> "4.3 days"; under a day in hours."""
    if value is None:
        return "—"
    if value < 1:
        return f"{value * 24:.0f} h"
    return f"{value:.1f} day{'s' if round(value, 1) != 1 else ''}"
