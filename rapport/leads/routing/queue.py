"""The seller's lead queue: their open leads, overdue first, then by score; and its bulk actions.

A seller's queue is the open leads they own, nothing else (even though sellers see their team's
records elsewhere: the queue is a to-do list, not a browser). A manager may also look at their
team's queue, and sees who in the team is behind. Admins see every team's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Case, Count, IntegerField, Min, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from rapport.core import audit
from rapport.core.errors import ValidationFailed
from rapport.core.models import AuditAction, Role
from rapport.core.pagination import Page, keyset_page
from rapport.core.visibility import is_admin, profile_of, visible_to

from ..models import OPEN_STATUSES, Lead, LeadNotice, LeadSource, LeadStatus

SLA_STATES = {"overdue": "Overdue", "due_soon": "Due within 2 hours", "waiting": "Waiting for first response",
              "answered": "Answered"}
DUE_SOON = dt.timedelta(hours=2)
QUEUE_STATUSES = {s.value: s.label for s in OPEN_STATUSES}


def may_see_team_queue(user) -> bool:
    return is_admin(user) or profile_of(user).role == Role.MANAGER


def queue_base(user, scope: str = "mine") -> QuerySet[Lead]:
    """The open leads in the user's queue: their own, or (managers, admins) their team's."""
    leads = Lead.objects.filter(deleted_at__isnull=True, status__in=OPEN_STATUSES)
    if scope == "team" and may_see_team_queue(user):
        team_id = profile_of(user).team_id
        leads = visible_to(leads, user)
        return leads.filter(team_id=team_id) if team_id is not None else leads
    return leads.filter(owner_id=user.pk)


def with_queue_order(leads: QuerySet[Lead], now: dt.datetime) -> QuerySet[Lead]:
    """Annotate `queue_key`: overdue first, then waiting, then answered; higher scores first in each."""
    rank = Case(
        When(first_response_at__isnull=False, then=Value(2)),
        When(response_due_at__lt=now, then=Value(0)),
        default=Value(1), output_field=IntegerField(),
    )
    return leads.annotate(queue_key=rank * 1000 + 200 - Coalesce("score", Value(-1)))


def _clean_filters(user, params: dict, scope: str) -> dict:
    errors, cleaned = {}, {}
    status = (params.get("status") or "").strip()
    if status:
        if status not in QUEUE_STATUSES:
            errors["status"] = f"choose one of: {', '.join(QUEUE_STATUSES)}"
        cleaned["status"] = status
    source = (params.get("source") or "").strip()
    if source:
        if source not in LeadSource.values:
            errors["source"] = f"choose one of: {', '.join(LeadSource.values)}"
        cleaned["source"] = source
    sla = (params.get("sla") or "").strip()
    if sla:
        if sla not in SLA_STATES:
            errors["sla"] = f"choose one of: {', '.join(SLA_STATES)}"
        cleaned["sla"] = sla
    score_min = str(params.get("score_min") or "").strip()
    if score_min:
        try:
            cleaned["score_min"] = int(score_min)
            if not 0 <= cleaned["score_min"] <= 100:
                raise ValueError
        except ValueError:
            errors["score_min"] = "a whole number from 0 to 100"
    owner = str(params.get("owner") or "").strip()
    if owner and scope == "team":
        try:
            cleaned["owner"] = int(owner)
        except ValueError:
            errors["owner"] = "choose a person from the list"
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def queue(user, params: dict | None = None, *, scope: str = "mine", cursor: str | None = None, size: int = 50,
          now: dt.datetime | None = None) -> Page:
    """One page of the queue, filtered (status, source, SLA state, minimum score, owner in the team)."""
    now = now or timezone.now()
    scope = scope if scope == "team" and may_see_team_queue(user) else "mine"
    filters = _clean_filters(user, params or {}, scope)
    leads = queue_base(user, scope)
    if "status" in filters:
        leads = leads.filter(status=filters["status"])
    if "source" in filters:
        leads = leads.filter(source=filters["source"])
    if "score_min" in filters:
        leads = leads.filter(score__gte=filters["score_min"])
    if "owner" in filters:
        leads = leads.filter(owner_id=filters["owner"])
    sla = filters.get("sla")
    unanswered = Q(first_response_at__isnull=True)
    if sla == "overdue":
        leads = leads.filter(unanswered, response_due_at__lt=now)
    elif sla == "due_soon":
        leads = leads.filter(unanswered, response_due_at__gte=now, response_due_at__lt=now + DUE_SOON)
    elif sla == "waiting":
        leads = leads.filter(unanswered).exclude(response_due_at__lt=now)
    elif sla == "answered":
        leads = leads.filter(first_response_at__isnull=False)
    # The page is chosen from the lead columns the order reads, and only its rows are then read whole
    # with their contact, company and owner: ordering a team's thousands of open leads with those
    # joined read every one of them whole (SQLite) or joined them all before the sort (PostgreSQL).
    page = keyset_page(with_queue_order(leads, now).only("id", "first_response_at", "response_due_at", "score"),
                       order="queue_key", cursor=cursor, size=size)
    whole = Lead.objects.select_related("contact", "company", "owner").in_bulk([lead.pk for lead in page.items])
    return Page([whole[lead.pk] for lead in page.items if lead.pk in whole], page.next_cursor, page.size)


@dataclass
class QueueRow:
    lead: Lead
    state: str
    time_left: str
    url: str = ""

    @property
    def overdue(self) -> bool:
        return self.state == "overdue"


def _duration(delta: dt.timedelta) -> str:
    minutes = int(abs(delta.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def sla_state(lead: Lead, now: dt.datetime) -> tuple[str, str]:
    """('overdue' | 'due_soon' | 'waiting' | 'answered', time left or late, in words)."""
    if lead.first_response_at is not None:
        return "answered", f"answered after {_duration(lead.first_response_at - lead.created_at)}"
    if lead.response_due_at is None:
        return "waiting", "no deadline"
    left = lead.response_due_at - now
    if left < dt.timedelta(0):
        return "overdue", f"{_duration(left)} overdue"
    return ("due_soon" if left < DUE_SOON else "waiting"), f"{_duration(left)} left"


def queue_rows(page: Page, now: dt.datetime | None = None) -> list[QueueRow]:
    from .handoff import lead_url

    now = now or timezone.now()
    return [QueueRow(lead, *sla_state(lead, now), url=lead_url(lead)) for lead in page.items]


@dataclass
class SellerStanding:
    user: object
    open_leads: int
    overdue: int
    waiting: int
    oldest_due: dt.datetime | None

    @property
    def behind(self) -> bool:
        return self.overdue > 0


def team_standing(user, now: dt.datetime | None = None) -> list[SellerStanding]:
    """For a manager: each team member's open leads, overdue and waiting ones (one grouped query)."""
    if not may_see_team_queue(user):
        return []
    now = now or timezone.now()
    unanswered = Q(first_response_at__isnull=True)
    rows = {r["owner_id"]: r for r in queue_base(user, "team").order_by().values("owner_id").annotate(
        open_leads=Count("id"), overdue=Count("id", filter=unanswered & Q(response_due_at__lt=now)),
        waiting=Count("id", filter=unanswered & ~Q(response_due_at__lt=now)),
        oldest_due=Min("response_due_at", filter=unanswered))}
    team_id = profile_of(user).team_id
    members = get_user_model().objects.filter(is_active=True)
    members = members.filter(Q(profile__team_id=team_id) | Q(pk__in=[k for k in rows if k])) if team_id else \
        members.filter(pk__in=[k for k in rows if k])
    result = []
    for member in members.order_by("first_name", "username"):
        r = rows.get(member.pk, {})
        result.append(SellerStanding(member, r.get("open_leads", 0), r.get("overdue", 0), r.get("waiting", 0),
                                     r.get("oldest_due")))
    if None in rows:
        r = rows[None]
        result.append(SellerStanding(None, r["open_leads"], r["overdue"], r["waiting"], r["oldest_due"]))
    result.sort(key=lambda s: (-s.overdue, -s.waiting))
    return result


def unread_notices(user, *, limit: int = 20) -> list[LeadNotice]:
    return list(LeadNotice.objects.filter(recipient=user, read_at__isnull=True).select_related("lead")[:limit])


def dismiss_notices(*, actor, notice_ids: list[int] | None = None) -> int:
    """Mark the actor's notices read (all of them when no ids are given). Only their own."""
    notices = LeadNotice.objects.filter(recipient=actor, read_at__isnull=True)
    if notice_ids is not None:
        notices = notices.filter(pk__in=notice_ids)
    return notices.update(read_at=timezone.now())


def clean_ids(raw) -> list[int]:
    try:
        ids = sorted({int(x) for x in raw})
    except (TypeError, ValueError):
        raise ValidationFailed({"ids": "the selection is damaged; reload the page and select again"}) from None
    if not ids:
        raise ValidationFailed({"ids": "select at least one lead"})
    if len(ids) > 500:
        raise ValidationFailed({"ids": "at most 500 leads at a time"})
    return ids


@transaction.atomic
def mark_contacted(*, actor, lead_ids, when: dt.datetime | None = None, source: str = "web") -> dict:
    """Record a first response made outside Rapport on leads of the actor's queue (own, or the team's
    for a manager). Leads already answered keep their time; others come back as failures."""
    ids = clean_ids(lead_ids)
    when = when or timezone.now()
    scope = "team" if may_see_team_queue(actor) else "mine"
    leads = {lead.pk: lead for lead in queue_base(actor, scope).select_for_update().filter(pk__in=ids)}
    failed = {pk: "not in your queue" for pk in ids if pk not in leads}
    done = 0
    for lead in leads.values():
        if lead.first_response_at is not None:
            failed[lead.pk] = "already answered"
            continue
        lead.first_response_at = when
        updates = ["first_response_at", "updated_at"]
        lead.updated_at = when
        if lead.status == LeadStatus.NEW:
            lead.status = LeadStatus.WORKING
            updates.append("status")
        lead.save(update_fields=updates)
        audit.audit(actor=actor, action=AuditAction.UPDATE, instance=lead, source=source,
                    changes={"first_response_at": [None, when.isoformat()],
                             **({"status": ["new", "working"]} if "status" in updates else {})})
        done += 1
    return {"done": done, "failed": failed}


def reassign(*, actor, lead_ids, owner, source: str = "web") -> dict:
    """Give leads of the actor's queue to someone else (who may receive them is the core's rule)."""
    from rapport.leads.services import bulk_leads

    ids = clean_ids(lead_ids)
    scope = "team" if may_see_team_queue(actor) else "mine"
    mine = set(queue_base(actor, scope).filter(pk__in=ids).values_list("pk", flat=True))
    result = bulk_leads(actor=actor, lead_ids=sorted(mine), action="assign", owner=owner, source_label=source)
    result["failed"].update({pk: "not in your queue" for pk in ids if pk not in mine})
    return result
