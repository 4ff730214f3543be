"""Home, global search and trash: pages that span apps. Thin views over selectors."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy

from rapport.core.errors import ValidationFailed
from rapport.core.pagination import keyset_page
from rapport.people import selectors as people
from rapport.sales.selectors import deals as sales_deals
from rapport.timeline import selectors as timeline


@login_required
def home(request: HttpRequest) -> HttpResponse:
    request.nav_section = "home"
    return render(request, "web/home.html", {
        "stage_counts": people.stage_counts(request.user),
        "my_minutes": timeline.minutes_logged_by(request.user, days=30),
        "recent": timeline.recent_activities_by(request.user, limit=8),
    })


@login_required
def search(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")
    results = people.search_everything(request.user, q, limit=8 if request.htmx else 25)
    return render(request, "web/search.html", {"q": q, "search_q": q, "results": results})


@login_required
def trash(request: HttpRequest) -> HttpResponse:
    request.nav_section = "trash"
    error = None
    try:
        contacts = keyset_page(people.trashed_contacts(request.user), order="-deleted_at",
                               cursor=request.GET.get("cursor"), size=50)
        companies = keyset_page(people.trashed_companies(request.user), order="-deleted_at",
                                cursor=request.GET.get("company_cursor"), size=50)
        deals = keyset_page(sales_deals.trashed_deals(request.user).select_related("pipeline"), order="-deleted_at",
                            cursor=request.GET.get("deal_cursor"), size=50)
    except ValidationFailed as exc:
        contacts = companies = deals = None
        error = exc.errors
    return render(request, "web/trash.html", {"contacts": contacts, "companies": companies, "deals": deals,
                                              "error": error})


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "web/password_change.html"
    success_url = reverse_lazy("password_change_done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "web/password_change_done.html"
