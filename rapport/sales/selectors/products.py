"""Reads of the product catalogue and its price book (rates are in `rates.py`).

The catalogue is shared: every signed-in user reads every product (a seller quoting needs the
whole price book), so the rule here is "signed in and active", not owner or team. Who may
change the catalogue is `may_manage_products`; the services enforce it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from rapport.core.errors import NotVisible, ValidationFailed
from rapport.core.models import Role
from rapport.core.pagination import Page, keyset_page
from rapport.core.visibility import is_admin, profile_of, visibility_of

from ..currencies import CURRENCIES
from ..models import Product, ProductCategory, ProductPrice

PRODUCT_SORTS = {"sku": "sku", "-sku": "-sku", "name": "name", "-name": "-name", "-created": "-id",
                 "created": "id", "-updated": "-updated_at"}
ACTIVE_CHOICES = ("", "yes", "no", "all")


def signed_in(user) -> bool:
    return visibility_of(user) != "none"


def may_manage_products(user) -> bool:
    """Admins and managers keep the catalogue and its prices; sellers quote from it."""
    if not signed_in(user):
        return False
    return is_admin(user) or profile_of(user).role == Role.MANAGER


def product_queryset(user) -> QuerySet[Product]:
    """Live (not trashed) products; none for a signed-out or deactivated user."""
    if not signed_in(user):
        return Product.objects.none()
    return Product.objects.filter(deleted_at__isnull=True)


def trashed_products(user) -> QuerySet[Product]:
    """Trashed products, for the people who may restore them."""
    if not may_manage_products(user):
        return Product.objects.none()
    return Product.objects.filter(deleted_at__isnull=False).order_by("-deleted_at")


def _with_prices(qs: QuerySet[Product]) -> QuerySet[Product]:
    return qs.select_related("category").prefetch_related(
        Prefetch("prices", queryset=ProductPrice.objects.order_by("currency"))
    )


def get_product(user, product_id: int) -> Product:
    """The product with its category and prices, or NotVisible (404) if missing or trashed."""
    product = _with_prices(product_queryset(user)).filter(pk=product_id).first()
    if product is None:
        raise NotVisible(f"product {product_id}")
    return product


def product_for_update(user, product_id: int) -> Product:
    product = product_queryset(user).select_for_update().filter(pk=product_id).first()
    if product is None:
        raise NotVisible(f"product {product_id}")
    return product


def get_product_by_sku(user, sku: str) -> Product:
    """The live product with exactly this SKU (order imports and shop integrations use SKUs)."""
    product = _with_prices(product_queryset(user)).filter(sku=(sku or "").strip()).first()
    if product is None:
        raise NotVisible(f"product {sku!r}")
    return product


def filter_products(user, params: dict[str, Any]) -> QuerySet[Product]:
    """Products narrowed by the list's filters.

    q: SKU or name prefix, any case. category: a category id, or "none" for uncategorised.
    active: "yes" (the default: what can be sold), "no", or "all".
    """
    qs = product_queryset(user)
    q = (params.get("q") or "").strip()
    if q:
        # A catalogue holds thousands of products, not millions: a case-insensitive prefix
        # scan is cheap here, where contacts need lower-cased key columns and range searches.
        qs = qs.filter(Q(sku__istartswith=q) | Q(name__istartswith=q))
    category = params.get("category")
    if category not in (None, ""):
        if str(category) == "none":
            qs = qs.filter(category__isnull=True)
        else:
            try:
                qs = qs.filter(category_id=int(category))
            except (TypeError, ValueError) as exc:
                raise ValidationFailed({"category": "must be a category id or 'none'"}) from exc
    active = params.get("active")
    active = "" if active is None else str(active).lower()
    if active in ("true", "1"):
        active = "yes"
    elif active in ("false", "0"):
        active = "no"
    if active not in ACTIVE_CHOICES:
        raise ValidationFailed({"active": "choose yes, no or all"})
    if active in ("", "yes"):
        qs = qs.filter(active=True)
    elif active == "no":
        qs = qs.filter(active=False)
    return qs


def list_products(user, params: dict[str, Any], *, cursor: str | None = None, size: int = 50) -> Page:
    """One page of products (with category and prices: two queries whatever the page size)."""
    sort = params.get("sort") or "sku"
    if sort not in PRODUCT_SORTS:
        raise ValidationFailed({"sort": f"choose one of: {', '.join(PRODUCT_SORTS)}"})
    qs = _with_prices(filter_products(user, params))
    return keyset_page(qs, order=PRODUCT_SORTS[sort], cursor=cursor, size=size)


def sellable_products(user, *, currency: str | None = None, limit: int = 500) -> list[Product]:
    """Active products for choosing on a deal or order line, with their prices; when
    `currency` is given, only those priced in it."""
    qs = _with_prices(product_queryset(user).filter(active=True))
    if currency:
        qs = qs.filter(prices__currency=currency)
    return list(qs.order_by("sku", "id")[:limit])


def price_for(product: Product, currency: str) -> Decimal | None:
    """The product's unit price in `currency` from the price book, or None if it has none.

    Reads the prefetched prices when the product came from a selector here."""
    for price in product.prices.all():
        if price.currency == currency:
            return price.unit_price
    return None


def prices_of(product: Product) -> dict[str, Decimal]:
    """{currency: unit price} with each price shown in its currency's minor units."""
    return {p.currency: p.unit_price.quantize(Decimal(1).scaleb(-CURRENCIES.get(p.currency, 2)))
            for p in product.prices.all()}


def categories(user, *, with_counts: bool = False) -> list[ProductCategory]:
    """Every category by name; with_counts adds `live_products` (live products in it)."""
    if not signed_in(user):
        return []
    qs = ProductCategory.objects.order_by("name")
    if with_counts:
        qs = qs.annotate(live_products=Count("products", filter=Q(products__deleted_at__isnull=True)))
    return list(qs)


def get_category(user, category_id: int) -> ProductCategory:
    category = ProductCategory.objects.filter(pk=category_id).first() if signed_in(user) else None
    if category is None:
        raise NotVisible(f"category {category_id}")
    return category
