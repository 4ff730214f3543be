"""The balanced scorecard page. Thin: read the period and sort, call the selector, render; a bad
parameter re-renders the page naming the field (status 400)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import path

from rapport.core.errors import ValidationFailed
from rapport.sales import periods
from rapport.sales.models import PeriodKind

from ..selectors import analytics_scorecard
from .analytics import page_context


def _link(**params) -> str:
    query = QueryDict(mutable=True)
    query.update({k: v for k, v in params.items() if v})
    return f"?{query.urlencode()}"


@login_required
def insights_scorecard(request: HttpRequest) -> HttpResponse:
    context = page_context(request, "scorecard")
    params = {name: request.GET.get(name, "").strip() for name in ("period", "start", "sort")}
    try:
        card = analytics_scorecard.scorecard(request.user, kind=params["period"] or PeriodKind.QUARTER,
                                             start=params["start"], sort=params["sort"])
    except ValidationFailed as exc:
        context.update(card=None, error=exc.errors, params=params, kinds=PeriodKind.choices)
        return render(request, "reports/analytics/scorecard.html", context, status=400)
    here = {"period": card.kind, "start": card.start.isoformat()}
    headers = []
    for column in [None, *card.columns]:
        key = column.key if column else "name"
        # A first click sorts figures from the highest down, names from A.
        ascending_first = key == "name"
        if card.sort.lstrip("-") == key:
            direction = "descending" if card.sort.startswith("-") else "ascending"
            following = key if direction == "descending" else f"-{key}"
        else:
            direction = ""
            following = key if ascending_first else f"-{key}"
        headers.append({"column": column, "label": column.label if column else "Team or seller",
                        "href": _link(**here, sort=following), "sort": direction})
    context.update(
        card=card, headers=headers, kinds=PeriodKind.choices, sections=[("Teams", card.teams), ("Sellers", card.people)],
        params={"period": card.kind, "start": card.start.isoformat(), "sort": card.sort},
        previous=_link(period=card.kind, start=card.previous_start.isoformat(), sort=params["sort"]),
        following=_link(period=card.kind, start=periods.shift(card.kind, card.start, 1).isoformat(),
                        sort=params["sort"]),
    )
    return render(request, "reports/analytics/scorecard.html", context)


urlpatterns = [
    path("insights/scorecard/", insights_scorecard, name="insights_scorecard"),
]
