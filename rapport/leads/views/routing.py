"""Routing pages: the seller's lead queue (with bulk actions and notices) and the lead reports."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from rapport.core.errors import NotAllowed, ValidationFailed
from rapport.core.selectors import assignable_users

from ..models import LeadSource
from ..routing import queue as queue_selectors
from ..routing import reports as report_selectors
from .routing_setup import urlpatterns as setup_urlpatterns

QUEUE_FILTERS = ("status", "source", "sla", "score_min", "owner")


def _page_size(request: HttpRequest) -> int:
    try:
        return max(10, min(200, int(request.GET.get("size", 50))))
    except ValueError:
        return 50


@login_required
def lead_queue(request: HttpRequest) -> HttpResponse:
    request.nav_section = "lead_queue"
    user = request.user
    may_team = queue_selectors.may_see_team_queue(user)
    scope = "team" if may_team and request.GET.get("scope") == "team" else "mine"
    params = {name: request.GET.get(name, "").strip() for name in QUEUE_FILTERS}
    now = timezone.now()
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {
        "scope": scope, "may_team": may_team, "params": params, "now": now,
        "statuses": queue_selectors.QUEUE_STATUSES.items(), "sources": LeadSource.choices,
        "sla_states": queue_selectors.SLA_STATES.items(), "assignable": assignable_users(user),
        "notices": queue_selectors.unread_notices(user), "base_query": query.urlencode(),
        "filtered": any(params.values()), "rows": [], "page": None, "error": None,
    }
    try:
        page = queue_selectors.queue(user, params, scope=scope, cursor=request.GET.get("cursor"),
                                     size=_page_size(request), now=now)
        context.update(page=page, rows=queue_selectors.queue_rows(page, now))
    except ValidationFailed as exc:
        context["error"] = exc.errors
    if scope == "team":
        context["standing"] = queue_selectors.team_standing(user, now)
    return render(request, "leads/routing/queue.html", context)


@login_required
@require_POST
def lead_queue_bulk(request: HttpRequest) -> HttpResponse:
    back = reverse("lead_queue") + ("?" + request.POST["query"] if request.POST.get("query") else "")
    action = request.POST.get("action", "")
    ids = request.POST.getlist("ids")
    try:
        if action == "contacted":
            result = queue_selectors.mark_contacted(actor=request.user, lead_ids=ids)
            verb = "marked contacted"
        elif action == "reassign":
            owner = request.POST.get("owner", "").strip()
            if not owner:
                raise ValidationFailed({"owner": "choose who gets the leads"})
            result = queue_selectors.reassign(actor=request.user, lead_ids=ids, owner=owner)
            verb = "reassigned"
        else:
            raise ValidationFailed({"action": "choose reassign or mark contacted"})
    except (ValidationFailed, NotAllowed) as exc:
        messages.error(request, "; ".join(exc.errors.values()) if isinstance(exc, ValidationFailed) else str(exc))
        return redirect(back)
    done = result["done"]
    messages.success(request, f"{done} lead{'s' if done != 1 else ''} {verb}.")
    if result["failed"]:
        reasons = "; ".join(f"lead {pk}: {why}" for pk, why in sorted(result["failed"].items())[:10])
        more = f" (and {len(result['failed']) - 10} more)" if len(result["failed"]) > 10 else ""
        messages.error(request, f"Not done: {reasons}{more}.")
    return redirect(back)


@login_required
@require_POST
def lead_notices_dismiss(request: HttpRequest) -> HttpResponse:
    ids = request.POST.getlist("notice")
    try:
        notice_ids = [int(x) for x in ids] if ids else None
    except ValueError:
        notice_ids = []
    queue_selectors.dismiss_notices(actor=request.user, notice_ids=notice_ids)
    if request.htmx:
        return HttpResponse("")
    return redirect("lead_queue")


@login_required
def lead_reports(request: HttpRequest) -> HttpResponse:
    request.nav_section = "lead_queue"
    params = {name: request.GET.get(name, "").strip() for name in ("start", "end")}
    context = {"params": params, "report": None, "by_owner": [], "by_source": [], "error": None}
    try:
        page = report_selectors.reports_page(request.user, start=params["start"], end=params["end"])
        context.update(
            report=page.report,
            params={"start": page.report.start.isoformat(), "end": page.report.end.isoformat()},
            by_owner=page.by_owner,
            by_source=page.by_source,
        )
    except ValidationFailed as exc:
        context["error"] = exc.errors
    return render(request, "leads/routing/reports.html", context)


urlpatterns = [
    path("leads/queue/", lead_queue, name="lead_queue"),
    path("leads/queue/bulk/", lead_queue_bulk, name="lead_queue_bulk"),
    path("leads/queue/notices/dismiss/", lead_notices_dismiss, name="lead_notices_dismiss"),
    path("leads/reports/", lead_reports, name="lead_reports"),
    *setup_urlpatterns,
]
