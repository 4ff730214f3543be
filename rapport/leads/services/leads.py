"""Creating and editing leads.

A new lead passes through scoring (fit and engagement; a poor fit goes to nurture) and then,
if it is still open and nobody named its owner, through routing. Every write is audited and
leaves a "lead" event on the contact's timeline, in one transaction.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from rapport.core import audit
from rapport.core.errors import NotAllowed, ValidationFailed
from rapport.core.models import AuditAction
from rapport.core.visibility import team_id_for_owner, visibility_of
from rapport.people.models import Contact
from rapport.timeline import services as timeline

from .. import selectors
from ..models import Lead, LeadSource, LeadStatus
from .cleaning import clean_lead

LEAD_FIELDS = [
    "title", "source", "campaign", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
    "status", "owner", "team", "company", "first_touch_at", "qualified_at", "converted_at", "disqualified_at",
    "budget_amount", "budget_currency", "budget_band", "authority", "need", "timeline", "disqualify_reason",
    "disqualify_note", "deal",
]
# The lead's source when the caller names none: what came through the API is an API lead, etc.
DEFAULT_SOURCE = {"api": LeadSource.API, "import": LeadSource.IMPORT, "form": LeadSource.WEB_FORM,
                  "capture": LeadSource.WEB_FORM, "tracking": LeadSource.TRACKING}


def record_lead_event(lead: Lead, *, actor, action: str, summary: str, **extra: Any) -> None:
    timeline.record_event(kind="lead", contact=lead.contact, company=lead.company, actor=actor,
                          summary=summary, payload={"lead": lead.pk, "action": action, **extra})


def _owner_given(lead: Lead) -> None:
    """Routing's hand-off for a lead given its owner by a person (starts the clock, tells them)."""
    from rapport.leads import routing

    assigned = getattr(routing, "lead_assigned", None)
    if assigned is not None:
        assigned(lead)


def _categories_snapshot(lead: Lead) -> list[int]:
    return sorted(lead.need_categories.values_list("pk", flat=True))


@transaction.atomic
def create_lead(*, actor, contact: Contact, company=None, data: dict[str, Any], source_label: str = "web") -> Lead:
    """A new lead (status new) for `contact`; the company defaults to the contact's.

    `actor` may be None for system callers (web capture). The owner is the one named in `data`
    (subject to who may give records to whom); otherwise routing picks one. A lead routing
    leaves without an owner goes to the person who typed it in, unless they see every lead
    anyway, so no one's lead disappears from their own list.
    """
    if contact is None or not getattr(contact, "pk", None):
        raise ValidationFailed({"contact": "a lead needs a contact"})
    data = dict(data)
    cleaned = clean_lead(actor, data)
    categories = cleaned.pop("need_categories", [])
    cleaned.setdefault("source", DEFAULT_SOURCE.get(source_label, LeadSource.MANUAL))
    if "company" in cleaned:
        company = cleaned.pop("company")
    company = company if company is not None else contact.company
    owner_named = "owner" in cleaned
    lead = Lead(contact=contact, company=company, created_by=actor if getattr(actor, "pk", None) else None,
                **cleaned)
    lead.save()
    if categories:
        lead.need_categories.set(categories)
    # The hooks are imported here: routing and scoring import these services themselves.
    from rapport.leads.routing import route_new_lead
    from rapport.leads.scoring import score_new_lead

    score_new_lead(lead)
    if lead.is_open and not owner_named and lead.owner_id is None:
        route_new_lead(lead)
        if lead.owner_id is None and getattr(actor, "pk", None) and visibility_of(actor) != "all":
            lead.owner, lead.team_id = actor, team_id_for_owner(actor)
            lead.assignment_reason = lead.assignment_reason or "No routing rule matched: kept by the person who entered it."
            lead.save(update_fields=["owner", "team", "assignment_reason"])
    elif owner_named and lead.owner_id is not None:
        _owner_given(lead)
    audit.audit_created(actor=actor, instance=lead, fields=LEAD_FIELDS, source=source_label)
    record_lead_event(lead, actor=actor, action="created", source=lead.source,
                      summary=f"New lead ({lead.get_source_display()}){': ' + lead.title if lead.title else ''}")
    return lead


@transaction.atomic
def update_lead(*, actor, lead: Lead, data: dict[str, Any], source_label: str = "web") -> Lead:
    """Change a lead's facts, owner or source. A converted lead is history and stays as it is."""
    lead = selectors.lead_for_update(actor, lead.pk)
    if lead.status == LeadStatus.CONVERTED:
        raise NotAllowed("this lead is converted; change its deal instead")
    cleaned = clean_lead(actor, data, instance=lead)
    categories = cleaned.pop("need_categories", None)
    before = audit.snapshot(lead, LEAD_FIELDS)
    before_categories = _categories_snapshot(lead)
    for name, value in cleaned.items():
        setattr(lead, name, value)
    lead.updated_at = timezone.now()
    lead.save()
    if categories is not None:
        lead.need_categories.set(categories)
    changes = audit.changes_between(before, audit.snapshot(lead, LEAD_FIELDS))
    if categories is not None and (after := _categories_snapshot(lead)) != before_categories:
        changes["need_categories"] = [before_categories, after]
    if changes:
        audit.audit(actor=actor, action=AuditAction.UPDATE, instance=lead, changes=changes, source=source_label)
    if "owner" in changes and lead.owner_id is not None:
        _owner_given(lead)
    return lead
