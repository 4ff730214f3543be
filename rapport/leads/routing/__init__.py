"""Lead routing and hand-off: assignment rules, round-robin, capacity and the first-response SLA.

The functions other parts call:
- `route_new_lead(lead)`: the core's `create_lead` calls it for an open lead with no owner given.
- `lead_qualified(lead)`: the core's `qualify_lead` calls it (the owner is told).
- `lead_assigned(lead)`: for a lead given an owner by hand (starts the clock, tells the owner).
- `record_first_response(contact=..., kind=..., occurred_at=...)`: the timeline's `log_activity`
  calls it for a call, e-mail or meeting.
"""

from __future__ import annotations

from django.db import transaction

from rapport.core import audit
from rapport.core.models import AuditAction
from rapport.core.visibility import team_id_for_owner

from .assignment import choose_owner, routing_settings
from .handoff import notify_owner, record_first_response, start_response_clock

__all__ = ["route_new_lead", "lead_qualified", "lead_assigned", "record_first_response"]

ROUTED_FIELDS = ["owner", "team", "assignment_reason", "response_due_at"]


@transaction.atomic
def route_new_lead(lead) -> None:
    """Give one just-created open lead its owner, team, reason and response deadline.

    The first active rule whose conditions hold decides; sellers at capacity are skipped; with
    nobody left the fallback owner takes it. The reason is kept on the lead and in the audit log,
    and the new owner is told.
    """
    if not lead.is_open:
        return
    settings = routing_settings()
    before = audit.snapshot(lead, ROUTED_FIELDS)
    if lead.owner_id is None:
        choice = choose_owner(lead, settings)
        lead.owner = choice.owner
        lead.team_id = team_id_for_owner(choice.owner) if choice.owner is not None else lead.team_id
        lead.assignment_reason = choice.reason
    start_response_clock(lead, settings)
    lead.save(update_fields=ROUTED_FIELDS)
    changes = audit.changes_between(before, audit.snapshot(lead, ROUTED_FIELDS))
    if changes:
        audit.audit(actor=None, action=AuditAction.UPDATE, instance=lead, changes=changes, source="routing")
    notify_owner(lead)


@transaction.atomic
def lead_assigned(lead) -> None:
    """A lead was given an owner by a person: start its clock if not started, and tell the owner."""
    if not lead.is_open:
        return
    if lead.response_due_at is None and lead.first_response_at is None:
        start_response_clock(lead, routing_settings())
        lead.save(update_fields=["response_due_at"])
    notify_owner(lead)


def lead_qualified(lead) -> None:
    """A lead became sales-qualified: its owner is told (once per lead and owner)."""
    lead_assigned(lead)
