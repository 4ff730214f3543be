"""Escalation: leads past their first-response deadline are reported to the owner's manager, once.

"Once" is held by the database, not by the caller: a lead is claimed with an UPDATE that only
succeeds while `escalated_at` is empty, so two runs at the same moment (a cron job and the
background worker) never escalate the same lead twice.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from rapport.core import audit
from rapport.core.models import AuditAction, Role

from ..models import OPEN_STATUSES, Lead, NoticeKind
from .assignment import display_name, routing_settings
from .handoff import lead_label, notify

BATCH = 500


def overdue_leads(now: dt.datetime):
    """Open leads past their deadline, not answered and not yet escalated (the SLA index answers this)."""
    return Lead.objects.filter(response_due_at__lt=now, first_response_at__isnull=True, escalated_at__isnull=True,
                               status__in=OPEN_STATUSES, deleted_at__isnull=True)


def managers_of(team_id: int | None) -> list:
    if team_id is None:
        return []
    return list(get_user_model().objects.filter(is_active=True, profile__team_id=team_id, profile__role=Role.MANAGER)
                .order_by("pk"))


def escalate_overdue_leads(*, now: dt.datetime | None = None) -> dict:
    """Flag every overdue lead and tell its team's managers (or, with no manager, the fallback owner).

    Safe to run as often as wanted; each lead is escalated at most once. Returns counts.
    """
    now = now or timezone.now()
    fallback = routing_settings().fallback_owner
    escalated = notices = 0
    managers_by_team: dict = {}
    while True:
        ids = list(overdue_leads(now).order_by("response_due_at", "pk").values_list("pk", flat=True)[:BATCH])
        if not ids:
            break
        for pk in ids:
            with transaction.atomic():
                if not Lead.objects.filter(pk=pk, escalated_at__isnull=True).update(escalated_at=now):
                    continue  # another run took it
                lead = Lead.objects.select_related("owner", "contact", "company").get(pk=pk)
                escalated += 1
                if lead.team_id not in managers_by_team:
                    managers_by_team[lead.team_id] = managers_of(lead.team_id)
                told = managers_by_team[lead.team_id] or ([fallback] if fallback is not None else [])
                late = now - lead.response_due_at
                hours = late.total_seconds() / 3600
                message = (f"Overdue lead: {lead_label(lead)}, owner {display_name(lead.owner)}, no first response "
                           f"{hours:.1f} h after the deadline.")
                for person in told:
                    notices += notify(recipient=person, lead=lead, kind=NoticeKind.ESCALATION, message=message,
                                      subject=f"Overdue lead: {lead_label(lead)}"[:150])
                audit.audit(actor=None, action=AuditAction.UPDATE, instance=lead, source="system",
                            changes={"escalated_at": [None, now.isoformat()],
                                     "escalated_to": [None, [display_name(p) for p in told]]})
    return {"escalated": escalated, "notified": notices}
