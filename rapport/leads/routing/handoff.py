"""Hand-off and the first-response clock: telling the owner, the deadline, the first response.

A lead is handed to sales when routing gives it to a seller or when it is qualified; its owner is
then told twice over: an e-mail (Django's mail, sent once the transaction commits, so a rolled
back hand-off sends nothing) and a notice on their queue page. Each owner hears about a lead
once, however often it is handed to them.
"""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings as django_settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from rapport.core import audit
from rapport.core.models import AuditAction
from rapport.core.visibility import profile_of

from ..models import OPEN_STATUSES, Lead, LeadNotice, NoticeKind, RoutingSettings
from .business_hours import DEFAULT_HOURS, ScheduleError, add_business_hours

log = logging.getLogger(__name__)

# A call, an e-mail or a meeting with the prospect is a response; a note to oneself is not.
RESPONSE_KINDS = ("call", "email", "meeting")


def schedule_of(settings: RoutingSettings) -> dict:
    return {"business_hours": settings.business_hours or DEFAULT_HOURS, "time_zone": settings.time_zone,
            "holidays": settings.holidays}


def response_due(start: dt.datetime, settings: RoutingSettings) -> dt.datetime | None:
    """When the first response is due for a lead that arrived at `start` (None if the schedule is unusable)."""
    try:
        return add_business_hours(start, settings.first_response_hours, **schedule_of(settings))
    except ScheduleError as error:
        # Settings are validated when saved; a schedule broken behind their back (the admin site,
        # SQL) must not stop leads coming in, so the lead is taken without a deadline and logged.
        log.warning("lead SLA not set, routing settings unusable: %s", error)
        return None


def lead_url(lead: Lead) -> str:
    try:
        return reverse("lead_detail", args=[lead.pk])
    except NoReverseMatch:  # the lead page is the core part's; the queue always exists
        return reverse("lead_queue")


def notify(*, recipient, lead: Lead, kind: str, message: str, subject: str) -> bool:
    """One notice (and e-mail) per lead, recipient and kind. False when they were already told."""
    if recipient is None or not recipient.is_active:
        return False
    if LeadNotice.objects.filter(lead=lead, recipient=recipient, kind=kind).exists():
        return False
    try:
        with transaction.atomic():
            LeadNotice.objects.create(lead=lead, recipient=recipient, kind=kind, message=message[:300])
    except IntegrityError:
        return False  # told at the same moment by another process
    if recipient.email:
        base = getattr(django_settings, "RAPPORT_BASE_URL", "").rstrip("/")
        body = f"{message}\n\n{base}{lead_url(lead)}\n\nYour lead queue: {base}{reverse('lead_queue')}\n"
        transaction.on_commit(lambda: send_mail(subject, body, None, [recipient.email], fail_silently=True))
    return True


def lead_label(lead: Lead) -> str:
    contact = lead.contact
    name = " ".join(p for p in (contact.first_name, contact.last_name) if p) or contact.email or f"contact {contact.pk}"
    company = lead.company.name if lead.company_id and lead.company else ""
    return f"{name}{' (' + company + ')' if company else ''}{': ' + lead.title if lead.title else ''}"


def notify_owner(lead: Lead) -> bool:
    """Tell the lead's owner it is theirs to work (once per lead and owner)."""
    if lead.owner_id is None or not lead.is_open:
        return False
    due = ""
    if lead.response_due_at and lead.first_response_at is None:
        zone_name = profile_of(lead.owner).time_zone or "UTC"
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            zone, zone_name = dt.UTC, "UTC"
        due = f" First response due {lead.response_due_at.astimezone(zone):%a %d %b %H:%M} ({zone_name})."
    qualified = "qualified " if lead.status == "qualified" else ""
    return notify(recipient=lead.owner, lead=lead, kind=NoticeKind.HANDOFF,
                  message=f"New {qualified}lead for you: {lead_label(lead)}.{due}",
                  subject=f"New lead: {lead_label(lead)}"[:150])


def start_response_clock(lead: Lead, settings: RoutingSettings, *, start: dt.datetime | None = None) -> None:
    """Set the first-response deadline of an open lead not yet answered (does not save)."""
    if lead.is_open and lead.first_response_at is None and lead.response_due_at is None:
        lead.response_due_at = response_due(start or lead.created_at or timezone.now(), settings)


@transaction.atomic
def record_first_response(*, contact, kind: str, occurred_at: dt.datetime, actor=None) -> int:
    """A call, e-mail or meeting with `contact` answers their open leads not yet answered.

    Only leads that existed when the activity happened count it (a call logged last week does not
    answer today's inquiry). Returns how many leads it answered.
    """
    if contact is None or kind not in RESPONSE_KINDS:
        return 0
    leads = list(Lead.objects.select_for_update().filter(
        contact=contact, status__in=OPEN_STATUSES, deleted_at__isnull=True, first_response_at__isnull=True,
        created_at__lte=occurred_at))
    for lead in leads:
        changes = {"first_response_at": [None, occurred_at.isoformat()]}
        lead.first_response_at = occurred_at
        if lead.status == "new":
            # Someone spoke to the prospect: the lead is being worked.
            lead.status = "working"
            changes["status"] = ["new", "working"]
        lead.save(update_fields=["first_response_at", "status"])
        audit.audit(actor=actor, action=AuditAction.UPDATE, instance=lead, source="system", changes=changes)
    return len(leads)
