"""What the dashboards mean by a customer, their first order and buying again, as query pieces.

A customer is a company, or a contact when the order names no company: the rule targets use
for new customers (`rapport.sales.selectors.targets`). Two orders on the same visit (less than
a day apart) are one purchase, as the insights engine collapses same-day purchases; "bought
again" means another live order at least a day after the first.

Everything here starts from the orders the user may see (`visible_orders`): a team sees its own
customers' figures, an admin everyone's.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Subquery, When
from django.utils import timezone

from rapport.core.visibility import visible_to
from rapport.sales.models import Order

SAME_VISIT = dt.timedelta(days=1)
YEAR = dt.timedelta(days=365)


def visible_orders(user) -> QuerySet[Order]:
    """Live orders the user may see that name a customer."""
    orders = Order.objects.filter(deleted_at__isnull=True).filter(Q(company__isnull=False) | Q(contact__isnull=False))
    return visible_to(orders, user)


def _same_customer(orders: QuerySet[Order], company_ref: str = "company_id", contact_ref: str = "contact_id"):
    """(orders of the outer order's company, orders of the outer order's contact bought without a company)."""
    return (orders.filter(company_id=OuterRef(company_ref)),
            orders.filter(company__isnull=True, contact_id=OuterRef(contact_ref)))


def first_order_at(orders: QuerySet[Order]) -> Case:
    """The outer order's customer's first order time among `orders`."""
    by_company, by_contact = _same_customer(orders)
    return Case(
        When(company__isnull=False, then=Subquery(by_company.order_by("ordered_at").values("ordered_at")[:1])),
        default=Subquery(by_contact.order_by("ordered_at").values("ordered_at")[:1]),
    )


def first_orders(user) -> QuerySet[Order]:
    """Each customer's first order among those the user may see (ties: the lower id)."""
    orders = visible_orders(user)
    by_company, by_contact = _same_customer(orders)

    def earlier(qs):
        return qs.filter(Q(ordered_at__lt=OuterRef("ordered_at")) | Q(ordered_at=OuterRef("ordered_at"), id__lt=OuterRef("id")))

    return orders.filter(Q(company__isnull=False) & ~Exists(earlier(by_company))
                         | Q(company__isnull=True) & ~Exists(earlier(by_contact)))


def bought_again(orders: QuerySet[Order], *, within: dt.timedelta | None = None) -> Q:
    """A condition on a customer's first order: they placed another order among `orders` at
    least a day later (and, with `within`, no later than that after the first)."""
    def later(qs):
        qs = qs.filter(ordered_at__gte=OuterRef("ordered_at") + SAME_VISIT)
        if within is not None:
            qs = qs.filter(ordered_at__lte=OuterRef("ordered_at") + within)
        return qs

    by_company, by_contact = _same_customer(orders)
    return (Q(company__isnull=False) & Exists(later(by_company))) | (Q(company__isnull=True) & Exists(later(by_contact)))


def predicted_value_12m() -> Case:
    """The customer's stored 12-month value (the company's score, else the contact's)."""
    return Case(When(company__isnull=False, then=F("company__score__value_12m")),
                default=F("contact__score__value_12m"))


def year_old(now: dt.datetime | None = None) -> Q:
    """A condition on a first order: a full year has passed since it, so 12-month retention is known."""
    return Q(ordered_at__lte=(now or timezone.now()) - YEAR)
