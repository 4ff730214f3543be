"""/api/v1/ endpoints for orders: what customers bought, sent by shops and ERPs.

`POST /orders` is idempotent on `external_id`: sending an order again answers 200 with the order
already stored (201 only when it was created); sending it with changed content replaces the
order's content (see rapport.sales.services.orders). A customer or product the caller cannot see
or that does not exist is a 422 naming the field, as for references elsewhere in the API.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import prefetch_related_objects
from ninja import Query, Router, Schema, Status
from pydantic import Field

from rapport.api.auth import actor_of
from rapport.api.schemas import InputSchema, Problem, ValidationProblem, reject_unknown_params

from ..currencies import round_money
from ..models import OrderChannel
from ..selectors import orders as selectors
from ..services import orders as services

router = Router(tags=["orders"])

SOURCE = "api"
ERRORS = {401: Problem, 404: Problem, 422: ValidationProblem}
LIST_ERRORS = {401: Problem, 422: ValidationProblem}


class OrderLineIn(InputSchema):
    product: int | None = Field(None, description="Product id (or give `sku`)")
    sku: str | None = Field(None, description="Product SKU, when the product id is not known")
    quantity: Decimal = Field(..., description="More than zero, at most 3 decimals")
    unit_price: Decimal | None = Field(
        None, description="In the order's currency, with at most its minor units; omitted: the price book's")


class OrderIn(InputSchema):
    """An order. Name the customer by id (`contact`, `company`) or as a shop knows them
    (`contact_email`, `company_domain`); at least one. The company defaults to the contact's."""

    external_id: str | None = Field(None, description="The order's id in your shop or ERP; makes the call idempotent")
    contact: int | None = Field(None, description="Contact id")
    contact_email: str | None = Field(None, description="Or the contact's e-mail address")
    company: int | None = Field(None, description="Company id")
    company_domain: str | None = Field(None, description="Or the company's web domain")
    ordered_at: str | None = Field(None, description="ISO 8601 date or date-time (UTC if no offset); default now")
    channel: OrderChannel | None = Field(None, description="Where it was bought; default other")
    currency: str = Field(..., description="ISO 4217 code, e.g. EUR")
    is_subscription: bool | None = None
    lines: list[OrderLineIn] = Field(..., description="At least one line")


class OrderLineOut(Schema):
    id: int
    product: int
    sku: str
    product_name: str
    category: str | None
    quantity: Decimal
    unit_price: Decimal
    line_total: Decimal

    @staticmethod
    def resolve_product(obj) -> int:
        return obj.product_id

    @staticmethod
    def resolve_sku(obj) -> str:
        return obj.product.sku

    @staticmethod
    def resolve_product_name(obj) -> str:
        return obj.product.name

    @staticmethod
    def resolve_category(obj) -> str | None:
        return obj.product.category.name if obj.product.category_id else None

    @staticmethod
    def resolve_unit_price(obj) -> Decimal:
        return round_money(obj.unit_price, obj.order.currency)

    @staticmethod
    def resolve_line_total(obj) -> Decimal:
        return round_money(obj.line_total, obj.order.currency)


class OrderOut(Schema):
    id: int
    external_id: str | None
    contact: int | None
    company: int | None
    deal: int | None
    owner: int | None
    team: int | None
    ordered_at: dt.datetime
    channel: str
    currency: str
    total: Decimal
    is_subscription: bool
    lines: list[OrderLineOut]
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_contact(obj) -> int | None:
        return obj.contact_id

    @staticmethod
    def resolve_company(obj) -> int | None:
        return obj.company_id

    @staticmethod
    def resolve_deal(obj) -> int | None:
        return obj.deal_id

    @staticmethod
    def resolve_owner(obj) -> int | None:
        return obj.owner_id

    @staticmethod
    def resolve_team(obj) -> int | None:
        return obj.team_id

    @staticmethod
    def resolve_total(obj) -> Decimal:
        return round_money(obj.total, obj.currency)

    @staticmethod
    def resolve_lines(obj) -> list:
        lines = list(obj.lines.all())
        for line in lines:
            line.order = obj  # the currency, without a query per line
        return lines


class OrderPage(Schema):
    items: list[OrderOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last")


class OrderFilters(Schema):
    contact: int | None = Field(None, description="Contact id")
    company: int | None = Field(None, description="Company id")
    ordered_from: str | None = Field(None, description="First day, e.g. 2026-01-01 (UTC)")
    ordered_to: str | None = Field(None, description="Last day, inclusive")
    channel: str | None = None
    category: int | None = Field(None, description="Product category id: orders with a line in it")
    cursor: str | None = Field(None, description="next_cursor of the previous page")
    limit: int = Field(50, ge=1, le=200)


def _with_lines(order):
    prefetch_related_objects([order], "lines__product__category")
    return order


@router.post("/orders", response={200: OrderOut, 201: OrderOut, **ERRORS}, operation_id="record_order")
def record_order(request, payload: OrderIn):
    """Record an order. 201 when created; 200 when an order with this `external_id` already
    existed (unchanged, or updated to the content sent)."""
    data = payload.model_dump(mode="python", exclude_unset=True)
    if "lines" in data:
        data["lines"] = [{k: v for k, v in line.items() if v is not None} for line in data["lines"]]
    recorded = services.record_purchase(actor=actor_of(request), data=data, source=SOURCE)
    return Status(201 if recorded.created else 200, _with_lines(recorded.order))


@router.get("/orders", response={200: OrderPage, **LIST_ERRORS}, operation_id="list_orders")
def list_orders(request, filters: Query[OrderFilters]):
    """Orders you may see, newest first."""
    reject_unknown_params(request, OrderFilters)
    params = filters.model_dump(exclude={"cursor", "limit"})
    page = selectors.list_orders(actor_of(request), params, cursor=filters.cursor, size=filters.limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/orders/{order_id}", response={200: OrderOut, **ERRORS}, operation_id="get_order")
def get_order(request, order_id: int):
    return selectors.get_order(actor_of(request), order_id)


@router.delete("/orders/{order_id}", response={204: None, **ERRORS}, operation_id="delete_order")
def delete_order(request, order_id: int):
    """Moves the order to the trash; its purchase leaves the customer's timeline until restored."""
    actor = actor_of(request)
    services.delete_order(actor=actor, order=selectors.get_order(actor, order_id), source=SOURCE)
    return Status(204, None)
