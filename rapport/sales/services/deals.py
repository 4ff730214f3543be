"""Writes to deals: create, edit, move through stages, win or lose with a reason, contacts with
their roles, line items, trash and restore, and activities logged on a deal.

Every change is audited and leaves a timeline event on the deal (and its company), so the
deal's history later tells whether the relationship grew. Callers fetch the deal through
`selectors.deals.deal_for_update(actor, id)`, which is what enforces visibility.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from rapport.core import audit
from rapport.core.errors import NotAllowed, ValidationFailed
from rapport.core.models import AuditAction
from rapport.core.visibility import team_id_for_owner
from rapport.people import selectors as people
from rapport.people.models import Company, Contact
from rapport.people.services import resolve_owner
from rapport.timeline import services as timeline

from ..models import (
    CloseReason,
    Deal,
    DealContact,
    DealLineItem,
    DealRole,
    DealStatus,
    Pipeline,
    Product,
    Stage,
)
from ..selectors import deals as selectors

DEAL_FIELDS = [
    "name", "company", "owner", "team", "pipeline", "stage", "amount", "currency", "expected_close_date",
    "probability", "source", "lead_id", "next_step", "next_step_date", "status", "close_reason", "close_note",
]
EDITABLE = {"name", "company", "owner", "pipeline", "stage", "amount", "currency", "expected_close_date",
            "probability", "source", "lead_id", "next_step", "next_step_date", "contacts"}
TEXT_LIMITS = {"name": 200, "source": 100, "next_step": 200}


def parse_date(value: Any, *, field: str, errors: dict[str, str]) -> dt.date | None:
    """A calendar date from a date or an ISO text (2026-12-31); anything else is named as an error."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        errors[field] = "use a date such as 2026-12-31"
        return None


def _money(value: Any, currency: str, field: str, errors: dict[str, str]) -> Decimal | None:
    from rapport.sales import currencies

    try:
        return currencies.clean_money(value, currency, field=field)
    except ValidationFailed as exc:
        errors.update(exc.errors)
        return None


def _currency(value: Any, errors: dict[str, str]) -> str | None:
    from rapport.sales import currencies

    try:
        return currencies.clean_currency(value)
    except ValidationFailed as exc:
        errors.update(exc.errors)
        return None


def _clean_deal(actor, data: dict[str, Any], *, instance: Deal | None = None) -> dict[str, Any]:
    errors: dict[str, str] = {name: "unknown field" for name in set(data) - EDITABLE - {"team"}}
    if "team" in data:
        errors["team"] = "the team follows the owner; change the owner instead"
    cleaned: dict[str, Any] = {}
    for name, limit in TEXT_LIMITS.items():
        if name in data:
            value = "" if data[name] is None else str(data[name]).strip()
            if len(value) > limit:
                errors[name] = f"at most {limit} characters"
            cleaned[name] = value
    if instance is None and not cleaned.get("name"):
        errors.setdefault("name", "give the deal a name")
    elif "name" in cleaned and not cleaned["name"]:
        errors["name"] = "a deal needs a name"
    if "company" in data:
        company = data["company"]
        if company not in (None, "") and not isinstance(company, Company):
            company = people.company_queryset(actor).filter(pk=_as_int(company, "company", errors) or 0).first()
            if company is None:
                errors.setdefault("company", "no such company")
        cleaned["company"] = company or None
    # Pipeline and stage: a stage must belong to the deal's pipeline.
    pipeline = instance.pipeline if instance else None
    if "pipeline" in data or instance is None:
        raw = data.get("pipeline")
        if isinstance(raw, Pipeline):
            pipeline = raw
        elif raw in (None, ""):
            pipeline = pipeline or selectors.pipelines().first()
        else:
            pipeline = selectors.pipelines().filter(pk=_as_int(raw, "pipeline", errors) or 0).first()
            if pipeline is None:
                errors.setdefault("pipeline", "no such pipeline")
        if pipeline is None and "pipeline" not in errors:
            errors["pipeline"] = "create a pipeline first"
        cleaned["pipeline"] = pipeline
    if pipeline is not None and ("stage" in data or "pipeline" in cleaned):
        raw = data.get("stage")
        stages = selectors.stages_of(pipeline)
        if isinstance(raw, Stage):
            stage = raw if raw.pipeline_id == pipeline.pk else None
        elif raw in (None, ""):
            stage = (instance.stage if instance and instance.pipeline_id == pipeline.pk else None) or (
                stages[0] if stages else None)
        else:
            wanted = _as_int(raw, "stage", errors)
            stage = next((s for s in stages if s.pk == wanted), None)
        if stage is None:
            errors.setdefault("stage", f"choose a stage of the {pipeline.name} pipeline")
        cleaned["stage"] = stage
    currency = instance.currency if instance else settings.RAPPORT_BASE_CURRENCY
    if "currency" in data:
        currency = _currency(data["currency"], errors) or currency
        cleaned["currency"] = currency
    elif instance is None:
        cleaned["currency"] = currency
    if "amount" in data:
        amount = _money(data["amount"] if data["amount"] not in (None, "") else 0, currency, "amount", errors)
        if amount is not None:
            if instance is not None and instance.line_items.exists() and amount != instance.amount:
                errors["amount"] = "this deal's amount is the sum of its line items; change those instead"
            cleaned["amount"] = amount
    elif instance is not None and "currency" in cleaned and cleaned["currency"] != instance.currency:
        # Re-check the amount's decimals against the new currency (e.g. 10.50 EUR -> JPY).
        _money(instance.amount, currency, "amount", errors)
    for name in ("expected_close_date", "next_step_date"):
        if name in data:
            cleaned[name] = parse_date(data[name], field=name, errors=errors)
    if "probability" in data:
        raw = data["probability"]
        if raw in (None, ""):
            cleaned["probability"] = None
        else:
            value = _as_int(raw, "probability", errors)
            if value is not None and not 0 <= value <= 100:
                errors["probability"] = "a percentage from 0 to 100"
            cleaned["probability"] = value
    if "lead_id" in data:
        cleaned["lead_id"] = _as_int(data["lead_id"], "lead_id", errors) if data["lead_id"] not in (None, "") else None
    resolve_owner(actor, data, errors, cleaned, current_owner_id=instance.owner_id if instance else None)
    if "contacts" in data:
        cleaned["contacts"] = _clean_contacts(actor, data["contacts"], errors)
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _as_int(value: Any, field: str, errors: dict[str, str]) -> int | None:
    if isinstance(value, bool):
        errors[field] = "must be a whole number"
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        errors[field] = "must be a whole number"
        return None


def _clean_contacts(actor, items: Any, errors: dict[str, str]) -> list[tuple[Contact, str]]:
    """[(contact, role)] from [{"contact": id, "role": "champion"}, ...]; each must be visible."""
    result: list[tuple[Contact, str]] = []
    for index, item in enumerate(items or []):
        if not isinstance(item, dict):
            item = {"contact": item}
        role = item.get("role") or DealRole.OTHER
        if role not in DealRole.values:
            errors[f"contacts.{index}.role"] = f"choose one of: {', '.join(DealRole.values)}"
            continue
        contact = item.get("contact")
        if not isinstance(contact, Contact):
            contact_id = _as_int(contact, f"contacts.{index}.contact", errors)
            contact = people.contact_queryset(actor).filter(pk=contact_id or 0).first()
        if contact is None:
            errors.setdefault(f"contacts.{index}.contact", "no such contact")
            continue
        result.append((contact, role))
    return result


def _event(deal: Deal, *, kind: str, actor, summary: str, payload: dict[str, Any], contact=None) -> None:
    timeline.record_event(kind=kind, contact=contact, company=deal.company, deal=deal, actor=actor,
                          summary=summary, payload=payload)


@transaction.atomic
def create_deal(*, actor, data: dict[str, Any], source: str = "web") -> Deal:
    """A new open deal in the pipeline's first stage unless another is named; the owner
    defaults to the actor and the team follows the owner."""
    data = dict(data)
    cleaned = _clean_deal(actor, data)
    contacts = cleaned.pop("contacts", [])
    if "owner" not in cleaned:
        cleaned["owner"], cleaned["team_id"] = actor, team_id_for_owner(actor)
    now = timezone.now()
    deal = Deal.objects.create(created_by=actor, stage_entered_at=now, last_activity_at=now, **cleaned)
    for contact, role in contacts:
        DealContact.objects.get_or_create(deal=deal, contact=contact, defaults={"role": role})
    audit.audit_created(actor=actor, instance=deal, fields=DEAL_FIELDS, source=source)
    _event(deal, kind="deal", actor=actor, summary=f"Deal created: {deal.name}",
           payload={"action": "created", "deal": deal.pk, "amount": str(deal.amount), "currency": deal.currency,
                    "source": source})
    return deal


@transaction.atomic
def update_deal(*, actor, deal: Deal, data: dict[str, Any], source: str = "web") -> Deal:
    """Change a deal's fields. A new stage is a move (with its stage-change event); a closed
    deal's stage cannot change until it is reopened."""
    deal = selectors.deal_for_update(actor, deal.pk)
    cleaned = _clean_deal(actor, data, instance=deal)
    contacts = cleaned.pop("contacts", None)
    new_stage = cleaned.pop("stage", None)
    new_pipeline = cleaned.pop("pipeline", None)
    before = audit.snapshot(deal, DEAL_FIELDS)
    for name, value in cleaned.items():
        setattr(deal, name, value)
    deal.updated_at = timezone.now()
    deal.save()
    changes = audit.changes_between(before, audit.snapshot(deal, DEAL_FIELDS))
    if changes:
        audit.audit(actor=actor, action=AuditAction.UPDATE, instance=deal, changes=changes, source=source)
    if new_stage is not None and (new_stage.pk != deal.stage_id or (new_pipeline and new_pipeline.pk != deal.pipeline_id)):
        deal = move_deal(actor=actor, deal=deal, stage=new_stage, source=source)
    if contacts is not None:
        _replace_contacts(actor, deal, contacts, source)
    return deal


def _replace_contacts(actor, deal: Deal, contacts: list[tuple[Contact, str]], source: str) -> None:
    before = {dc.contact_id: dc.role for dc in DealContact.objects.filter(deal=deal)}
    after = {contact.pk: role for contact, role in contacts}
    if before == after:
        return
    DealContact.objects.filter(deal=deal).exclude(contact_id__in=after).delete()
    for contact, role in contacts:
        DealContact.objects.update_or_create(deal=deal, contact=contact, defaults={"role": role})
    audit.audit(actor=actor, action=AuditAction.UPDATE, instance=deal, source=source,
                changes={"contacts": [sorted(before.items()), sorted(after.items())]})


@transaction.atomic
def move_deal(*, actor, deal: Deal, stage: Stage | int, source: str = "web") -> Deal:
    """Move an open deal to another stage (of its pipeline, or of another pipeline, which moves
    it there too). The stage-change event records the days spent in the previous stage."""
    deal = selectors.deal_for_update(actor, deal.pk)
    if not isinstance(stage, Stage):
        errors: dict[str, str] = {}
        stage_id = _as_int(stage, "stage", errors)
        stage = Stage.objects.select_related("pipeline").filter(
            pk=stage_id or 0, pipeline__deleted_at__isnull=True).first()
        if stage is None:
            raise ValidationFailed(errors or {"stage": "no such stage"})
    if deal.status != DealStatus.OPEN:
        raise ValidationFailed({"stage": f"this deal is {deal.status}; reopen it before moving it"})
    if stage.pk == deal.stage_id:
        return deal
    previous = deal.stage
    now = timezone.now()
    days = round((now - deal.stage_entered_at).total_seconds() / 86400, 2)
    before = audit.snapshot(deal, ["pipeline", "stage"])
    deal.stage, deal.pipeline_id = stage, stage.pipeline_id
    deal.stage_entered_at = now
    deal.updated_at = now
    deal.save(update_fields=["stage", "pipeline", "stage_entered_at", "updated_at"])
    audit.audit(actor=actor, action=AuditAction.UPDATE, instance=deal, source=source,
                changes=audit.changes_between(before, audit.snapshot(deal, ["pipeline", "stage"])))
    _event(deal, kind="stage_change", actor=actor,
           summary=f"Moved from {previous.name} to {stage.name} after {_days(days)}",
           payload={"deal": deal.pk, "pipeline": stage.pipeline_id, "from_stage": previous.pk,
                    "from_name": previous.name, "to_stage": stage.pk, "to_name": stage.name,
                    "days_in_previous": days})
    return deal


def _days(days: float) -> str:
    return "1 day" if round(days) == 1 else f"{days:.0f} days" if days >= 1 else "less than a day"


def _reason(outcome: str, reason: Any) -> CloseReason:
    if isinstance(reason, CloseReason):
        found = reason if reason.outcome == outcome and reason.active else None
    else:
        errors: dict[str, str] = {}
        reason_id = _as_int(reason, "reason", errors) if reason not in (None, "") else None
        found = selectors.close_reasons(outcome).filter(pk=reason_id).first() if reason_id else None
    if found is None:
        labels = ", ".join(selectors.close_reasons(outcome).values_list("label", flat=True))
        raise ValidationFailed({"reason": f"choose why the deal was {outcome}" + (f" ({labels})" if labels else "")})
    return found


def _close(actor, deal: Deal, outcome: str, reason: Any, note: str, source: str) -> Deal:
    deal = selectors.deal_for_update(actor, deal.pk)
    if deal.status != DealStatus.OPEN:
        raise ValidationFailed({"status": f"this deal is already {deal.status}"})
    found = _reason(outcome, reason)
    note = (note or "").strip()
    if len(note) > 5000:
        raise ValidationFailed({"note": "at most 5000 characters"})
    before = audit.snapshot(deal, DEAL_FIELDS)
    now = timezone.now()
    deal.status, deal.closed_at, deal.close_reason, deal.close_note = outcome, now, found, note
    deal.updated_at = now
    deal.save()
    audit.audit(actor=actor, action=AuditAction.UPDATE, instance=deal, source=source,
                changes=audit.changes_between(before, audit.snapshot(deal, DEAL_FIELDS)))
    _event(deal, kind="deal", actor=actor, summary=f"Deal {outcome}: {deal.name} ({found.label})",
           payload={"action": outcome, "deal": deal.pk, "reason": found.label, "amount": str(deal.amount),
                    "currency": deal.currency})
    return deal


@transaction.atomic
def win_deal(*, actor, deal: Deal, reason: Any, note: str = "", create_order: bool = True,
             proposal=None, source: str = "web") -> Deal:
    """Mark a deal won with a reason from the admin's list; by default its line items (or the
    accepted `proposal`'s lines and discount) become an order, the customer's purchase, which
    the order service records on the timeline."""
    deal = _close(actor, deal, DealStatus.WON, reason, note, source)
    deal.order = None
    if create_order:
        from . import orders

        deal.order = orders.create_order_for_won_deal(actor=actor, deal=deal, proposal=proposal, source=source)
    return deal


@transaction.atomic
def lose_deal(*, actor, deal: Deal, reason: Any, note: str = "", source: str = "web") -> Deal:
    """Mark a deal lost with a reason from the admin's list; it keeps the stage it was lost at."""
    return _close(actor, deal, DealStatus.LOST, reason, note, source)


@transaction.atomic
def reopen_deal(*, actor, deal: Deal, source: str = "web") -> Deal:
    deal = selectors.deal_for_update(actor, deal.pk)
    if deal.status == DealStatus.OPEN:
        raise ValidationFailed({"status": "this deal is already open"})
    before = audit.snapshot(deal, DEAL_FIELDS)
    previous = deal.status
    now = timezone.now()
    deal.status, deal.closed_at, deal.close_reason, deal.close_note = DealStatus.OPEN, None, None, ""
    deal.stage_entered_at = deal.last_activity_at = deal.updated_at = now
    deal.save()
    audit.audit(actor=actor, action=AuditAction.UPDATE, instance=deal, source=source,
                changes=audit.changes_between(before, audit.snapshot(deal, DEAL_FIELDS)))
    _event(deal, kind="deal", actor=actor, summary=f"Deal reopened (was {previous})",
           payload={"action": "reopened", "deal": deal.pk, "was": previous})
    return deal


@transaction.atomic
def set_deal_contact(*, actor, deal: Deal, contact: Contact | int, role: str = DealRole.OTHER,
                     source: str = "web") -> DealContact:
    """Add a contact to a deal with their buying role, or change their role."""
    deal = selectors.deal_for_update(actor, deal.pk)
    errors: dict[str, str] = {}
    cleaned = _clean_contacts(actor, [{"contact": contact, "role": role}], errors)
    if errors or not cleaned:
        raise ValidationFailed({key.split(".")[-1]: reason for key, reason in errors.items()} or {"contact": "no such contact"})
    contact, role = cleaned[0]
    link, created = DealContact.objects.update_or_create(deal=deal, contact=contact, defaults={"role": role})
    audit.audit(actor=actor, action=AuditAction.UPDATE, instance=deal, source=source,
                changes={"contact_role": [None if created else "changed", {str(contact.pk): role}]})
    return link


@transaction.atomic
def remove_deal_contact(*, actor, deal: Deal, contact_id: int, source: str = "web") -> None:
    deal = selectors.deal_for_update(actor, deal.pk)
    deleted, _ = DealContact.objects.filter(deal=deal, contact_id=contact_id).delete()
    if not deleted:
        raise ValidationFailed({"contact": "this contact is not on the deal"})
    audit.audit(actor=actor, action=AuditAction.UPDATE, instance=deal, source=source,
                changes={"contacts": [contact_id, None]})


def _clean_line(data: dict[str, Any], deal: Deal, errors: dict[str, str], *, instance=None) -> dict[str, Any]:
    allowed = {"product", "description", "quantity", "unit_price", "discount_percent"}
    errors.update({name: "unknown field" for name in set(data) - allowed})
    cleaned: dict[str, Any] = {}
    product = instance.product if instance else None
    if "product" in data:
        raw = data["product"]
        if raw in (None, ""):
            product = None
        elif isinstance(raw, Product):
            product = raw
        else:
            product_id = _as_int(raw, "product", errors)
            product = Product.objects.filter(pk=product_id or 0, deleted_at__isnull=True, active=True).first()
            if product is None:
                errors.setdefault("product", "no such active product")
        cleaned["product"] = product
    if "description" in data:
        description = str(data["description"] or "").strip()
        if len(description) > 300:
            errors["description"] = "at most 300 characters"
        cleaned["description"] = description
    if instance is None and product is None and not cleaned.get("description"):
        errors.setdefault("product", "choose a product or describe the item")
    if "quantity" in data or instance is None:
        raw = data.get("quantity", 1)
        try:
            quantity = Decimal(str(raw).strip())
            if not quantity.is_finite() or quantity <= 0:
                errors["quantity"] = "must be more than zero"
            elif quantity.as_tuple().exponent < -3:
                errors["quantity"] = "at most 3 decimal places"
            cleaned["quantity"] = quantity
        except InvalidOperation:
            errors["quantity"] = "not a number"
    if "unit_price" in data and data["unit_price"] not in (None, ""):
        cleaned["unit_price"] = _money(data["unit_price"], deal.currency, "unit_price", errors)
    elif instance is None or "product" in cleaned:
        price = product.prices.filter(currency=deal.currency).first() if product else None
        if price is None:
            errors.setdefault("unit_price", f"enter a unit price (the product has no {deal.currency} price)"
                              if product else "enter a unit price")
        else:
            cleaned["unit_price"] = price.unit_price
    if "discount_percent" in data:
        raw = data["discount_percent"]
        try:
            discount = Decimal(str(raw if raw not in (None, "") else 0).strip())
            if not discount.is_finite() or not 0 <= discount <= 100:
                errors["discount_percent"] = "a percentage from 0 to 100"
            elif discount.as_tuple().exponent < -2:
                errors["discount_percent"] = "at most 2 decimal places"
            cleaned["discount_percent"] = discount
        except InvalidOperation:
            errors["discount_percent"] = "not a number"
    if cleaned.get("product") and not cleaned.get("description") and not (instance and instance.description):
        cleaned["description"] = cleaned["product"].name
    return cleaned


def line_total(item: DealLineItem) -> Decimal:
    return item.quantity * item.unit_price * (Decimal(100) - item.discount_percent) / Decimal(100)


def _recompute_amount(actor, deal: Deal, source: str) -> None:
    from rapport.sales import currencies

    total = sum((line_total(item) for item in deal.line_items.all()), Decimal(0))
    total = currencies.round_money(total, deal.currency)
    if total != deal.amount:
        audit.audit(actor=actor, action=AuditAction.UPDATE, instance=deal, source=source,
                    changes={"amount": [str(deal.amount), str(total)]})
        deal.amount = total
        deal.updated_at = timezone.now()
        deal.save(update_fields=["amount", "updated_at"])


def _check_open(deal: Deal) -> None:
    if deal.status != DealStatus.OPEN:
        raise ValidationFailed({"deal": f"this deal is {deal.status}; reopen it to change its line items"})


@transaction.atomic
def add_line_item(*, actor, deal: Deal, data: dict[str, Any], source: str = "web") -> DealLineItem:
    """Add a product (priced from the price book in the deal's currency unless a price is given)
    or a described item; the deal's amount becomes the sum of its lines."""
    deal = selectors.deal_for_update(actor, deal.pk)
    _check_open(deal)
    errors: dict[str, str] = {}
    cleaned = _clean_line(data, deal, errors)
    if errors:
        raise ValidationFailed(errors)
    position = deal.line_items.count()
    item = DealLineItem.objects.create(deal=deal, position=position, **cleaned)
    audit.audit_created(actor=actor, instance=item, source=source,
                        fields=["deal", "product", "description", "quantity", "unit_price", "discount_percent"])
    _recompute_amount(actor, deal, source)
    return item


@transaction.atomic
def update_line_item(*, actor, deal: Deal, item_id: int, data: dict[str, Any], source: str = "web") -> DealLineItem:
    deal = selectors.deal_for_update(actor, deal.pk)
    _check_open(deal)
    item = deal.line_items.filter(pk=item_id).first()
    if item is None:
        raise ValidationFailed({"line_item": "no such line item on this deal"})
    errors: dict[str, str] = {}
    cleaned = _clean_line(data, deal, errors, instance=item)
    if errors:
        raise ValidationFailed(errors)
    fields = ["product", "description", "quantity", "unit_price", "discount_percent"]
    before = audit.snapshot(item, fields)
    for name, value in cleaned.items():
        setattr(item, name, value)
    item.save()
    audit.audit(actor=actor, action=AuditAction.UPDATE, instance=item, source=source,
                changes=audit.changes_between(before, audit.snapshot(item, fields)))
    _recompute_amount(actor, deal, source)
    return item


@transaction.atomic
def remove_line_item(*, actor, deal: Deal, item_id: int, source: str = "web") -> None:
    deal = selectors.deal_for_update(actor, deal.pk)
    _check_open(deal)
    item = deal.line_items.filter(pk=item_id).first()
    if item is None:
        raise ValidationFailed({"line_item": "no such line item on this deal"})
    audit.audit(actor=actor, action=AuditAction.DELETE, instance=item, source=source,
                changes={"description": [item.description, None], "quantity": [str(item.quantity), None]})
    item.delete()
    _recompute_amount(actor, deal, source)


@transaction.atomic
def delete_deal(*, actor, deal: Deal, source: str = "web") -> Deal:
    """Soft delete: the deal goes to the trash and can be restored."""
    deal = selectors.deal_for_update(actor, deal.pk)
    deal.deleted_at = timezone.now()
    deal.save(update_fields=["deleted_at"])
    audit.audit(actor=actor, action=AuditAction.DELETE, instance=deal, source=source)
    return deal


@transaction.atomic
def restore_deal(*, actor, deal_id: int, source: str = "web") -> Deal:
    deal = selectors.trashed_deals(actor).select_for_update().filter(pk=deal_id).first()
    if deal is None:
        raise NotAllowed("this deal is not in your trash")
    deal.deleted_at = None
    deal.save(update_fields=["deleted_at"])
    audit.audit(actor=actor, action=AuditAction.RESTORE, instance=deal, source=source)
    return deal


@transaction.atomic
def log_deal_activity(*, actor, deal: Deal, data: dict[str, Any], contact: Contact | None = None,
                      source: str = "web"):
    """Log a call, meeting, note or e-mail on a deal: its minutes count towards the deal's cost
    of sales and the deal is no longer stalled."""
    deal = selectors.deal_for_update(actor, deal.pk)
    activity = timeline.log_activity(actor=actor, data=data, contact=contact, company=deal.company, deal=deal,
                                     source=source)
    if activity.occurred_at > deal.last_activity_at:
        Deal.objects.filter(pk=deal.pk).update(last_activity_at=activity.occurred_at)
    return activity
