"""Reads of leads, always narrowed to what the acting user may see.

A lead is seen like a deal: by its owner, the owner's team (sellers and managers) and by the
roles that see everything (admins, marketers). A lead nobody owns yet is seen only by those.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from rapport.core.errors import NotVisible, ValidationFailed
from rapport.core.pagination import Page, keyset_page
from rapport.core.visibility import visible_to

from .models import DisqualifyReason, Lead, LeadSource, LeadStatus

LEAD_SORTS = {
    "-created": "-id", "created": "id",
    "-score": "-score", "score": "score",
    "-fit": "-fit_score", "fit": "fit_score",
    "-touched": "-first_touch_at", "touched": "first_touch_at",
}
FILTERS = ("status", "source", "campaign", "owner", "score_min", "score_max", "created_from", "created_to", "q",
           "contact")
MAX_PAGE = 200


def lead_queryset(user) -> QuerySet[Lead]:
    """Live (not trashed) leads the user may see."""
    return visible_to(Lead.objects.filter(deleted_at__isnull=True), user)


def get_lead(user, lead_id: int) -> Lead:
    """The lead, or NotVisible whether it is missing or hidden from this user (both answer 404)."""
    lead = (lead_queryset(user).select_related("contact", "company", "owner", "team", "disqualify_reason")
            .prefetch_related("need_categories").filter(pk=lead_id).first())
    if lead is None:
        raise NotVisible(f"lead {lead_id}")
    return lead


def lead_for_update(user, lead_id: int) -> Lead:
    lead = (lead_queryset(user).select_for_update(of=("self",)).select_related("contact", "company")
            .filter(pk=lead_id).first())
    if lead is None:
        raise NotVisible(f"lead {lead_id}")
    return lead


def disqualify_reasons(*, include_inactive: bool = False) -> QuerySet[DisqualifyReason]:
    reasons = DisqualifyReason.objects.all()
    return reasons if include_inactive else reasons.filter(active=True)


def _int(value: Any, field: str, errors: dict[str, str]) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        errors[field] = "must be a whole number"
        return None


def _day(value: Any, field: str, errors: dict[str, str]) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        errors[field] = "use a date such as 2026-12-31"
        return None


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), dt.UTC)


def filter_leads(user, params: dict[str, Any]) -> QuerySet[Lead]:
    """The user's visible leads narrowed by the list's filters; a bad filter value is an error
    naming it, never an unfiltered list."""
    errors: dict[str, str] = {}
    qs = lead_queryset(user)
    statuses = params.get("status")
    if statuses:
        wanted = [s for s in (statuses if isinstance(statuses, list | tuple) else str(statuses).split(",")) if s]
        bad = [s for s in wanted if s not in LeadStatus.values and s != "open"]
        if bad:
            errors["status"] = f"choose from: open, {', '.join(LeadStatus.values)}"
        else:
            expanded = {x for s in wanted for x in (("new", "working", "qualified") if s == "open" else (s,))}
            qs = qs.filter(status__in=sorted(expanded))
    source = params.get("source")
    if source:
        if source not in LeadSource.values:
            errors["source"] = f"choose one of: {', '.join(LeadSource.values)}"
        else:
            qs = qs.filter(source=source)
    campaign = (params.get("campaign") or "").strip()
    if campaign:
        qs = qs.filter(campaign=campaign)
    owner = params.get("owner")
    if owner == "none":
        qs = qs.filter(owner__isnull=True)
    elif owner not in (None, ""):
        owner_id = _int(owner, "owner", errors)
        if owner_id is not None:
            qs = qs.filter(owner_id=owner_id)
    contact = _int(params.get("contact"), "contact", errors)
    if contact is not None:
        qs = qs.filter(contact_id=contact)
    low, high = _int(params.get("score_min"), "score_min", errors), _int(params.get("score_max"), "score_max", errors)
    for name, value in (("score_min", low), ("score_max", high)):
        if value is not None and not 0 <= value <= 100:
            errors[name] = "a score from 0 to 100"
    if low is not None and high is not None and low > high:
        errors["score_max"] = "must not be below score_min"
    if low is not None:
        qs = qs.filter(score__gte=low)
    if high is not None:
        qs = qs.filter(score__lte=high)
    start, end = _day(params.get("created_from"), "created_from", errors), _day(params.get("created_to"),
                                                                                "created_to", errors)
    if start and end and start > end:
        errors["created_to"] = "must not be before created_from"
    if start:
        qs = qs.filter(created_at__gte=_start_of(start))
    if end:
        qs = qs.filter(created_at__lt=_start_of(end + dt.timedelta(days=1)))
    q = (params.get("q") or "").strip()
    if q:
        qs = qs.filter(_search_q(q))
    if errors:
        raise ValidationFailed(errors)
    return qs


def _search_q(q: str) -> Q:
    """By the contact's e-mail (prefix, or whole address) or name (prefix of first, last or full name)."""
    text = q.lower()
    if "@" in text:
        return Q(contact__email__startswith=text)
    match = Q(contact__name_key__startswith=text) | Q(contact__last_name_key__startswith=text)
    match |= Q(contact__email__startswith=text) | Q(title__icontains=q)
    return match


def listed_leads(user, params: dict[str, Any]) -> tuple[QuerySet[Lead], str]:
    """The filtered leads and their order, as the list shows them: a score sort lists scored leads
    only (a NULL score has no place in a keyset order), so counts and pages agree."""
    sort = params.get("sort") or "-created"
    if sort not in LEAD_SORTS:
        raise ValidationFailed({"sort": f"choose one of: {', '.join(LEAD_SORTS)}"})
    order = LEAD_SORTS[sort]
    qs = filter_leads(user, params)
    if order.lstrip("-") in ("score", "fit_score"):
        qs = qs.filter(**{f"{order.lstrip('-')}__isnull": False})
    return qs, order


def list_leads(user, params: dict[str, Any], *, cursor: str | None = None, size: int = 50) -> Page:
    """One cursor page of the user's leads; `params["sort"]` is one of LEAD_SORTS (newest first)."""
    if not 1 <= size <= MAX_PAGE:
        raise ValidationFailed({"size": f"from 1 to {MAX_PAGE}"})
    qs, order = listed_leads(user, params)
    qs = qs.select_related("contact", "company", "owner", "disqualify_reason").prefetch_related("need_categories")
    return keyset_page(qs, order=order, cursor=cursor, size=size)


def leads_of_contact(user, contact, *, limit: int = 20) -> list[Lead]:
    return list(lead_queryset(user).filter(contact=contact).select_related("owner").order_by("-id")[:limit])


def qualification_checklist(lead: Lead) -> list[dict[str, Any]]:
    """Budget, authority, need, timeline and fit: whether each is known (or met) and what it says.

    Fit is met when the fit score reaches scoring's poor-fit threshold."""
    from rapport.sales.currencies import format_money

    budget = (format_money(lead.budget_amount, lead.budget_currency) if lead.budget_amount is not None
              else lead.get_budget_band_display() if lead.budget_band else "")
    categories = [c.name for c in lead.need_categories.all()]
    need = ", ".join(categories) + (" — " if categories and lead.need else "") + lead.need
    threshold = _fit_threshold()
    fit_known = lead.fit_score is not None
    return [
        {"key": "budget", "label": "Budget", "met": bool(budget), "value": budget or "Not known yet"},
        {"key": "authority", "label": "Authority", "met": bool(lead.authority),
         "value": lead.get_authority_display() if lead.authority else "Not known yet"},
        {"key": "need", "label": "Need", "met": bool(need), "value": need or "Not known yet"},
        {"key": "timeline", "label": "Timeline", "met": bool(lead.timeline),
         "value": lead.get_timeline_display() if lead.timeline else "Not known yet"},
        {"key": "fit", "label": "Fit", "met": fit_known and lead.fit_score >= threshold,
         "value": f"{lead.fit_score} / 100 (good fit from {threshold})" if fit_known else "Not scored yet"},
    ]


def _fit_threshold() -> int:
    from .models import ScoringSettings

    row = ScoringSettings.objects.first()
    return row.poor_fit_threshold if row is not None else ScoringSettings._meta.get_field("poor_fit_threshold").default
