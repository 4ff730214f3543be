"""Writes to the product catalogue and its price book (rates are in `rates.py`).

Admins and managers keep the catalogue (products, categories, prices). Each service checks the
actor, validates (ValidationFailed names each rejected field), and writes its audit entry in
the same transaction. A product's price changes are audited on the product itself, so its
history reads as one story.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from rapport.core import audit
from rapport.core.errors import NotAllowed, ValidationFailed
from rapport.core.models import AuditAction

from ..currencies import CURRENCIES, clean_currency, clean_money
from ..models import Product, ProductCategory, ProductPrice
from ..selectors import products as selectors

PRODUCT_FIELDS = ["sku", "name", "category", "description", "active"]
TEXT_LIMITS = {"sku": 64, "name": 200, "description": 20000}


def _require_catalogue_keeper(actor) -> None:
    if not selectors.may_manage_products(actor):
        raise NotAllowed("only admins and managers change the product catalogue")


# --- products -----------------------------------------------------------------------------------

def _clean_prices(raw) -> dict[str, Decimal]:
    """{currency: unit price} from a mapping of codes to amounts; errors under prices.<code>."""
    if not isinstance(raw, dict):
        raise ValidationFailed({"prices": "give prices as currency code -> unit price, e.g. {\"EUR\": \"10.00\"}"})
    errors: dict[str, str] = {}
    prices: dict[str, Decimal] = {}
    for key, amount in raw.items():
        label = str(key).strip()[:10]
        try:
            code = clean_currency(key, field=f"prices.{label}")
            if code in prices:
                raise ValidationFailed({f"prices.{label}": f"{code} is priced twice"})
            prices[code] = clean_money(amount, code, field=f"prices.{label}")
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return prices


def _clean_product(data: dict[str, Any], *, instance: Product | None = None) -> tuple[dict, dict | None]:
    errors: dict[str, str] = {name: "unknown field" for name in set(data) - set(PRODUCT_FIELDS) - {"prices"}}
    cleaned: dict[str, Any] = {}
    for field, limit in TEXT_LIMITS.items():
        if field in data:
            value = "" if data[field] is None else str(data[field]).strip()
            if len(value) > limit:
                errors[field] = f"at most {limit} characters"
            cleaned[field] = value
    for field, what in (("sku", "a product needs a SKU"), ("name", "a product needs a name")):
        if (field in cleaned and not cleaned[field]) or (instance is None and field not in cleaned):
            errors[field] = what
    if "sku" in cleaned and any(ch in cleaned["sku"] for ch in "\t\r\n"):
        errors["sku"] = "a SKU is one line of text"
    if "active" in data:
        if not isinstance(data["active"], bool):
            errors["active"] = "must be true or false"
        else:
            cleaned["active"] = data["active"]
    if "category" in data:
        category = data["category"]
        if category in (None, ""):
            cleaned["category"] = None
        elif isinstance(category, ProductCategory):
            cleaned["category"] = category
        else:
            try:
                cleaned["category"] = ProductCategory.objects.get(pk=int(category))
            except (TypeError, ValueError, ProductCategory.DoesNotExist):
                errors["category"] = "no such category"
    prices = None
    if "prices" in data:
        try:
            prices = _clean_prices(data["prices"] if data["prices"] is not None else {})
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return cleaned, prices


def _sku_taken(sku: str, *, exclude_id: int | None = None) -> bool:
    # Case-insensitive: "ab-1" and "AB-1" would be one product to anyone importing orders.
    qs = Product.objects.filter(sku__iexact=sku, deleted_at__isnull=True)
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    return qs.exists()


def _duplicate_sku(sku: str) -> ValidationFailed:
    return ValidationFailed({"sku": f"another product already has SKU '{sku}'"})


def _price_snapshot(product: Product) -> dict[str, str]:
    return {p.currency: str(p.unit_price.quantize(Decimal(1).scaleb(-CURRENCIES.get(p.currency, 2))))
            for p in ProductPrice.objects.filter(product=product).order_by("currency")}


def _replace_prices(product: Product, prices: dict[str, Decimal]) -> None:
    existing = {p.currency: p for p in ProductPrice.objects.filter(product=product)}
    ProductPrice.objects.filter(product=product).exclude(currency__in=list(prices)).delete()
    for code, amount in prices.items():
        row = existing.get(code)
        if row is None:
            ProductPrice.objects.create(product=product, currency=code, unit_price=amount)
        elif row.unit_price != amount:
            row.unit_price = amount
            row.save(update_fields=["unit_price"])


def _save(product: Product) -> None:
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError as exc:  # two people saving the same new SKU at once
        raise _duplicate_sku(product.sku) from exc


@transaction.atomic
def create_product(*, actor, data: dict[str, Any], source: str = "web") -> Product:
    """A new product. Its SKU is unique among live products, whatever its case.

    `data` may hold `prices` ({currency: unit price}), the product's whole price book."""
    _require_catalogue_keeper(actor)
    cleaned, prices = _clean_product(data)
    if _sku_taken(cleaned["sku"]):
        raise _duplicate_sku(cleaned["sku"])
    product = Product(created_by=actor, **cleaned)
    _save(product)
    if prices:
        _replace_prices(product, prices)
    entry = audit.audit_created(actor=actor, instance=product, fields=PRODUCT_FIELDS, source=source)
    if prices:
        entry.changes["prices"] = [None, _price_snapshot(product)]
        entry.save(update_fields=["changes"])
    return product


@transaction.atomic
def update_product(*, actor, product: Product, data: dict[str, Any], source: str = "web") -> Product:
    """Change a product. `prices`, when given, replaces the whole price book: a currency left
    out is no longer offered. Audited as one entry with each changed field and the prices."""
    _require_catalogue_keeper(actor)
    product = selectors.product_for_update(actor, product.pk)
    cleaned, prices = _clean_product(data, instance=product)
    if "sku" in cleaned and cleaned["sku"] != product.sku and _sku_taken(cleaned["sku"], exclude_id=product.pk):
        raise _duplicate_sku(cleaned["sku"])
    before = audit.snapshot(product, PRODUCT_FIELDS)
    for field, value in cleaned.items():
        setattr(product, field, value)
    changes = audit.changes_between(before, audit.snapshot(product, PRODUCT_FIELDS))
    if prices is not None:
        old_prices = _price_snapshot(product)
        _replace_prices(product, prices)
        new_prices = _price_snapshot(product)
        if new_prices != old_prices:
            changes["prices"] = [old_prices, new_prices]
    if changes:
        product.updated_at = timezone.now()
        _save(product)
        audit.audit(actor=actor, action=AuditAction.UPDATE, instance=product, changes=changes, source=source)
    return product


def deactivate_product(*, actor, product: Product, source: str = "web") -> Product:
    """An inactive product stays on past deals and orders but is no longer offered."""
    return update_product(actor=actor, product=product, data={"active": False}, source=source)


def activate_product(*, actor, product: Product, source: str = "web") -> Product:
    return update_product(actor=actor, product=product, data={"active": True}, source=source)


@transaction.atomic
def set_product_price(*, actor, product: Product, currency, unit_price, source: str = "web") -> ProductPrice:
    """Set the product's unit price in one currency (adding the currency if it had none)."""
    _require_catalogue_keeper(actor)
    product = selectors.product_for_update(actor, product.pk)
    code = clean_currency(currency)
    amount = clean_money(unit_price, code, field="unit_price")
    prices = {k: Decimal(v) for k, v in _price_snapshot(product).items()}
    prices[code] = amount
    update_product(actor=actor, product=product, data={"prices": prices}, source=source)
    return ProductPrice.objects.get(product=product, currency=code)


@transaction.atomic
def remove_product_price(*, actor, product: Product, currency, source: str = "web") -> None:
    """Stop offering the product in one currency."""
    _require_catalogue_keeper(actor)
    product = selectors.product_for_update(actor, product.pk)
    code = clean_currency(currency)
    prices = {k: Decimal(v) for k, v in _price_snapshot(product).items()}
    if code not in prices:
        raise ValidationFailed({"currency": f"this product has no {code} price"})
    del prices[code]
    update_product(actor=actor, product=product, data={"prices": prices}, source=source)


@transaction.atomic
def delete_product(*, actor, product: Product, source: str = "web") -> Product:
    """Soft delete: past deals and orders keep pointing at it; it can be restored."""
    _require_catalogue_keeper(actor)
    product = selectors.product_for_update(actor, product.pk)
    product.deleted_at = timezone.now()
    product.save(update_fields=["deleted_at"])
    audit.audit(actor=actor, action=AuditAction.DELETE, instance=product, source=source)
    return product


@transaction.atomic
def restore_product(*, actor, product_id: int, source: str = "web") -> Product:
    """Bring a product back from the trash, unless a live product has taken its SKU since."""
    _require_catalogue_keeper(actor)
    product = selectors.trashed_products(actor).select_for_update().filter(pk=product_id).first()
    if product is None:
        raise NotAllowed("this product is not in the trash")
    if _sku_taken(product.sku):
        raise ValidationFailed({"sku": f"a live product already uses SKU '{product.sku}'; change one of them first"})
    product.deleted_at = None
    _save(product)
    audit.audit(actor=actor, action=AuditAction.RESTORE, instance=product, source=source)
    return product


# --- categories ---------------------------------------------------------------------------------

def _clean_category_name(name, *, exclude_id: int | None = None) -> str:
    value = "" if name is None else str(name).strip()
    if not value:
        raise ValidationFailed({"name": "a category needs a name"})
    if len(value) > 100:
        raise ValidationFailed({"name": "at most 100 characters"})
    taken = ProductCategory.objects.filter(name__iexact=value)
    if exclude_id is not None:
        taken = taken.exclude(pk=exclude_id)
    if taken.exists():
        raise ValidationFailed({"name": f"there is already a category '{value}'"})
    return value


@transaction.atomic
def create_category(*, actor, name, source: str = "web") -> ProductCategory:
    """A new category; names are unique whatever their case (they become purchase preferences)."""
    _require_catalogue_keeper(actor)
    category = ProductCategory(name=_clean_category_name(name))
    try:
        with transaction.atomic():
            category.save()
    except IntegrityError as exc:
        raise ValidationFailed({"name": f"there is already a category '{category.name}'"}) from exc
    audit.audit_created(actor=actor, instance=category, fields=["name"], source=source)
    return category


@transaction.atomic
def rename_category(*, actor, category: ProductCategory, name, source: str = "web") -> ProductCategory:
    """Renaming keeps every product in it: products point at the category's id."""
    _require_catalogue_keeper(actor)
    category = ProductCategory.objects.select_for_update().get(pk=category.pk)
    new_name = _clean_category_name(name, exclude_id=category.pk)
    if new_name != category.name:
        old = category.name
        category.name = new_name
        category.save(update_fields=["name"])
        audit.audit(actor=actor, action=AuditAction.UPDATE, instance=category, changes={"name": [old, new_name]},
                    source=source)
    return category


@transaction.atomic
def delete_category(*, actor, category: ProductCategory, source: str = "web") -> None:
    """Remove an empty category. One that still holds products (live or trashed) stays, so no
    product silently loses the category customers' preferences are counted by."""
    _require_catalogue_keeper(actor)
    category = ProductCategory.objects.select_for_update().get(pk=category.pk)
    live = Product.objects.filter(category=category, deleted_at__isnull=True).count()
    trashed = Product.objects.filter(category=category, deleted_at__isnull=False).count()
    if live or trashed:
        what = f"{live} product{'s' if live != 1 else ''}" if live else ""
        if trashed:
            what += (" and " if what else "") + f"{trashed} trashed product{'s' if trashed != 1 else ''}"
        raise ValidationFailed({"category": f"{what} still in '{category.name}'; move them to another category first"})
    audit.audit(actor=actor, action=AuditAction.DELETE, instance=category, changes={"name": [category.name, None]},
                source=source)
    category.delete()
