"""Display helpers for forecasts, targets and cost of sales: totals in the base currency with
what could not be converted, percentages, hours, and a deal's cost for the deal page."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from rapport.sales.selectors.costs import deal_cost
from rapport.sales.selectors.deals import deal_minutes
from rapport.sales.selectors.rates import may_see_cost_rates

register = template.Library()


@register.filter
def total(value) -> str:
    """A BaseTotal: "2,300.00 EUR", and below it what had no exchange rate, if anything."""
    if value is None:
        return "—"
    if value.unconverted:
        return format_html('{}<div class="muted small">{}</div>', str(value), value.unconverted_text)
    return str(value)


@register.filter
def pct(value) -> str:
    return "—" if value is None else f"{value}%"


@register.filter
def hours(minutes) -> str:
    """95 -> "1 h 35 min"."""
    if not minutes:
        return "0 min"
    h, m = divmod(int(minutes), 60)
    return f"{h} h {m:02d} min" if h else f"{m} min"


@register.simple_tag(takes_context=True)
def deal_cost_for(context, deal) -> dict:
    """{"cost": DealCost or None, "minutes": int}: the cost only for people who may see cost
    rates (a cost divided by its minutes is the rate); everyone else sees the minutes."""
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    if may_see_cost_rates(user):
        cost = deal_cost(deal)
        return {"cost": cost, "minutes": cost.minutes}
    minutes = context.get("minutes")
    return {"cost": None, "minutes": deal_minutes(deal) if minutes is None else minutes}
