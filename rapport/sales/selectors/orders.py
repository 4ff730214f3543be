"""Reads for orders, always narrowed to what the acting user may see.

Who sees an order: whoever may see its owner's records (the customer's owner when it was
recorded, see `visible_to`), and whoever may see its customer now. The second half matters when
a contact changes hands: the new owner sees the purchases on the contact's timeline, so the
orders behind them must open too, and the contact's page lists them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, Prefetch, QuerySet, Sum

from rapport.core.errors import NotVisible, ValidationFailed
from rapport.core.pagination import Page, keyset_page
from rapport.core.visibility import visibility_of, visible_to
from rapport.people import selectors as people
from rapport.people.models import Company, Contact

from ..currencies import round_money
from ..models import Order, OrderChannel, OrderLine, ProductCategory

HISTORY_ROWS = 10
UNCATEGORISED = "Uncategorised"


def _visible(base: QuerySet[Order], user) -> QuerySet[Order]:
    scope = visibility_of(user)
    if scope in ("all", "none"):
        return visible_to(base, user)
    by_owner = visible_to(base, user)
    by_contact = visible_to(base.filter(contact__deleted_at__isnull=True), user,
                            owner_field="contact__owner", team_field="contact__team")
    by_company = visible_to(base.filter(company__deleted_at__isnull=True), user,
                            owner_field="company__owner", team_field="company__team")
    return by_owner | by_contact | by_company


def order_queryset(user) -> QuerySet[Order]:
    """Live (not trashed) orders the user may see."""
    return _visible(Order.objects.filter(deleted_at__isnull=True), user)


def trashed_orders(user) -> QuerySet[Order]:
    return _visible(Order.objects.filter(deleted_at__isnull=False), user).order_by("-deleted_at")


def _lines_prefetch() -> Prefetch:
    return Prefetch("lines", queryset=OrderLine.objects.select_related("product__category").order_by("id"))


def get_order(user, order_id: int) -> Order:
    """The order with its lines, or NotVisible whether it is missing or hidden (both are 404)."""
    order = (order_queryset(user).select_related("contact", "company", "owner", "team", "deal")
             .prefetch_related(_lines_prefetch()).filter(pk=order_id).first())
    if order is None:
        raise NotVisible(f"order {order_id}")
    return order


def order_for_update(user, order_id: int) -> Order:
    order = Order.objects.select_for_update().filter(pk=order_id, deleted_at__isnull=True).first()
    if order is None or not order_queryset(user).filter(pk=order_id).exists():
        raise NotVisible(f"order {order_id}")
    return order


def _date(params: dict, name: str) -> dt.date | None:
    value = params.get(name)
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationFailed({name: "use a date such as 2026-01-31"}) from None


def _id(params: dict, name: str, what: str) -> int | None:
    value = params.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationFailed({name: f"must be a {what} id"}) from None


def filter_orders(user, params: dict[str, Any]) -> QuerySet[Order]:
    """Orders the user may see, narrowed by customer (contact, company), date range (ordered_from,
    ordered_to, inclusive UTC dates), channel and product category."""
    qs = order_queryset(user)
    contact = _id(params, "contact", "contact")
    if contact is not None:
        qs = qs.filter(contact_id=contact)
    company = _id(params, "company", "company")
    if company is not None:
        qs = qs.filter(company_id=company)
    start, end = _date(params, "ordered_from"), _date(params, "ordered_to")
    if start and end and end < start:
        raise ValidationFailed({"ordered_to": "the end date is before the start date"})
    if start:
        qs = qs.filter(ordered_at__gte=dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC))
    if end:
        qs = qs.filter(ordered_at__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC))
    channel = params.get("channel")
    if channel:
        if channel not in OrderChannel.values:
            raise ValidationFailed({"channel": f"choose one of: {', '.join(OrderChannel.values)}"})
        qs = qs.filter(channel=channel)
    category = _id(params, "category", "product category")
    if category is not None:
        # A subquery, not a join: an order with two lines of the category is listed once.
        qs = qs.filter(pk__in=OrderLine.objects.filter(product__category_id=category).values("order_id"))
    return qs


def list_orders(user, params: dict[str, Any], *, cursor: str | None = None, size: int = 50) -> Page:
    """One page of orders, newest first, each with its lines (two queries whatever the page size)."""
    qs = filter_orders(user, params).select_related("contact", "company").prefetch_related(_lines_prefetch())
    return keyset_page(qs, order="-ordered_at", cursor=cursor, size=size)


def categories() -> QuerySet[ProductCategory]:
    return ProductCategory.objects.order_by("name")


# --- a customer's purchases ------------------------------------------------------------------------

@dataclass
class CategoryBought:
    """What a customer buys in one product category; totals per currency, never added across."""

    category_id: int | None
    name: str
    orders: int = 0
    quantity: Decimal = Decimal(0)
    totals: dict[str, Decimal] = field(default_factory=dict)
    last_purchased: dt.datetime | None = None

    @property
    def totals_list(self) -> list[tuple[str, Decimal]]:
        return sorted(self.totals.items())


@dataclass
class PurchaseHistory:
    orders: list[Order]
    count: int
    totals: dict[str, Decimal]
    categories: list[CategoryBought]
    last_purchased: dt.datetime | None

    @property
    def totals_list(self) -> list[tuple[str, Decimal]]:
        return sorted(self.totals.items())


def _categories_bought(orders: QuerySet[Order]) -> list[CategoryBought]:
    """Per category: orders, quantity, spend per currency and the last purchase, in one grouped
    query. Each order has one currency, so per-currency order counts add up to distinct orders."""
    rows = (OrderLine.objects.filter(order__in=orders.values("pk")).order_by()
            .values("product__category_id", "product__category__name", "order__currency")
            .annotate(orders=Count("order_id", distinct=True), quantity=Sum("quantity"), total=Sum("line_total"),
                      last=Max("order__ordered_at")))
    found: dict[int | None, CategoryBought] = {}
    for row in rows:
        key = row["product__category_id"]
        item = found.setdefault(key, CategoryBought(key, row["product__category__name"] or UNCATEGORISED))
        currency = row["order__currency"]
        item.orders += row["orders"]
        item.quantity += Decimal(row["quantity"] or 0)
        item.totals[currency] = round_money(item.totals.get(currency, Decimal(0)) + Decimal(row["total"] or 0),
                                            currency)
        if item.last_purchased is None or (row["last"] and row["last"] > item.last_purchased):
            item.last_purchased = row["last"]
    return sorted(found.values(), key=lambda c: (-c.orders, -(c.last_purchased.timestamp() if c.last_purchased
                                                               else 0), c.name))


def _history(orders: QuerySet[Order], limit: int) -> PurchaseHistory:
    recent = list(orders.prefetch_related(_lines_prefetch()).order_by("-ordered_at", "-id")[:limit])
    totals: dict[str, Decimal] = {}
    count = 0
    last = None
    for row in orders.order_by().values("currency").annotate(n=Count("id"), total=Sum("total"),
                                                              last=Max("ordered_at")):
        totals[row["currency"]] = round_money(Decimal(row["total"] or 0), row["currency"])
        count += row["n"]
        last = row["last"] if last is None or (row["last"] and row["last"] > last) else last
    return PurchaseHistory(orders=recent, count=count, totals=totals, categories=_categories_bought(orders),
                           last_purchased=last)


def contact_purchases(user, contact: Contact | int, *, limit: int = HISTORY_ROWS) -> PurchaseHistory:
    """A contact's latest orders, their spend per currency and the categories they buy.

    Whoever may see the contact sees its purchases (as on its timeline). Pass the contact's id,
    or the contact itself when the caller fetched it through a selector taking `user`. Four
    queries however many orders the contact has."""
    if not isinstance(contact, Contact):
        contact = people.get_contact(user, contact)
    return _history(Order.objects.filter(contact_id=contact.pk, deleted_at__isnull=True), limit)


def company_purchases(user, company: Company | int, *, limit: int = HISTORY_ROWS) -> PurchaseHistory:
    """The same for a company: its orders, including those its contacts placed for it."""
    if not isinstance(company, Company):
        company = people.get_company(user, company)
    return _history(Order.objects.filter(company_id=company.pk, deleted_at__isnull=True), limit)


def contact_categories(user, contact_id: int) -> list[CategoryBought]:
    """What categories a contact buys (see `_categories_bought`)."""
    contact = people.get_contact(user, contact_id)
    return _categories_bought(Order.objects.filter(contact_id=contact.pk, deleted_at__isnull=True))
