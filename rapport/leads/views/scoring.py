"""The lead-scoring page: the model's evaluation for managers, the fit rules and scoring settings.

Thin: check the reader, call the scoring selectors and services, render; bad input re-renders
the page with the reasons next to the fields (status 400).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from rapport.core.errors import NotAllowed, NotVisible, ValidationFailed
from rapport.people.models import CustomField, SizeBand

from ..models import FitAttribute, FitOperator
from ..scoring import configuration, selectors
from ..scoring.features import feature_names

RULE_FIELDS = ("label", "attribute", "custom_field", "operator", "values", "number", "currency", "weight")
SETTING_FIELDS = ("poor_fit_threshold", "half_life_days", "min_outcomes", "fit_share")


def _context(request: HttpRequest, **extra) -> dict:
    user = request.user
    report = selectors.evaluation(user)
    metrics = (report or {}).get("metrics") or {}
    calibration = metrics.get("calibration", [])
    for row in calibration:
        # bar widths for the table's small chart, in percent of the row
        row["predicted_pct"] = round(100 * row["predicted"], 1)
        row["observed_pct"] = round(100 * row["observed"], 1)
    effects = metrics.get("effects") or {}
    strongest = sorted(effects.items(), key=lambda kv: -abs(kv[1]))[:8]
    settings = selectors.scoring_settings(user)
    return {
        "report": report, "metrics": metrics, "calibration": calibration, "strongest": strongest,
        "history": selectors.history(user), "rules": selectors.fit_rules(user), "settings": settings,
        "event_weights": sorted(settings.event_weights.items()), "may_edit": selectors.may_edit_scoring(user),
        "attributes": FitAttribute.choices, "operators": FitOperator.choices, "size_bands": SizeBand.values,
        "custom_fields": CustomField.objects.order_by("entity", "position", "label"),
        "feature_count": len(feature_names()), "rule_errors": {}, "rule_data": {}, "settings_errors": {},
        **extra,
    }


@login_required
def lead_scoring(request: HttpRequest) -> HttpResponse:
    request.nav_section = "leads"
    try:
        return render(request, "leads/scoring/page.html", _context(request))
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc


def _rule_data(request: HttpRequest) -> dict:
    data = {name: request.POST.get(name, "").strip() for name in RULE_FIELDS if request.POST.get(name, "").strip()}
    if "values" in data:
        data["values"] = [v.strip() for v in data["values"].split(",") if v.strip()]
    if data.get("attribute") != FitAttribute.CUSTOM:
        data.pop("custom_field", None)
    return data


@login_required
@require_POST
def fit_rule_create(request: HttpRequest) -> HttpResponse:
    data = _rule_data(request)
    try:
        rule = configuration.create_fit_rule(actor=request.user, data=data)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except ValidationFailed as exc:
        context = _context(request, rule_errors=exc.errors, rule_data=request.POST.dict())
        return render(request, "leads/scoring/page.html", context, status=400)
    messages.success(request, f"Fit rule added: {rule.label}. New leads use it now; open leads at the next "
                              "scoring run (rapport leads score).")
    return redirect("lead_scoring")


@login_required
@require_POST
def fit_rule_change(request: HttpRequest, rule_id: int) -> HttpResponse:
    """Switch a rule on or off, or delete it."""
    try:
        rule = selectors.fit_rule(request.user, rule_id)
        if request.POST.get("action") == "delete":
            configuration.delete_fit_rule(actor=request.user, rule=rule)
            messages.success(request, f"Fit rule deleted: {rule.label}.")
        else:
            configuration.update_fit_rule(actor=request.user, rule=rule, data={"active": not rule.active})
            messages.success(request, f"Fit rule {'switched off' if rule.active else 'switched on'}: {rule.label}.")
    except NotVisible as exc:
        raise Http404(str(exc)) from exc
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    return redirect("lead_scoring")


@login_required
@require_POST
def scoring_settings_update(request: HttpRequest) -> HttpResponse:
    data: dict = {name: request.POST.get(name, "").strip() for name in SETTING_FIELDS if name in request.POST}
    weights = {key.removeprefix("weight_"): value.strip() for key, value in request.POST.items()
               if key.startswith("weight_")}
    if weights:
        data["event_weights"] = weights
    try:
        configuration.update_scoring_settings(actor=request.user, data=data)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except ValidationFailed as exc:
        context = _context(request, settings_errors=exc.errors)
        return render(request, "leads/scoring/page.html", context, status=400)
    messages.success(request, "Scoring settings saved. New leads use them now; open leads at the next scoring run.")
    return redirect("lead_scoring")


urlpatterns = [
    path("leads/scoring/", lead_scoring, name="lead_scoring"),
    path("leads/scoring/rules/", fit_rule_create, name="fit_rule_create"),
    path("leads/scoring/rules/<int:rule_id>/", fit_rule_change, name="fit_rule_change"),
    path("leads/scoring/settings/", scoring_settings_update, name="scoring_settings_update"),
]
