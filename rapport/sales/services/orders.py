"""Writes for orders (what customers actually bought): validate, audit and record the purchase
event in one transaction.

An order comes from a won deal, the API or a file import; the rules are the same for all three.
Its owner and team are those of the customer (the contact, or the company when there is no
contact) when it is recorded, and each order is exactly one "purchase" event on the customer's
timeline.

Shops and ERPs re-send orders: on retries, and when an order changes after it was placed
(a line cancelled, a quantity corrected). So an order carrying an `external_id` that Rapport
already has is an upsert: the same content again changes nothing (no second order, no second
event), different content replaces the order's content, updates its purchase event in place (it
stays one event per order) and leaves an audit entry with the old and new values. Refusing a
changed order (409) would leave the integration no way to correct it; creating a second one
would count the purchase twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from rapport.core import audit
from rapport.core.errors import NotAllowed, ValidationFailed
from rapport.core.models import AuditAction
from rapport.core.visibility import team_id_for_owner
from rapport.people import selectors as people
from rapport.people.models import Company, Contact
from rapport.people.normalize import InvalidValue, normalize_domain, normalize_email
from rapport.timeline import services as timeline
from rapport.timeline.models import Event

from ..currencies import LARGEST_AMOUNT, clean_currency, clean_money, format_money, round_money
from ..models import Deal, DealRole, Order, OrderChannel, OrderLine, Product, ProductPrice
from ..selectors import orders as selectors

SOURCE_WEB = "web"
INPUT_FIELDS = frozenset({"external_id", "contact", "contact_email", "company", "company_domain", "ordered_at",
                          "channel", "currency", "lines", "is_subscription"})
LINE_FIELDS = frozenset({"product", "sku", "quantity", "unit_price"})
AUDIT_FIELDS = ["external_id", "contact", "company", "deal", "owner", "team", "ordered_at", "channel", "currency",
                "total", "is_subscription"]
MAX_LINES = 1000
EXTERNAL_ID_LIMIT = 100
QUANTITY_PLACES = 3
LARGEST_QUANTITY = Decimal("1e11")  # 14 digits, 3 after the point
# An order dated this far ahead is a typing or time-zone mistake, not a purchase.
FUTURE_TOLERANCE = dt.timedelta(days=1)
# Buying roles in the order a won deal's customer contact is chosen.
ROLE_PREFERENCE = [DealRole.DECISION_MAKER, DealRole.FINANCE, DealRole.CHAMPION, DealRole.USER, DealRole.OTHER]


@dataclass
class Recorded:
    """What `record_purchase` did: "created", "updated" (same external id, new content) or
    "unchanged" (the same order again)."""

    order: Order
    outcome: str

    @property
    def created(self) -> bool:
        return self.outcome == "created"


@dataclass
class WonDealOrder:
    """The order a won deal became, or why it became none (`reason`); `skipped` lists the deal's
    line items that could not become order lines (no product, or no quantity)."""

    order: Order | None
    created: bool = False
    reason: str = ""
    skipped: list[str] = field(default_factory=list)


# --- values: shared with the file importer so a value is judged the same way everywhere ---------

def clean_quantity(value: Any, *, field: str = "quantity") -> Decimal:
    """A quantity bought: a number above zero with at most three decimals (1, 2.5, 0.125 kg)."""
    if value is None or isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValidationFailed({field: "enter a quantity"})
    text = value.strip() if isinstance(value, str) else str(value)
    if not text:
        raise ValidationFailed({field: "enter a quantity"})
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValidationFailed({field: "not a number"}) from None
    if not number.is_finite():
        raise ValidationFailed({field: "not a number"})
    if number <= 0:
        raise ValidationFailed({field: "must be more than zero"})
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > QUANTITY_PLACES:
        raise ValidationFailed({field: f"at most {QUANTITY_PLACES} decimal places"})
    if number >= LARGEST_QUANTITY:
        raise ValidationFailed({field: "too large"})
    return number.quantize(Decimal(1).scaleb(-QUANTITY_PLACES))


def line_total(quantity: Decimal, unit_price: Decimal, currency: str) -> Decimal:
    """Quantity x unit price, rounded half up to the currency's minor units."""
    return round_money(quantity * unit_price, currency)


def parse_ordered_at(value: Any) -> dt.datetime:
    """An ISO 8601 date or date and time; a date alone is midnight UTC, a time without an offset
    is UTC (the zone everything is stored in). Raises ValueError with the reason."""
    if isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, dt.date):
        when = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError("enter the date of the order")
        try:
            when = dt.datetime.fromisoformat(text.replace(" ", "T", 1) if len(text) > 10 else text)
        except ValueError:
            raise ValueError(f"'{text[:40]}' is not a date; use 2026-01-31 or 2026-01-31T14:30:00Z") from None
    else:
        raise ValueError("use a date such as 2026-01-31 or 2026-01-31T14:30:00Z")
    if timezone.is_naive(when):
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC)


def check_not_future(when: dt.datetime, now: dt.datetime) -> None:
    if when > now + FUTURE_TOLERANCE:
        raise ValueError("an order cannot be dated in the future")


CHANNEL_LABELS = dict(OrderChannel.choices)  # read once: the enum builds its lists on every access


def purchase_summary(total: Decimal, currency: str, channel: str, lines: int) -> str:
    label = CHANNEL_LABELS.get(channel, channel)
    return f"Purchase: {format_money(total, currency)} · {lines} line{'s' if lines != 1 else ''} · {label}"[:300]


def purchase_payload(order_id: int, total: Decimal, currency: str, channel: str, categories: list[str]) -> dict:
    return {"order": order_id, "total": str(total), "currency": currency, "channel": channel,
            "categories": sorted(set(categories))}


# --- cleaning -------------------------------------------------------------------------------------

@dataclass
class _Line:
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


def _lines(data: dict, currency: str | None, errors: dict) -> list[_Line]:
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
            cleaned.append(_Line(product, quantity, unit_price, line_total(quantity, unit_price, currency)))
    return cleaned


def _clean_order(actor, data: dict[str, Any], *, existing: Order | None = None) -> dict[str, Any]:
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


# --- writing ---------------------------------------------------------------------------------------

def _customer_owner(contact: Contact | None, company: Company | None):
    holder = contact if contact is not None else company
    return holder.owner if holder is not None else None


def _audit_lines(lines: list[_Line]) -> list[list[str]]:
    return [[line.product.sku, str(line.quantity), str(line.unit_price)] for line in lines]


def _categories(lines: list[_Line]) -> list[str]:
    return [line.product.category.name for line in lines if line.product.category_id]


def _write_event(order: Order, lines: list[_Line], actor, *, event: Event | None = None) -> Event:
    summary = purchase_summary(order.total, order.currency, order.channel, len(lines))
    payload = purchase_payload(order.pk, order.total, order.currency, order.channel, _categories(lines))
    if event is None:
        return timeline.record_event(kind="purchase", contact=order.contact, company=order.company, actor=actor,
                                     summary=summary, payload=payload, occurred_at=order.ordered_at,
                                     deal=order.deal)
    event.contact, event.company, event.occurred_at = order.contact, order.company, order.ordered_at
    event.summary, event.payload = summary, payload
    event.save(update_fields=["contact", "company", "occurred_at", "summary", "payload"])
    return event


def purchase_event(order: Order) -> Event | None:
    """The order's purchase event, found through the customer's timeline index."""
    qs = Event.objects.filter(kind="purchase")
    if order.contact_id:
        qs = qs.filter(contact_id=order.contact_id)
    elif order.company_id:
        qs = qs.filter(company_id=order.company_id)
    else:
        qs = qs.filter(contact__isnull=True, company__isnull=True)
    return qs.filter(payload__order=order.pk).order_by("id").first()


def _insert(actor, cleaned: dict, *, deal: Deal | None = None) -> Order:
    owner = _customer_owner(cleaned["contact"], cleaned["company"])
    order = Order(
        external_id=cleaned["external_id"], contact=cleaned["contact"], company=cleaned["company"], deal=deal,
        owner=owner, team_id=team_id_for_owner(owner), ordered_at=cleaned["ordered_at"],
        channel=cleaned["channel"], currency=cleaned["currency"], total=cleaned["total"],
        is_subscription=cleaned["is_subscription"], created_by=actor if getattr(actor, "pk", None) else None,
    )
    order.save()
    OrderLine.objects.bulk_create([
        OrderLine(order=order, product=line.product, quantity=line.quantity, unit_price=line.unit_price,
                  line_total=line.line_total) for line in cleaned["lines"]])
    return order


def _stored_lines(order: Order) -> list[_Line]:
    # Stored with four places whatever the currency; compared and audited in the currency's own.
    currency = order.currency
    return [_Line(line.product, line.quantity, round_money(line.unit_price, currency),
                  round_money(line.line_total, currency))
            for line in order.lines.select_related("product__category").order_by("id")]


def _snapshot(order: Order) -> dict[str, Any]:
    values = audit.snapshot(order, AUDIT_FIELDS)
    values["total"] = str(round_money(Decimal(order.total), order.currency))
    return values


def _same(order: Order, cleaned: dict, stored: list[_Line]) -> bool:
    return (order.contact_id == getattr(cleaned["contact"], "pk", None)
            and order.company_id == getattr(cleaned["company"], "pk", None)
            and order.ordered_at == cleaned["ordered_at"] and order.channel == cleaned["channel"]
            and order.currency == cleaned["currency"] and order.is_subscription == cleaned["is_subscription"]
            and sorted(line.key() for line in stored) == sorted(line.key() for line in cleaned["lines"]))


def _replace(actor, order: Order, cleaned: dict, stored: list[_Line], source: str) -> Order:
    """New content for an order re-sent under its external id: lines replaced, the purchase event
    updated in place (still one per order), old and new values in the audit log."""
    event = purchase_event(order)
    before = _snapshot(order)
    if (order.contact_id, order.company_id) != (getattr(cleaned["contact"], "pk", None),
                                                getattr(cleaned["company"], "pk", None)):
        order.owner = _customer_owner(cleaned["contact"], cleaned["company"])
        order.team_id = team_id_for_owner(order.owner)
    for name in ("contact", "company", "ordered_at", "channel", "currency", "total", "is_subscription"):
        setattr(order, name, cleaned[name])
    order.updated_at = timezone.now()
    order.save()
    order.lines.all().delete()
    OrderLine.objects.bulk_create([
        OrderLine(order=order, product=line.product, quantity=line.quantity, unit_price=line.unit_price,
                  line_total=line.line_total) for line in cleaned["lines"]])
    changes = audit.changes_between(before, _snapshot(order))
    old_lines, new_lines = _audit_lines(stored), _audit_lines(cleaned["lines"])
    if old_lines != new_lines:
        changes["lines"] = [old_lines, new_lines]
    audit.audit(actor=actor, action=AuditAction.UPDATE, instance=order, changes=changes, source=source)
    _write_event(order, cleaned["lines"], actor, event=event)
    return order


def _created(actor, order: Order, lines: list[_Line], source: str) -> None:
    entry = audit.audit_created(actor=actor, instance=order, fields=AUDIT_FIELDS, source=source)
    entry.changes["lines"] = [None, _audit_lines(lines)]
    entry.save(update_fields=["changes"])
    _write_event(order, lines, actor)


@transaction.atomic
def record_purchase(*, actor, data: dict[str, Any], source: str = SOURCE_WEB) -> Recorded:
    """Record what a customer bought; upsert on `external_id` (see the module's docstring).

    The customer must be one the actor may see. An external id that belongs to an order the actor
    cannot see, or to one in the trash, is refused naming `external_id`.
    """
    data = dict(data)
    external_id = str(data.get("external_id") or "").strip()
    existing = None
    if external_id:
        existing = Order.objects.select_for_update().filter(external_id=external_id).first()
        if existing is not None:
            _check_may_replace(actor, existing)
    cleaned = _clean_order(actor, data, existing=existing)
    if existing is None:
        try:
            with transaction.atomic():
                order = _insert(actor, cleaned)
        except IntegrityError:
            # Another request stored the same external id a moment ago: answer as a replay.
            existing = Order.objects.select_for_update().filter(external_id=external_id).first()
            if existing is None:
                raise
            _check_may_replace(actor, existing)
        else:
            _created(actor, order, cleaned["lines"], source)
            return Recorded(order, "created")
    stored = _stored_lines(existing)
    if _same(existing, cleaned, stored):
        return Recorded(existing, "unchanged")
    return Recorded(_replace(actor, existing, cleaned, stored, source), "updated")


def _check_may_replace(actor, existing: Order) -> None:
    if existing.deleted_at is not None:
        raise ValidationFailed({"external_id": "an order with this external id is in the trash; restore it "
                                               "(Orders → Deleted orders) before sending it again"})
    if not selectors.order_queryset(actor).filter(pk=existing.pk).exists():
        raise ValidationFailed({"external_id": "this external id belongs to an order you cannot see"})


def _deal_customer(deal: Deal) -> tuple[Contact | None, Company | None]:
    roles = {role: i for i, role in enumerate(ROLE_PREFERENCE)}
    links = sorted(deal.deal_contacts.select_related("contact__company", "contact__owner")
                   .filter(contact__deleted_at__isnull=True),
                   key=lambda link: (roles.get(link.role, len(roles)), link.pk))
    contact = links[0].contact if links else None
    company = deal.company if deal.company_id and deal.company.deleted_at is None else None
    if company is None and contact is not None:
        company = contact.company
    return contact, company


@transaction.atomic
def create_order_for_won_deal(*, actor, deal: Deal, proposal=None, source: str = SOURCE_WEB) -> WonDealOrder:
    """The order a won deal becomes: its line items with a product, discounts applied to the unit
    price, in the deal's currency, channel "sales", dated when the deal was won.

    When the deal was won by the customer accepting a proposal, the order is what they accepted:
    the proposal's lines with both the line discount and the proposal's overall discount in the
    unit price. Orders record net revenue: the proposal's tax is not part of the order's total.

    The deal services call this inside `win_deal` (the actor already fetched the deal through a
    selector). A deal that already has a live order keeps it (winning again after a reopen makes
    no second purchase). A deal with no line item that names a product makes no order, and
    `reason` says why; line items without a product are listed in `skipped`.
    """
    existing = Order.objects.filter(deal=deal, deleted_at__isnull=True).order_by("id").first()
    if existing is not None:
        return WonDealOrder(existing, created=False, reason="this deal already has an order")
    contact, company = _deal_customer(deal)
    if contact is None and company is None:
        return WonDealOrder(None, reason="the deal has no company or contact to be the customer; no order made")
    currency = deal.currency
    lines, skipped = [], []
    if proposal is not None:
        items = proposal.lines.select_related("product__category").order_by("position", "id")
        overall = Decimal(proposal.discount_percent or 0)
        currency = proposal.currency
    else:
        items = deal.line_items.select_related("product__category").order_by("position", "id")
        overall = Decimal(0)
    for item in items:
        label = item.description or (item.product.sku if item.product_id else f"line {item.pk}")
        if item.product_id is None or item.product.deleted_at is not None:
            skipped.append(f"{label}: no product")
            continue
        if item.quantity is None or item.quantity <= 0:
            skipped.append(f"{label}: no quantity")
            continue
        discount = Decimal(item.discount_percent or 0)
        unit_price = round_money(Decimal(item.unit_price) * (100 - discount) / 100 * (100 - overall) / 100,
                                 currency)
        lines.append(_Line(item.product, Decimal(item.quantity), unit_price,
                           line_total(Decimal(item.quantity), unit_price, currency)))
    if not lines:
        reason = "the deal has no line items, so there is nothing to record as bought; no order made" \
            if not skipped else "none of the deal's line items names a product; no order made"
        return WonDealOrder(None, reason=reason, skipped=skipped)
    cleaned = {"external_id": None, "contact": contact, "company": company,
               "ordered_at": deal.closed_at or timezone.now(), "channel": OrderChannel.SALES,
               "currency": currency, "is_subscription": deal.pipeline.kind == "renewal", "lines": lines,
               "total": sum((line.line_total for line in lines), Decimal(0))}
    order = _insert(actor, cleaned, deal=deal)
    _created(actor, order, lines, source)
    return WonDealOrder(order, created=True, skipped=skipped)


@transaction.atomic
def delete_order(*, actor, order: Order, source: str = SOURCE_WEB) -> Order:
    """Soft delete: the order goes to the trash. Its purchase event leaves the timeline with it
    (a trashed order is one that should not count: a duplicate or a test) and comes back on
    restore; the audit log keeps the record of both."""
    order = selectors.order_for_update(actor, order.pk)
    event = purchase_event(order)
    order.deleted_at = timezone.now()
    order.save(update_fields=["deleted_at"])
    if event is not None:
        event.delete()
    audit.audit(actor=actor, action=AuditAction.DELETE, instance=order, source=source)
    return order


@transaction.atomic
def restore_order(*, actor, order_id: int, source: str = SOURCE_WEB) -> Order:
    # Visibility joins customers (outer joins, which PostgreSQL cannot lock): check, then lock the row.
    if not selectors.trashed_orders(actor).filter(pk=order_id).exists():
        raise NotAllowed("this order is not in your trash")
    order = Order.objects.select_for_update().get(pk=order_id)
    order.deleted_at = None
    order.save(update_fields=["deleted_at"])
    audit.audit(actor=actor, action=AuditAction.RESTORE, instance=order, source=source)
    _write_event(order, _stored_lines(order), actor)
    return order
