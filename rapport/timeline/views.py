"""Logging activities inline on contact and company pages (htmx, no page reload)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from rapport.core.errors import NotVisible, ValidationFailed
from rapport.people import selectors as people

from . import services
from .forms import ActivityForm


def _log(request: HttpRequest, *, contact=None, company=None, log_url: str, back_url: str) -> HttpResponse:
    form = ActivityForm(request.POST)
    activity = None
    if form.is_valid():
        try:
            activity = services.log_activity(actor=request.user, data=form.service_data(),
                                             contact=contact, company=company)
        except ValidationFailed as exc:
            form.add_service_errors(exc)
    if not request.htmx:
        # Without JavaScript the form posts normally and we go back to the page.
        if activity is None:
            return render(request, "timeline/_log_form.html",
                          {"activity_form": form, "log_url": log_url, "standalone": True}, status=422)
        return redirect(back_url)
    if activity is None:
        response = render(request, "timeline/_log_form.html", {"activity_form": form, "log_url": log_url})
        response["HX-Retarget"] = "#log-activity"
        response["HX-Reswap"] = "outerHTML"
        return response
    event = activity.events.select_related("actor").first()
    return render(request, "timeline/_logged.html", {
        "event": event, "activity_form": ActivityForm(), "log_url": log_url, "show_contact": contact is None,
    })


@login_required
@require_POST
def contact_log_activity(request: HttpRequest, contact_id: int) -> HttpResponse:
    try:
        contact = people.get_contact(request.user, contact_id)
    except NotVisible as exc:
        raise Http404("No such contact") from exc
    return _log(request, contact=contact, log_url=reverse("contact_log_activity", args=[contact_id]),
                back_url=reverse("contact_detail", args=[contact_id]))


@login_required
@require_POST
def company_log_activity(request: HttpRequest, company_id: int) -> HttpResponse:
    try:
        company = people.get_company(request.user, company_id)
    except NotVisible as exc:
        raise Http404("No such company") from exc
    return _log(request, company=company, log_url=reverse("company_log_activity", args=[company_id]),
                back_url=reverse("company_detail", args=[company_id]))
