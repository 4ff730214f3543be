"""Cleaning an order's input: the customer through the people selectors, the lines, the totals."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.utils import timezone

from rapport.core.errors import ValidationFailed
from rapport.people import selectors as people
from rapport.people.models import Company, Contact
from rapport.people.normalize import InvalidValue, normalize_domain, normalize_email

from ...currencies import LARGEST_AMOUNT, clean_currency, clean_money, round_money
from ...models import Order, OrderChannel, Product, ProductPrice
from .values import EXTERNAL_ID_LIMIT, check_not_future, clean_quantity, line_total, parse_ordered_at

INPUT_FIELDS = frozenset({"external_id", "contact", "contact_email", "company", "company_domain", "ordered_at",
                          "channel", "currency", "lines", "is_subscription"})
LINE_FIELDS = frozenset({"product", "sku", "quantity", "unit_price"})
MAX_LINES = 1000


@dataclass
class OrderLineValues:
    product: Product
    quantity: Decimal
    unit_price: Decimal
    line_total: Decimal

    def key(self) -> tuple:
        return (self.product.pk, self.quantity, self.unit_price)


def _customer(actor, data: dict, errors: dict) -> tuple[Contact | None, Company | None]:
    """The contact and company, fetched through the people selectors: a customer the actor cannot
    see is refused exactly as a missing one is (naming the field, like people's references)."""
    contact = company = None
    if data.get("contact") not in (None, ""):
        value = data["contact"]
        if isinstance(value, Contact):
            value = value.pk
        try:
            contact = people.contact_queryset(actor).select_related("company").filter(pk=int(value)).first()
        except (TypeError, ValueError):
            errors["contact"] = "a contact id is a whole number"
        else:
            if contact is None:
                errors["contact"] = "no such contact"
    elif data.get("contact_email") not in (None, ""):
        try:
            email = normalize_email(str(data["contact_email"]))
        except InvalidValue as exc:
            errors["contact_email"] = str(exc)
        else:
            contact = people.contact_queryset(actor).select_related("company").filter(email=email).first()
            if contact is None:
                errors["contact_email"] = "no contact you can see has this e-mail address"
    if data.get("company") not in (None, ""):
        value = data["company"]
        if isinstance(value, Company):
            value = value.pk
        try:
            company = people.company_queryset(actor).filter(pk=int(value)).first()
        except (TypeError, ValueError):
            errors["company"] = "a company id is a whole number"
        else:
            if company is None:
                errors["company"] = "no such company"
    elif data.get("company_domain") not in (None, ""):
        try:
            domain = normalize_domain(str(data["company_domain"]))
        except InvalidValue as exc:
            errors["company_domain"] = str(exc)
        else:
            company = people.company_queryset(actor).filter(domain=domain).order_by("id").first()
            if company is None:
                errors["company_domain"] = "no company you can see has this web domain"
    for by_id, by_key in (("contact", "contact_email"), ("company", "company_domain")):
        if data.get(by_id) not in (None, "") and data.get(by_key) not in (None, ""):
            errors[by_key] = f"give the {by_id} by id or by {by_key.split('_')[1].replace('email', 'e-mail')}, " \
                             "not both"
    customer_given = any(data.get(k) not in (None, "") for k in ("contact", "contact_email", "company",
                                                                 "company_domain"))
    if not customer_given:
        errors["contact"] = "an order needs a customer: a contact and/or a company"
    if company is None and contact is not None and not any(k in errors for k in ("company", "company_domain")):
        # The company the contact belonged to when buying: the company's page then lists it.
        company = contact.company
    return contact, company


def _products(lines: list) -> tuple[dict[int, Product], dict[str, Product]]:
    """The live products the lines name, fetched in one query."""
    ids, skus = set(), set()
    for line in lines:
        if not isinstance(line, dict):
            continue
        product = line.get("product")
        if isinstance(product, Product):
            product = product.pk
        if isinstance(product, int) and not isinstance(product, bool):
            ids.add(product)
        elif isinstance(product, str) and product.strip().isdigit():
            ids.add(int(product.strip()))
        elif isinstance(line.get("sku"), str) and line["sku"].strip():
            skus.add(line["sku"].strip())
    if not ids and not skus:
        return {}, {}
    found = Product.objects.filter(deleted_at__isnull=True).filter(Q(pk__in=ids) | Q(sku__in=skus)) \
        .select_related("category")
    by_id, by_sku = {}, {}
    for product in found:
        by_id[product.pk] = product
        by_sku[product.sku] = product
    return by_id, by_sku


def _lines(data: dict, currency: str | None, errors: dict) -> list[OrderLineValues]:
    raw = data.get("lines")
    if not isinstance(raw, list) or not raw:
        errors["lines"] = "an order needs at least one line (product, quantity, unit price)"
        return []
    if len(raw) > MAX_LINES:
        errors["lines"] = f"at most {MAX_LINES} lines in one order"
        return []
    by_id, by_sku = _products(raw)
    prices: dict[int, Decimal] = {}
    wanting_price = [line.get("product") or line.get("sku") for line in raw
                     if isinstance(line, dict) and line.get("unit_price") in (None, "")]
    if wanting_price and currency:
        wanted = {p.pk for p in [*by_id.values(), *by_sku.values()]}
        prices = dict(ProductPrice.objects.filter(product_id__in=wanted, currency=currency)
                      .values_list("product_id", "unit_price"))
    cleaned = []
    for i, line in enumerate(raw):
        where = f"lines.{i}"
        if not isinstance(line, dict):
            errors[where] = "each line is an object with product (or sku), quantity and unit_price"
            continue
        for name in set(line) - LINE_FIELDS:
            errors[f"{where}.{name}"] = "unknown field"
        product = None
        ref = line.get("product")
        if isinstance(ref, Product):
            ref = ref.pk
        if ref not in (None, ""):
            try:
                product = by_id.get(int(ref))
            except (TypeError, ValueError):
                errors[f"{where}.product"] = "a product id is a whole number"
            else:
                if product is None:
                    errors[f"{where}.product"] = "no such product"
        elif isinstance(line.get("sku"), str) and line["sku"].strip():
            product = by_sku.get(line["sku"].strip())
            if product is None:
                errors[f"{where}.sku"] = f"no product with SKU '{line['sku'].strip()[:64]}'"
        else:
            errors[f"{where}.product"] = "name the product by its id (product) or its SKU (sku)"
        quantity = unit_price = None
        try:
            quantity = clean_quantity(line.get("quantity"), field=f"{where}.quantity")
        except ValidationFailed as exc:
            errors.update(exc.errors)
        if line.get("unit_price") in (None, ""):
            if product is not None and currency:
                unit_price = prices.get(product.pk)
                if unit_price is None:
                    errors[f"{where}.unit_price"] = f"{product.sku} has no {currency} price in the price book; " \
                                                    "give the unit price"
                else:
                    unit_price = round_money(unit_price, currency)
        elif currency:
            try:
                unit_price = clean_money(line["unit_price"], currency, field=f"{where}.unit_price")
            except ValidationFailed as exc:
                errors.update(exc.errors)
        if product is not None and quantity is not None and unit_price is not None:
            cleaned.append(OrderLineValues(product, quantity, unit_price, line_total(quantity, unit_price, currency)))
    return cleaned


def clean_order(actor, data: dict[str, Any], *, existing: Order | None = None) -> dict[str, Any]:
    """The order's values, or ValidationFailed naming every bad field. Omitted optional values keep
    the existing order's (a replayed request without a date must not move the order to today)."""
    errors: dict[str, str] = {name: "unknown field" for name in set(data) - INPUT_FIELDS}
    for name in ("owner", "team"):
        if name in data:
            errors[name] = "an order belongs to its customer's owner and team"
    cleaned: dict[str, Any] = {}
    external_id = data.get("external_id")
    if external_id not in (None, ""):
        external_id = str(external_id).strip()
        if len(external_id) > EXTERNAL_ID_LIMIT:
            errors["external_id"] = f"at most {EXTERNAL_ID_LIMIT} characters"
        cleaned["external_id"] = external_id or None
    else:
        cleaned["external_id"] = None
    cleaned["contact"], cleaned["company"] = _customer(actor, data, errors)
    now = timezone.now()
    if data.get("ordered_at") not in (None, ""):
        try:
            cleaned["ordered_at"] = parse_ordered_at(data["ordered_at"])
            check_not_future(cleaned["ordered_at"], now)
        except ValueError as exc:
            errors["ordered_at"] = str(exc)
    else:
        cleaned["ordered_at"] = existing.ordered_at if existing else now
    channel = data.get("channel")
    if channel not in (None, ""):
        channel = str(channel).strip().lower()
        if channel not in OrderChannel.values:
            errors["channel"] = f"choose one of: {', '.join(OrderChannel.values)}"
        cleaned["channel"] = channel
    else:
        cleaned["channel"] = existing.channel if existing else OrderChannel.OTHER
    currency = None
    try:
        currency = clean_currency(data.get("currency"))
    except ValidationFailed as exc:
        errors.update(exc.errors)
    cleaned["currency"] = currency
    if "is_subscription" in data and data["is_subscription"] is not None:
        if not isinstance(data["is_subscription"], bool):
            errors["is_subscription"] = "true or false"
        cleaned["is_subscription"] = bool(data["is_subscription"])
    else:
        cleaned["is_subscription"] = existing.is_subscription if existing else False
    cleaned["lines"] = _lines(data, currency, errors)
    if not errors:
        cleaned["total"] = sum((line.line_total for line in cleaned["lines"]), Decimal(0))
        if cleaned["total"] >= LARGEST_AMOUNT:
            errors["lines"] = "the order's total is too large (at most 999,999,999,999)"
    if errors:
        raise ValidationFailed(errors)
    return cleaned


