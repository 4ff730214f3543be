"""Template helpers for proposals: the deal page's list of proposals and their customer links."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.urls import reverse

from rapport.sales.selectors import proposals as selectors

register = template.Library()


@register.simple_tag
def deal_proposals(deal) -> list:
    """Every version of the deal's proposals, newest first. The page fetched `deal` through a
    selector taking the user, which is what makes its proposals visible."""
    proposals = selectors.proposals_of_deal(deal)
    for proposal in proposals:
        proposal.expired = selectors.is_expired(proposal)
    return proposals


@register.simple_tag(takes_context=True)
def customer_link(context, proposal) -> str:
    """The absolute customer link of a sent proposal, "" for a draft."""
    if not proposal.link_secret:
        return ""
    url = reverse("proposal_public", args=[selectors.link_token(proposal)])
    request = context.get("request")
    return request.build_absolute_uri(url) if request is not None else url


@register.filter
def percent(value) -> str:
    """12.50 -> "12.5%"."""
    if value in (None, ""):
        return ""
    return f"{Decimal(value).normalize():f}%"


@register.filter
def quantity(value) -> str:
    """2.000 -> "2", 2.500 -> "2.5"."""
    if value in (None, ""):
        return ""
    return f"{Decimal(value).normalize():f}"
