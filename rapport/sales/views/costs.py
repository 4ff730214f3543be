"""The cost-of-sales page: what winning and losing deals cost, per owner or source, and per deal.

Managers and admins only (a cost divided by its minutes is the hourly rate); for anyone else the
page does not exist (404), as with any record they may not see.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from rapport.core.errors import NotVisible, ValidationFailed

from ..currencies import base_currency
from ..selectors import costs as selectors
from ..selectors import targets as target_selectors


@login_required
def cost_of_sales(request: HttpRequest) -> HttpResponse:
    request.nav_section = "forecast"
    params = {name: request.GET.get(name, "").strip() for name in ("group", "start", "end")}
    context = {"tab": "costs", "params": params, "base_currency": base_currency(), "may_see_costs": True,
               "may_manage": target_selectors.may_manage_targets(request.user)}
    try:
        report = selectors.cost_of_sales(request.user, group=params["group"], start=params["start"], end=params["end"])
        page, deal_costs = selectors.closed_deal_costs(request.user, start=params["start"], end=params["end"],
                                                       cursor=request.GET.get("cursor"))
    except NotVisible as exc:
        raise Http404("No such page") from exc
    except ValidationFailed as exc:
        context.update(report=None, error=exc.errors)
        return render(request, "sales/forecasts/cost_of_sales.html", context)
    query = request.GET.copy()
    query.pop("cursor", None)
    context.update(report=report, page=page, deal_costs=deal_costs, base_query=query.urlencode(),
                   params={"group": report.group, "start": report.start.isoformat(), "end": report.end.isoformat()})
    return render(request, "sales/forecasts/cost_of_sales.html", context)


urlpatterns = [
    path("sales/cost-of-sales/", cost_of_sales, name="cost_of_sales"),
]
