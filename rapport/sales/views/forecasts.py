"""Pages for forecasts: the attainment dashboard, the forecast, targets and suggested targets.

Thin: read the query or form, call one selector or service, render. Bad filters re-render the
page naming the field; a refused form comes back with its errors and status 422.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from rapport.core.errors import NotAllowed, NotVisible, ValidationFailed
from rapport.core.selectors import assignable_users

from .. import periods
from ..currencies import CURRENCIES, base_currency
from ..models import NON_MONEY_METRICS, PeriodKind, TargetMetric
from ..selectors import forecasts as forecast_selectors
from ..selectors import targets as target_selectors
from ..selectors.rates import may_see_cost_rates
from ..selectors.suggestions import suggestions
from ..services import forecasts as services

TARGET_FORM_FIELDS = ("who", "metric", "period_kind", "period_start", "amount", "currency")


def _common(request: HttpRequest, tab: str) -> dict:
    request.nav_section = "forecast"
    return {"tab": tab, "base_currency": base_currency(), "may_manage": target_selectors.may_manage_targets(request.user),
            "may_see_costs": may_see_cost_rates(request.user)}


@login_required
def forecast_dashboard(request: HttpRequest) -> HttpResponse:
    context = _common(request, "dashboard")
    kind = request.GET.get("period") or PeriodKind.QUARTER
    try:
        context["periods"] = target_selectors.attainment(request.user, kind=kind)
    except ValidationFailed as exc:
        context.update(periods=[], error=exc.errors)
    context["kind"] = kind
    return render(request, "sales/forecasts/dashboard.html", context)


@login_required
def forecast_report(request: HttpRequest) -> HttpResponse:
    context = _common(request, "forecast")
    params = {name: request.GET.get(name, "").strip() for name in ("group", "period", "start")}
    try:
        result = forecast_selectors.forecast(request.user, group=params["group"], kind=params["period"],
                                             start=params["start"])
    except ValidationFailed as exc:
        context.update(result=None, error=exc.errors, params=params)
        return render(request, "sales/forecasts/report.html", context)

    def link(start) -> str:
        query = QueryDict(mutable=True)
        query.update({"group": result.group, "period": result.period_kind, "start": start.isoformat()})
        return f"?{query.urlencode()}"

    context.update(result=result, params={"group": result.group, "period": result.period_kind,
                                          "start": result.start.isoformat()},
                   previous=link(periods.shift(result.period_kind, result.start, -1)),
                   following=link(periods.shift(result.period_kind, result.start, 1)))
    return render(request, "sales/forecasts/report.html", context)


# --- targets -----------------------------------------------------------------------------------

def _who_choices(user) -> list[tuple[str, str]]:
    if not target_selectors.may_manage_targets(user):
        return []
    teams = [(f"team:{t.pk}", f"Team {t.name}") for t in target_selectors.teams_in_scope(user)]
    people = [(f"user:{u.pk}", u.get_full_name() or u.username) for u in assignable_users(user)]
    return teams + people


def _target_data(post: QueryDict) -> dict:
    """The service's fields from the form: "who" is "user:<id>" or "team:<id>"."""
    kind, _, ident = post.get("who", "").partition(":")
    data = {name: post.get(name, "").strip() for name in TARGET_FORM_FIELDS if name != "who"}
    data["user"] = ident if kind == "user" else None
    data["team"] = ident if kind == "team" else None
    if kind not in ("user", "team"):
        data["user"] = post.get("who", "").strip() or None
    if data["metric"] in NON_MONEY_METRICS:
        data["currency"] = ""
    return data


def _form_errors(errors: dict[str, str]) -> dict[str, str]:
    # The form has one "who" field for the service's user and team.
    shown = dict(errors)
    for name in ("user", "team"):
        if name in shown:
            shown["who"] = shown.pop(name)
    return shown


def _target_form_context(request: HttpRequest, values: dict, errors: dict | None = None) -> dict:
    return {"who_choices": _who_choices(request.user), "metrics": TargetMetric.choices,
            "kinds": PeriodKind.choices, "values": values, "errors": errors or {}, "currencies": CURRENCIES,
            "other_errors": {k: v for k, v in (errors or {}).items() if k not in TARGET_FORM_FIELDS}}


@login_required
def forecast_targets(request: HttpRequest) -> HttpResponse:
    context = _common(request, "targets")
    status = 200
    default_start = periods.shift(PeriodKind.QUARTER, periods.period_containing(
        PeriodKind.QUARTER, periods.utc_today()), 1)
    values = {"metric": TargetMetric.REVENUE, "period_kind": PeriodKind.QUARTER,
              "period_start": default_start.isoformat(), "currency": base_currency()}
    errors = {}
    if request.method == "POST":
        values = {name: request.POST.get(name, "") for name in TARGET_FORM_FIELDS}
        try:
            target, created = services.set_target(actor=request.user, data=_target_data(request.POST))
        except NotAllowed as exc:
            raise PermissionDenied(str(exc)) from exc
        except ValidationFailed as exc:
            errors, status = _form_errors(exc.errors), 422
        else:
            messages.success(request, "Target set." if created else "That target existed: it was updated.")
            return redirect("forecast_targets")
    filters = {name: request.GET.get(name, "").strip() for name in ("metric", "period", "start")}
    try:
        page = target_selectors.list_targets(request.user, filters, cursor=request.GET.get("cursor"))
    except ValidationFailed as exc:
        page, context["error"] = None, exc.errors
    query = request.GET.copy()
    query.pop("cursor", None)
    context.update(_target_form_context(request, values, errors))
    context.update(page=page, filters=filters, base_query=query.urlencode(),
                   total=len(page.items) if page else 0, more=bool(page and page.next_cursor))
    return render(request, "sales/forecasts/targets.html", context, status=status)


def _get_target(request: HttpRequest, target_id: int):
    try:
        return target_selectors.get_target(request.user, target_id)
    except NotVisible as exc:
        raise Http404("No such target") from exc


@login_required
def forecast_target_edit(request: HttpRequest, target_id: int) -> HttpResponse:
    context = _common(request, "targets")
    target = _get_target(request, target_id)
    if not target_selectors.may_set_target(request.user, user=target.user, team=target.team):
        raise PermissionDenied("You may read this target but not change it.")
    who = f"user:{target.user_id}" if target.user_id else f"team:{target.team_id}"
    values = {"who": who, "metric": target.metric, "period_kind": target.period_kind,
              "period_start": target.period_start.isoformat(), "amount": target.amount.normalize(),
              "currency": target.currency}
    errors, status = {}, 200
    if request.method == "POST":
        values = {name: request.POST.get(name, "") for name in TARGET_FORM_FIELDS}
        try:
            services.update_target(actor=request.user, target=target, data=_target_data(request.POST))
        except NotAllowed as exc:
            raise PermissionDenied(str(exc)) from exc
        except ValidationFailed as exc:
            errors, status = _form_errors(exc.errors), 422
        else:
            messages.success(request, "Target saved.")
            return redirect("forecast_targets")
    context.update(_target_form_context(request, values, errors), target=target)
    return render(request, "sales/forecasts/target_edit.html", context, status=status)


@login_required
@require_POST
def forecast_target_delete(request: HttpRequest, target_id: int) -> HttpResponse:
    target = _get_target(request, target_id)
    try:
        services.delete_target(actor=request.user, target=target)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    messages.success(request, "Target removed.")
    return redirect("forecast_targets")


# --- suggested (effective) targets -----------------------------------------------------------

@login_required
def forecast_suggestions(request: HttpRequest) -> HttpResponse:
    context = _common(request, "suggestions")
    kind = request.GET.get("period") or PeriodKind.QUARTER
    start = request.GET.get("start", "").strip()
    try:
        kind = periods.clean_kind(kind)
        if not start:
            # Targets are set ahead: by default, the next period.
            start = periods.shift(kind, periods.period_containing(kind, periods.utc_today()), 1).isoformat()
        found = suggestions(request.user, kind=kind, start=start)
    except ValidationFailed as exc:
        context.update(rows=[], error=exc.errors, kind=kind, start=start)
        return render(request, "sales/forecasts/suggestions.html", context)
    context.update(rows=found, kind=kind, start=start,
                   period_label=periods.label(kind, periods.clean_start(start, kind)))
    return render(request, "sales/forecasts/suggestions.html", context)


@login_required
@require_POST
def forecast_suggestion_accept(request: HttpRequest) -> HttpResponse:
    kind, start = request.POST.get("period_kind", ""), request.POST.get("period_start", "")
    query = QueryDict(mutable=True)
    query.update({"period": kind, "start": start})
    back = reverse("forecast_suggestions") + f"?{query.urlencode()}"
    try:
        target, created = services.accept_suggestion(actor=request.user, user_id=request.POST.get("user"),
                                                     period_kind=kind, period_start=start)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except ValidationFailed as exc:
        messages.error(request, "Not accepted: " + "; ".join(f"{k}: {v}" for k, v in exc.errors.items()))
        return redirect(back)
    who = target.user.get_full_name() or target.user.username
    messages.success(request, f"Target for {who} {'set' if created else 'updated'}: "
                              f"{target.amount:,.0f} {target.currency}.")
    return redirect(back)


urlpatterns = [
    path("forecast/", forecast_dashboard, name="forecast_dashboard"),
    path("forecast/report/", forecast_report, name="forecast_report"),
    path("forecast/targets/", forecast_targets, name="forecast_targets"),
    path("forecast/targets/<int:target_id>/", forecast_target_edit, name="forecast_target_edit"),
    path("forecast/targets/<int:target_id>/delete/", forecast_target_delete, name="forecast_target_delete"),
    path("forecast/suggestions/", forecast_suggestions, name="forecast_suggestions"),
    path("forecast/suggestions/accept/", forecast_suggestion_accept, name="forecast_suggestion_accept"),
]
