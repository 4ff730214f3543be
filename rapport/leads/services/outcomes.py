"""A lead's outcomes: qualified, converted to a deal, disqualified (with a reason) or sent to
nurture, and reopened.

Rules: only an open lead (new, working, qualified) may be qualified, converted or dropped; a
converted lead keeps its deal for good; dropping always names a reason from the admin's list.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from rapport.core import audit
from rapport.core.errors import NotAllowed, ValidationFailed
from rapport.core.models import AuditAction
from rapport.core.visibility import may_assign_owner
from rapport.sales.models import DealRole
from rapport.sales.services import deals as deal_services

from .. import selectors
from ..models import OPEN_STATUSES, DisqualifyReason, Lead, LeadStatus
from .cleaning import clean_lead
from .leads import LEAD_FIELDS, record_lead_event


def _change(actor, lead: Lead, before: dict, source_label: str) -> None:
    lead.updated_at = timezone.now()
    lead.save()
    changes = audit.changes_between(before, audit.snapshot(lead, LEAD_FIELDS))
    if changes:
        audit.audit(actor=actor, action=AuditAction.UPDATE, instance=lead, changes=changes, source=source_label)


def _require_open(lead: Lead, doing: str) -> None:
    if lead.status not in OPEN_STATUSES:
        raise NotAllowed(f"only an open lead can be {doing}; this one is {lead.get_status_display().lower()}")


def _apply_facts(actor, lead: Lead, data: dict[str, Any] | None) -> None:
    """Qualification facts given together with an action (the checklist's last answers)."""
    if not data:
        return
    if "status" in data:
        raise ValidationFailed({"status": "unknown field"})
    cleaned = clean_lead(actor, data, instance=lead)
    categories = cleaned.pop("need_categories", None)
    for name, value in cleaned.items():
        setattr(lead, name, value)
    if categories is not None:
        lead.need_categories.set(categories)


@transaction.atomic
def qualify_lead(*, actor, lead: Lead, data: dict[str, Any] | None = None, source_label: str = "web") -> Lead:
    """Mark an open lead sales-qualified (optionally recording facts at the same time). The
    owner is told through routing's hand-off hook when that part provides one."""
    lead = selectors.lead_for_update(actor, lead.pk)
    _require_open(lead, "qualified")
    if lead.status == LeadStatus.QUALIFIED:
        raise NotAllowed("this lead is already qualified")
    before = audit.snapshot(lead, LEAD_FIELDS)
    _apply_facts(actor, lead, data)
    lead.status, lead.qualified_at = LeadStatus.QUALIFIED, timezone.now()
    _change(actor, lead, before, source_label)
    record_lead_event(lead, actor=actor, action="qualified", summary=f"Lead qualified{_title(lead)}")
    from rapport.leads import routing

    handed_off = getattr(routing, "lead_qualified", None)  # routing's hand-off (notify owner, start the SLA)
    if handed_off is not None:
        handed_off(lead)
    return lead


def _title(lead: Lead) -> str:
    return f": {lead.title}" if lead.title else ""


def deal_defaults(lead: Lead) -> dict[str, Any]:
    """What a conversion proposes: the name, and the amount and currency from the budget."""
    who = lead.company.name if lead.company_id else str(lead.contact)
    return {
        "name": (f"{who} – {lead.title}" if lead.title else who)[:200],
        "amount": lead.budget_amount if lead.budget_amount is not None else Decimal("0"),
        "currency": lead.budget_currency or settings.RAPPORT_BASE_CURRENCY,
    }


@transaction.atomic
def convert_lead(*, actor, lead: Lead, data: dict[str, Any] | None = None, source_label: str = "web") -> Lead:
    """Turn an open lead into a deal through the sales services and link the two both ways.

    `data` may name the deal's `pipeline` (default: the first), `stage`, `name`, `amount`,
    `currency` and `expected_close_date`; the amount defaults to the budget. The contact joins
    the deal in the role their authority names. The deal goes to the lead's owner when the
    actor may give it to them, otherwise to the actor.
    """
    data = dict(data or {})
    allowed = {"pipeline", "stage", "name", "amount", "currency", "expected_close_date"}
    unknown = set(data) - allowed
    if unknown:
        raise ValidationFailed({name: "unknown field" for name in unknown})
    lead = selectors.lead_for_update(actor, lead.pk)
    _require_open(lead, "converted")
    deal_data = {**deal_defaults(lead), **{k: v for k, v in data.items() if v not in (None, "")}}
    deal_data.update(
        company=lead.company,
        source=lead.get_source_display()[:100],
        lead_id=lead.pk,
        contacts=[{"contact": lead.contact, "role": lead.authority or DealRole.OTHER}],
    )
    if lead.owner_id and lead.owner_id != getattr(actor, "pk", None) and may_assign_owner(actor, lead.owner):
        deal_data["owner"] = lead.owner
    deal = deal_services.create_deal(actor=actor, data=deal_data, source=source_label)
    before = audit.snapshot(lead, LEAD_FIELDS)
    now = timezone.now()
    lead.status, lead.deal, lead.converted_at = LeadStatus.CONVERTED, deal, now
    lead.qualified_at = lead.qualified_at or now
    _change(actor, lead, before, source_label)
    record_lead_event(lead, actor=actor, action="converted", deal=deal.pk,
                      summary=f"Lead converted to the deal {deal.name}")
    return lead


def _reason(reason: Any) -> DisqualifyReason:
    if isinstance(reason, DisqualifyReason):
        found = reason if reason.active else None
    elif reason in (None, ""):
        raise ValidationFailed({"reason": "choose the reason this lead is dropped"})
    else:
        try:
            found = selectors.disqualify_reasons().filter(pk=int(reason)).first()
        except (TypeError, ValueError):
            found = None
    if found is None:
        raise ValidationFailed({"reason": "choose one of the listed reasons"})
    return found


@transaction.atomic
def disqualify_lead(*, actor, lead: Lead, reason: Any, note: str = "", to_nurture: bool = False,
                    source_label: str = "web") -> Lead:
    """Drop an open lead for a reason from the admin's list; `to_nurture` keeps the contact for
    marketing's nurture programme instead of the bin."""
    chosen = _reason(reason)
    note = (note or "").strip()
    if len(note) > 2000:
        raise ValidationFailed({"note": "at most 2000 characters"})
    lead = selectors.lead_for_update(actor, lead.pk)
    _require_open(lead, "sent to nurture" if to_nurture else "disqualified")
    before = audit.snapshot(lead, LEAD_FIELDS)
    lead.status = LeadStatus.NURTURE if to_nurture else LeadStatus.DISQUALIFIED
    lead.disqualify_reason, lead.disqualify_note, lead.disqualified_at = chosen, note, timezone.now()
    _change(actor, lead, before, source_label)
    action = "nurtured" if to_nurture else "disqualified"
    record_lead_event(lead, actor=actor, action=action, reason=chosen.label,
                      summary=f"Lead {'sent to nurture' if to_nurture else 'disqualified'}: {chosen.label}")
    return lead


@transaction.atomic
def reopen_lead(*, actor, lead: Lead, source_label: str = "web") -> Lead:
    """Bring a disqualified or nurtured lead back to work (new if no seller has answered it yet)."""
    lead = selectors.lead_for_update(actor, lead.pk)
    if lead.status not in (LeadStatus.DISQUALIFIED, LeadStatus.NURTURE):
        raise NotAllowed("only a disqualified or nurtured lead can be reopened")
    before = audit.snapshot(lead, LEAD_FIELDS)
    lead.status = LeadStatus.WORKING if lead.first_response_at else LeadStatus.NEW
    lead.disqualify_reason, lead.disqualify_note, lead.disqualified_at = None, "", None
    _change(actor, lead, before, source_label)
    record_lead_event(lead, actor=actor, action="reopened", summary=f"Lead reopened{_title(lead)}")
    return lead


def bulk_leads(*, actor, lead_ids: list[int], action: str, owner=None, reason=None, note: str = "",
               source_label: str = "web") -> dict[str, Any]:
    """Assign, disqualify or nurture many leads; each lead succeeds or fails on its own and the
    failures come back with their reasons ({"done": n, "failed": {id: reason}})."""
    if action not in ("assign", "disqualify", "nurture"):
        raise ValidationFailed({"action": "choose assign, disqualify or nurture"})
    if action in ("disqualify", "nurture"):
        _reason(reason)  # a missing reason fails the whole request before anything changes
    if action == "assign" and owner in (None, ""):
        raise ValidationFailed({"owner": "choose who gets the leads"})
    leads = list(selectors.lead_queryset(actor).filter(pk__in=lead_ids))
    failed: dict[int, str] = {pk: "not found" for pk in set(lead_ids) - {lead.pk for lead in leads}}
    done = 0
    for lead in leads:
        try:
            if action == "assign":
                from .leads import update_lead

                update_lead(actor=actor, lead=lead, data={"owner": owner}, source_label=source_label)
            else:
                disqualify_lead(actor=actor, lead=lead, reason=reason, note=note, to_nurture=action == "nurture",
                                source_label=source_label)
            done += 1
        except ValidationFailed as exc:
            failed[lead.pk] = "; ".join(exc.errors.values())
        except NotAllowed as exc:
            failed[lead.pk] = str(exc)
    return {"done": done, "failed": failed}
