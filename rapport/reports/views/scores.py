"""The Scores page: the latest refreshes (what was fitted, chosen and why) and, for admins, the
"Refresh now" button that queues a refresh for the background worker. Thin: selectors and the
refresh service do the work."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from rapport.core.errors import NotAllowed, NotVisible, ValidationFailed

from ..refresh import request_refresh
from ..selectors import scores as selectors


@login_required
def score_runs(request: HttpRequest) -> HttpResponse:
    request.nav_section = "insights"
    try:
        runs = selectors.recent_runs(request.user)
    except NotVisible as exc:
        raise Http404("No such page") from exc
    return render(request, "reports/scores.html", {
        "runs": runs, "may_refresh": selectors.may_refresh(request.user), "busy": selectors.refresh_in_progress(),
        "base_currency": selectors.base_currency()})


@login_required
@require_POST
def refresh_now(request: HttpRequest) -> HttpResponse:
    try:
        run = request_refresh(actor=request.user)
    except NotAllowed:
        return HttpResponse("Only admins can refresh the scores.", status=403, content_type="text/plain")
    except ValidationFailed as exc:
        messages.error(request, "; ".join(exc.errors.values()))
        return redirect("score_runs")
    messages.success(request, f"Refresh #{run.pk} queued: the background worker scores every customer as of "
                              f"{run.as_of:%d %b %Y}. This page shows when it is done.")
    return redirect("score_runs")


urlpatterns = [
    path("insights/scores/", score_runs, name="score_runs"),
    path("insights/scores/refresh/", refresh_now, name="score_refresh"),
]
