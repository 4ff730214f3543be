"""The lead list (filters, sort, cursor pages, bulk actions, CSV export); the lead page and its
forms are in `lead_page.py`. `urlpatterns` is collected by rapport/leads/urls.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from rapport.core.errors import ValidationFailed
from rapport.core.pagination import capped_count
from rapport.core.selectors import assignable_users, visible_users
from rapport.people.exports import csv_response
from rapport.sales.currencies import round_money

from .. import selectors, services
from ..imports import views as lead_imports
from ..models import LeadSource, LeadStatus
from . import lead_page

LIST_FILTERS = ("q", "status", "source", "campaign", "owner", "score_min", "score_max", "created_from",
                "created_to", "sort")
SORT_LABELS = [("-created", "Newest first"), ("created", "Oldest first"), ("-score", "Highest score"),
               ("score", "Lowest score"), ("-fit", "Best fit"), ("-touched", "Latest first touch")]
CHUNK = 2000


def _params(query: QueryDict) -> dict[str, str]:
    return {name: query.get(name, "").strip() for name in LIST_FILTERS}


def _page_size(request: HttpRequest) -> int:
    try:
        return max(10, min(200, int(request.GET.get("size", 50))))
    except ValueError:
        return 50


@login_required
def lead_list(request: HttpRequest) -> HttpResponse:
    request.nav_section = "leads"
    params = _params(request.GET)
    error, page, total, more = None, None, 0, False
    try:
        page = selectors.list_leads(request.user, params, cursor=request.GET.get("cursor") or None,
                                    size=_page_size(request))
        total, more = capped_count(selectors.listed_leads(request.user, params)[0])
    except ValidationFailed as exc:
        error = exc.errors
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {
        "page": page, "params": params, "error": error, "total": total, "more": more,
        "statuses": [("open", "Open (new, working, qualified)"), *LeadStatus.choices],
        "sources": LeadSource.choices, "sorts": SORT_LABELS, "owners": visible_users(request.user),
        "assignees": assignable_users(request.user), "reasons": selectors.disqualify_reasons(),
        "filtered": any(v for k, v in params.items() if k != "sort"), "base_query": query.urlencode(),
        "here": request.get_full_path(),
    }
    if request.htmx and request.htmx.target == "lead-rows":
        return render(request, "leads/_rows.html", context)
    return render(request, "leads/list.html", context)


@login_required
@require_POST
def lead_bulk(request: HttpRequest) -> HttpResponse:
    """Assign, disqualify or nurture the ticked leads; each failure is reported by lead."""
    back = request.POST.get("next") or reverse("lead_list")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("lead_list")
    try:
        ids = [int(v) for v in request.POST.getlist("lead")]
    except ValueError:
        ids = []
    if not ids:
        messages.error(request, "Tick at least one lead first.")
        return redirect(back)
    action = request.POST.get("action", "")
    try:
        result = services.bulk_leads(actor=request.user, lead_ids=ids, action=action,
                                     owner=request.POST.get("owner") or None, reason=request.POST.get("reason") or None,
                                     note=request.POST.get("note", ""))
    except ValidationFailed as exc:
        messages.error(request, "Nothing changed: " + "; ".join(f"{k}: {v}" for k, v in exc.errors.items()))
        return redirect(back)
    if result["done"]:
        messages.success(request, f"{result['done']} lead{'s' if result['done'] != 1 else ''} updated.")
    for lead_id, reason in sorted(result["failed"].items()):
        messages.error(request, f"Lead {lead_id} not changed: {reason}")
    return redirect(back)


def _user(user) -> str:
    return (user.get_full_name() or user.username) if user else ""


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


LEAD_COLUMNS = [
    ("ID", lambda lead: lead.pk), ("Title", lambda lead: lead.title),
    ("Contact", lambda lead: str(lead.contact)), ("Email", lambda lead: lead.contact.email or ""),
    ("Company", lambda lead: lead.company.name if lead.company else ""),
    ("Status", lambda lead: lead.get_status_display()), ("Source", lambda lead: lead.get_source_display()),
    ("Campaign", lambda lead: lead.campaign), ("Owner", lambda lead: _user(lead.owner)),
    ("Score", lambda lead: "" if lead.score is None else lead.score),
    ("Fit", lambda lead: "" if lead.fit_score is None else lead.fit_score),
    ("Budget", lambda lead: "" if lead.budget_amount is None
     else f"{round_money(lead.budget_amount, lead.budget_currency or 'EUR')}"),
    ("Budget Currency", lambda lead: lead.budget_currency), ("Budget Band", lambda lead: lead.budget_band),
    ("Authority", lambda lead: lead.authority), ("Timeline", lambda lead: lead.timeline),
    ("Disqualify Reason", lambda lead: lead.disqualify_reason.label if lead.disqualify_reason else ""),
    ("Deal", lambda lead: lead.deal_id or ""),
    ("First Touch", lambda lead: _when(lead.first_touch_at)), ("Created", lambda lead: _when(lead.created_at)),
]


def lead_rows(user, params: dict[str, Any]) -> Iterator[list[Any]]:
    """The header, then every visible lead matching the list's filters, in its order (one streamed query)."""
    sort = params.get("sort") or "-created"
    if sort not in selectors.LEAD_SORTS:
        raise ValidationFailed({"sort": f"choose one of: {', '.join(selectors.LEAD_SORTS)}"})
    order = selectors.LEAD_SORTS[sort]
    leads = (selectors.filter_leads(user, params)
             .select_related("contact", "company", "owner", "disqualify_reason")
             .order_by(order, "-id" if order.startswith("-") else "id"))
    yield [name for name, _ in LEAD_COLUMNS]
    for lead in leads.iterator(chunk_size=CHUNK):
        yield [get(lead) for _, get in LEAD_COLUMNS]


@login_required
def lead_export(request: HttpRequest) -> HttpResponse:
    rows = lead_rows(request.user, _params(request.GET))
    try:
        header = next(rows)  # bad filters answer 400 now, not halfway through a download
    except ValidationFailed as exc:
        return HttpResponse("; ".join(f"{k}: {v}" for k, v in exc.errors.items()), status=400,
                            content_type="text/plain")

    def all_rows() -> Iterator[list[Any]]:
        yield header
        yield from rows

    return csv_response(all_rows(), f"leads-{timezone.localdate():%Y-%m-%d}")


urlpatterns = [
    path("leads/", lead_list, name="lead_list"),
    path("leads/export/", lead_export, name="lead_export"),
    path("leads/bulk/", lead_bulk, name="lead_bulk"),
    path("leads/import/", lead_imports.lead_import, name="lead_import"),
    path("leads/import/rejects/<str:name>/", lead_imports.lead_import_rejects, name="lead_import_rejects"),
    path("leads/new/", lead_page.lead_create, name="lead_create"),
    path("leads/<int:lead_id>/", lead_page.lead_detail, name="lead_detail"),
    path("leads/<int:lead_id>/edit/", lead_page.lead_edit, name="lead_edit"),
    path("leads/<int:lead_id>/qualify/", lead_page.lead_qualify, name="lead_qualify"),
    path("leads/<int:lead_id>/convert/", lead_page.lead_convert, name="lead_convert"),
    path("leads/<int:lead_id>/disqualify/", lead_page.lead_disqualify, name="lead_disqualify"),
    path("leads/<int:lead_id>/reopen/", lead_page.lead_reopen, name="lead_reopen"),
    path("leads/of-contact/<int:contact_id>/", lead_page.contact_leads, name="contact_leads"),
]
