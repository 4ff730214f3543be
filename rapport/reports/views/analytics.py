"""The insights dashboard's pages: value and funnel, cohorts, source quality and the model's
tracking check. Thin: read the query, call one selector, turn its result into a chart spec and a
table, render. A bad parameter re-renders the page with the field named (status 400).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from rapport.core.errors import ValidationFailed
from rapport.sales.currencies import base_currency

from .. import charts
from ..selectors import analytics, analytics_cohorts, analytics_sources


def page_context(request: HttpRequest, tab: str) -> dict:
    request.nav_section = "insights"
    return {"tab": tab, "base_currency": base_currency(),
            "may_see_model": analytics.may_see_model_checks(request.user)}


def _heat(share: float | None) -> str:
    """A CSS class shading a table cell by its share (0-10): inline styles are refused by the CSP."""
    return "" if share is None else f"heat-{min(10, max(0, round(share * 10)))}"


@login_required
def insights_dashboard(request: HttpRequest) -> HttpResponse:
    context = page_context(request, "overview")
    params = {name: request.GET.get(name, "").strip() for name in ("measure", "of")}
    status = 200
    try:
        values = analytics.value_distribution(request.user, measure=params["measure"], of=params["of"])
    except ValidationFailed as exc:
        values, context["error"], status = None, exc.errors, 400
    funnel = analytics.lifecycle_funnel(request.user)
    context.update(
        params=params, values=values, funnel=funnel, measures=analytics.MEASURES.items(),
        value_spec=charts.value_chart(values, context["base_currency"]) if values and values.customers else None,
        funnel_spec=charts.funnel_chart(funnel) if funnel.contacts else None,
    )
    return render(request, "reports/analytics/dashboard.html", context, status=status)


@login_required
def insights_cohorts(request: HttpRequest) -> HttpResponse:
    context = page_context(request, "cohorts")
    months = request.GET.get("months", "").strip()
    status = 200
    try:
        table = analytics_cohorts.cohort_retention(request.user, months=months)
    except ValidationFailed as exc:
        table, context["error"], status = None, exc.errors, 400
    rows = []
    if table is not None:
        for cohort in table.cohorts:
            rows.append({"cohort": cohort, "cells": [
                {"cell": cell, "heat": _heat(cell.share), "revenue_heat": _heat(cell.revenue_share)}
                for cell in cohort.cells]})
    has_customers = bool(table and any(c.customers for c in table.cohorts))
    context.update(
        table=table, rows=rows, months=str(table.months) if table else months, has_customers=has_customers,
        month_choices=[str(n) for n in sorted({6, 12, 24, 36} | ({table.months} if table else set()))],
        customers_spec=charts.cohort_chart(table) if has_customers else None,
        revenue_spec=charts.cohort_chart(table, revenue=True) if has_customers else None,
    )
    return render(request, "reports/analytics/cohorts.html", context, status=status)


@login_required
def insights_sources(request: HttpRequest) -> HttpResponse:
    context = page_context(request, "sources")
    quality = analytics_sources.source_quality(request.user)
    has_values = any(r.mean_value is not None for r in [*quality.contact_sources, *quality.deal_sources])
    context.update(quality=quality,
                   sources_spec=charts.source_chart(quality, context["base_currency"]) if has_values else None)
    return render(request, "reports/analytics/sources.html", context)


@login_required
def insights_tracking(request: HttpRequest) -> HttpResponse:
    context = page_context(request, "tracking")
    run = analytics.latest_run()
    tracking = analytics.tracking(request.user, run) if context["may_see_model"] else None
    context.update(run=run, tracking=tracking,
                   tracking_spec=charts.tracking_chart(tracking) if tracking else None)
    return render(request, "reports/analytics/tracking.html", context)


urlpatterns = [
    path("insights/", insights_dashboard, name="insights_dashboard"),
    path("insights/cohorts/", insights_cohorts, name="insights_cohorts"),
    path("insights/sources/", insights_sources, name="insights_sources"),
    path("insights/tracking/", insights_tracking, name="insights_tracking"),
]
