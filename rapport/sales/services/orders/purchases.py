"""Writing orders: record (or upsert) a purchase, the order of a won deal, trash and restore.
See the package's docstring for the rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from rapport.core import audit
from rapport.core.errors import NotAllowed, ValidationFailed
from rapport.core.models import AuditAction
from rapport.core.visibility import team_id_for_owner
from rapport.people.models import Company, Contact
from rapport.timeline import services as timeline
from rapport.timeline.models import Event

from ...currencies import round_money
from ...models import Deal, DealRole, Order, OrderChannel, OrderLine
from ...selectors import orders as selectors
from .cleaning import OrderLineValues, clean_order
from .values import line_total, purchase_payload, purchase_summary

SOURCE_WEB = "web"
AUDIT_FIELDS = ["external_id", "contact", "company", "deal", "owner", "team", "ordered_at", "channel", "currency",
                "total", "is_subscription"]
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


# --- writing ---------------------------------------------------------------------------------------

def _customer_owner(contact: Contact | None, company: Company | None):
    holder = contact if contact is not None else company
    return holder.owner if holder is not None else None


def _audit_lines(lines: list[OrderLineValues]) -> list[list[str]]:
    return [[line.product.sku, str(line.quantity), str(line.unit_price)] for line in lines]


def _categories(lines: list[OrderLineValues]) -> list[str]:
    return [line.product.category.name for line in lines if line.product.category_id]


def _write_event(order: Order, lines: list[OrderLineValues], actor, *, event: Event | None = None) -> Event:
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


def _stored_lines(order: Order) -> list[OrderLineValues]:
    # Stored with four places whatever the currency; compared and audited in the currency's own.
    currency = order.currency
    return [OrderLineValues(line.product, line.quantity, round_money(line.unit_price, currency),
                  round_money(line.line_total, currency))
            for line in order.lines.select_related("product__category").order_by("id")]


def _snapshot(order: Order) -> dict[str, Any]:
    values = audit.snapshot(order, AUDIT_FIELDS)
    values["total"] = str(round_money(Decimal(order.total), order.currency))
    return values


def _same(order: Order, cleaned: dict, stored: list[OrderLineValues]) -> bool:
    return (order.contact_id == getattr(cleaned["contact"], "pk", None)
            and order.company_id == getattr(cleaned["company"], "pk", None)
            and order.ordered_at == cleaned["ordered_at"] and order.channel == cleaned["channel"]
            and order.currency == cleaned["currency"] and order.is_subscription == cleaned["is_subscription"]
            and sorted(line.key() for line in stored) == sorted(line.key() for line in cleaned["lines"]))


def _replace(actor, order: Order, cleaned: dict, stored: list[OrderLineValues], source: str) -> Order:
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


def _created(actor, order: Order, lines: list[OrderLineValues], source: str) -> None:
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
    cleaned = clean_order(actor, data, existing=existing)
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
        lines.append(OrderLineValues(item.product, Decimal(item.quantity), unit_price,
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
