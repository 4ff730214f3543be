"""/api/v1/ endpoints for products, product categories and exchange rates.

Thin: parse, call a selector or service, shape the reply. Every signed-in caller reads the
catalogue and the rates; the services decide who may change them (403 otherwise). Money
travels as decimal strings with its currency, so no price passes through a binary float.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Query, Router, Schema, Status
from pydantic import Field

from rapport.api.auth import actor_of
from rapport.api.schemas import InputSchema, Problem, ValidationProblem, reject_unknown_params

from ..currencies import CURRENCIES, base_currency
from ..selectors import products as selectors
from ..selectors import rates as rate_selectors
from ..services import products as services
from ..services import rates as rate_services

router = Router(tags=["products"])

SOURCE = "api"
ERRORS = {401: Problem, 403: Problem, 404: Problem, 422: ValidationProblem}
LIST_ERRORS = {401: Problem, 422: ValidationProblem}


class Page(Schema):
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last")


# --- categories (declared before /products/{id} so the literal path is matched first) ------------

class CategoryOut(Schema):
    id: int
    name: str


class CategoryIn(InputSchema):
    name: str


@router.get("/products/categories", response={200: list[CategoryOut], **LIST_ERRORS},
            operation_id="list_product_categories")
def list_categories(request):
    """Every product category, by name."""
    reject_unknown_params(request)
    return selectors.categories(actor_of(request))


@router.post("/products/categories", response={201: CategoryOut, **ERRORS}, operation_id="create_product_category")
def create_category(request, payload: CategoryIn):
    """A new category (admins and managers). Names are unique whatever their case."""
    return Status(201, services.create_category(actor=actor_of(request), name=payload.name, source=SOURCE))


@router.patch("/products/categories/{category_id}", response={200: CategoryOut, **ERRORS},
              operation_id="rename_product_category")
def rename_category(request, category_id: int, payload: CategoryIn):
    """Rename a category; its products stay in it."""
    actor = actor_of(request)
    category = selectors.get_category(actor, category_id)
    return services.rename_category(actor=actor, category=category, name=payload.name, source=SOURCE)


@router.delete("/products/categories/{category_id}", response={204: None, **ERRORS},
               operation_id="delete_product_category")
def delete_category(request, category_id: int):
    """Remove an empty category (422 while products are still in it)."""
    actor = actor_of(request)
    services.delete_category(actor=actor, category=selectors.get_category(actor, category_id), source=SOURCE)
    return Status(204, None)


# --- products -----------------------------------------------------------------------------------

class ProductOut(Schema):
    id: int
    sku: str
    name: str
    category: int | None
    category_name: str | None
    description: str
    active: bool
    prices: dict[str, str] = Field(description="Unit price per currency, as decimal strings, e.g. {\"EUR\": \"10.00\"}")
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_category(obj) -> int | None:
        return obj.category_id

    @staticmethod
    def resolve_category_name(obj) -> str | None:
        return obj.category.name if obj.category_id else None

    @staticmethod
    def resolve_prices(obj) -> dict[str, str]:
        return {code: str(amount) for code, amount in selectors.prices_of(obj).items()}


class ProductPage(Page):
    items: list[ProductOut]


class ProductFields(InputSchema):
    sku: str | None = Field(None, description="Unique among live products, whatever its case")
    name: str | None = None
    category: int | None = Field(None, description="Category id; null for none")
    description: str | None = None
    active: bool | None = Field(None, description="Inactive products stay on past deals and orders but are not offered")
    prices: dict[str, Any] | None = Field(
        None, description="The whole price book: ISO 4217 code -> unit price as a decimal string, e.g. "
                          "{\"EUR\": \"10.00\", \"JPY\": \"1500\"}. On update it replaces every price.")


class ProductCreate(ProductFields):
    """A new product: SKU and name required."""


class ProductUpdate(ProductFields):
    """Only the fields sent change; `prices`, when sent, replaces the whole price book."""


class ProductFilters(Schema):
    q: str | None = Field(None, description="SKU or name prefix, any case")
    category: str | None = Field(None, description="Category id, or 'none' for products without one")
    active: str | None = Field(None, description="yes (default), no or all")
    sort: str | None = Field(None, description="sku (default), -sku, name, -name, created, -created, -updated")
    cursor: str | None = Field(None, description="next_cursor of the previous page")
    limit: int = Field(50, ge=1, le=200)


@router.get("/products", response={200: ProductPage, **LIST_ERRORS}, operation_id="list_products")
def list_products(request, filters: Query[ProductFilters]):
    """Products with their prices, by SKU. Active products only unless `active=no` or `all`."""
    reject_unknown_params(request, ProductFilters)
    params = filters.model_dump(exclude={"cursor", "limit"})
    page = selectors.list_products(actor_of(request), params, cursor=filters.cursor, size=filters.limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/products", response={201: ProductOut, **ERRORS}, operation_id="create_product")
def create_product(request, payload: ProductCreate):
    """Admins and managers only (403 for other roles)."""
    actor = actor_of(request)
    product = services.create_product(actor=actor, data=payload.model_dump(exclude_unset=True), source=SOURCE)
    return Status(201, selectors.get_product(actor, product.pk))


@router.get("/products/{product_id}", response={200: ProductOut, **ERRORS}, operation_id="get_product")
def get_product(request, product_id: int):
    return selectors.get_product(actor_of(request), product_id)


@router.patch("/products/{product_id}", response={200: ProductOut, **ERRORS}, operation_id="update_product")
def update_product(request, product_id: int, payload: ProductUpdate):
    actor = actor_of(request)
    product = selectors.get_product(actor, product_id)
    services.update_product(actor=actor, product=product, data=payload.model_dump(exclude_unset=True), source=SOURCE)
    return selectors.get_product(actor, product_id)


@router.delete("/products/{product_id}", response={204: None, **ERRORS}, operation_id="delete_product")
def delete_product(request, product_id: int):
    """Moves the product to the trash; past deals and orders keep it."""
    actor = actor_of(request)
    services.delete_product(actor=actor, product=selectors.get_product(actor, product_id), source=SOURCE)
    return Status(204, None)


# --- exchange rates -----------------------------------------------------------------------------

class ExchangeRateOut(Schema):
    id: int
    currency: str
    rate: str = Field(description="Units of the base currency one unit of `currency` is worth")
    base_currency: str
    valid_from: dt.date
    created_at: dt.datetime

    @staticmethod
    def resolve_rate(obj) -> str:
        return format(obj.rate.normalize(), "f")

    @staticmethod
    def resolve_base_currency(obj) -> str:
        return base_currency()


class ExchangeRatePage(Page):
    items: list[ExchangeRateOut]


class ExchangeRateIn(InputSchema):
    currency: str = Field(description=f"ISO 4217 code (one of {len(CURRENCIES)}), not the base currency")
    # Any: the service judges the value, so a bad rate gets the same reason here as on the page.
    rate: Any = Field(description="Units of the base currency one unit is worth, as a decimal string, e.g. \"0.9215\"")
    valid_from: dt.date = Field(description="From this date on (YYYY-MM-DD) until the next rate")


class ExchangeRateFilters(Schema):
    currency: str | None = Field(None, description="Only this currency's rates")
    cursor: str | None = Field(None, description="next_cursor of the previous page")
    limit: int = Field(50, ge=1, le=200)


@router.get("/exchange-rates", response={200: ExchangeRatePage, **LIST_ERRORS}, tags=["exchange rates"],
            operation_id="list_exchange_rates")
def list_exchange_rates(request, filters: Query[ExchangeRateFilters]):
    """Dated rates against the base currency, newest first."""
    reject_unknown_params(request, ExchangeRateFilters)
    page = rate_selectors.list_exchange_rates(actor_of(request), {"currency": filters.currency},
                                              cursor=filters.cursor, size=filters.limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/exchange-rates", response={201: ExchangeRateOut, **ERRORS}, tags=["exchange rates"],
             operation_id="create_exchange_rate")
def create_exchange_rate(request, payload: ExchangeRateIn):
    """Admins only. One rate per currency and date."""
    rate = rate_services.add_exchange_rate(actor=actor_of(request), currency=payload.currency, rate=payload.rate,
                                           valid_from=payload.valid_from, source=SOURCE)
    return Status(201, rate)


@router.delete("/exchange-rates/{rate_id}", response={204: None, **ERRORS}, tags=["exchange rates"],
               operation_id="delete_exchange_rate")
def delete_exchange_rate(request, rate_id: int):
    """Admins only: remove a rate entered by mistake (the audit log keeps it)."""
    actor = actor_of(request)
    rate_services.delete_exchange_rate(actor=actor, exchange_rate=rate_selectors.get_exchange_rate(actor, rate_id),
                                       source=SOURCE)
    return Status(204, None)
