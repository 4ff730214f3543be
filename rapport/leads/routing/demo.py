"""Demo data for routing: the demo's leads are written in bulk, past the routing hook, so their
first-response deadlines are set here (the queue then shows some overdue, some waiting)."""

from __future__ import annotations

from ..models import OPEN_STATUSES, Lead
from .assignment import routing_settings
from .handoff import response_due


def start_demo_clocks(batch: int = 2000) -> int:
    """Give every open, unanswered lead without a deadline its deadline from its arrival. Returns how many."""
    settings = routing_settings()
    leads = list(Lead.objects.filter(status__in=OPEN_STATUSES, first_response_at__isnull=True,
                                     response_due_at__isnull=True, deleted_at__isnull=True)
                 .only("id", "created_at", "assignment_reason"))
    for lead in leads:
        lead.response_due_at = response_due(lead.created_at, settings)
        if not lead.assignment_reason:
            lead.assignment_reason = "Demo data: given to the contact's owner"
    Lead.objects.bulk_update(leads, ["response_due_at", "assignment_reason"], batch_size=batch)
    return len(leads)
