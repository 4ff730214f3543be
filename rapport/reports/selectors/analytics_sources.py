"""Source quality: for each contact source and deal source, how many customers it brought and
whether they were good ones: their mean predicted 12-month value and their 12-month retention.

A customer belongs to the sources of their first order (see `analytics_orders`): the source of
the contact named on it, and the source of the deal it came from. Quantity is counted beside
quality: contacts per contact source, deals won per deal source.

Definitions shown on the page:
- Customers won: customers whose first order carries the source.
- Mean predicted 12-month value: the mean of their stored scores (customers not scored yet are
  left out of the mean, and counted).
- 12-month retention: of those whose first order is at least a year old, the share who ordered
  again within a year of it (a day or more after the first).

Four grouped queries, whatever the number of sources or customers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Avg, Count, F
from django.utils import timezone

from rapport.core.visibility import visible_to
from rapport.people.models import Contact
from rapport.sales.models import DealStatus
from rapport.sales.selectors.deals import deal_queryset

from .analytics_orders import YEAR, bought_again, first_orders, predicted_value_12m, visible_orders, year_old

# How the rows without a source are named: no source recorded, or nothing to take one from.
BLANK = {("contact", ""): "(no source)", ("contact", None): "(no contact on the order)",
         ("deal", ""): "(deal without a source)", ("deal", None): "(not from a deal)"}


@dataclass
class SourceRow:
    source: str
    blank: bool = False  # a row of customers without a source, named in brackets
    volume: int = 0  # contacts with this source, or deals won from it
    customers: int = 0
    scored: int = 0
    mean_value: float | None = None
    year_old: int = 0  # customers whose first order is at least a year old
    retained: int = 0

    @property
    def retention(self) -> float | None:
        return self.retained / self.year_old if self.year_old else None

    @property
    def won_share(self) -> float | None:
        return self.customers / self.volume if self.volume else None


@dataclass
class SourceQuality:
    contact_sources: list[SourceRow] = field(default_factory=list)
    deal_sources: list[SourceRow] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any(r.customers or r.volume for r in [*self.contact_sources, *self.deal_sources])


def source_quality(user, *, now=None) -> SourceQuality:
    """A row per contact source and per deal source among the records the user may see: named
    sources alphabetically, then the rows of customers without one."""
    now = now or timezone.now()
    orders = visible_orders(user)
    firsts = first_orders(user)
    result = SourceQuality()

    def quality(by: str) -> dict[str, dict]:
        rows = (firsts.annotate(source=F(by), value=predicted_value_12m()).order_by()
                .values("source")
                .annotate(customers=Count("id"), scored=Count("value"), mean_value=Avg("value"),
                          year_old=Count("id", filter=year_old(now)),
                          retained=Count("id", filter=year_old(now) & bought_again(orders, within=YEAR))))
        return {row["source"]: row for row in rows}

    contacts = dict(visible_to(Contact.objects.filter(deleted_at__isnull=True), user).order_by()
                    .values_list("source").annotate(n=Count("id")))
    deals_won = dict(deal_queryset(user).filter(status=DealStatus.WON).order_by().values_list("source")
                     .annotate(n=Count("id")))
    for kind, volumes, found, rows in [("contact", contacts, quality("contact__source"), result.contact_sources),
                                       ("deal", deals_won, quality("deal__source"), result.deal_sources)]:
        for source in sorted(set(volumes) | set(found), key=lambda s: (not s, (s or "").lower(), s is None)):
            figures = found.get(source, {})
            rows.append(SourceRow(
                source=BLANK.get((kind, source), source), blank=not source, volume=volumes.get(source, 0),
                customers=figures.get("customers", 0),
                scored=figures.get("scored", 0), mean_value=figures.get("mean_value"),
                year_old=figures.get("year_old", 0), retained=figures.get("retained", 0)))
    return result
