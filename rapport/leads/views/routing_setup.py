"""The routing set-up page: assignment rules, SLA settings and seller capacities.

Admins change everything; a manager reads the rules and sets their own sellers' capacities;
anyone else gets 404 (the page does not exist for them).
"""

from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from rapport.core.errors import NotAllowed, NotVisible, ValidationFailed
from rapport.core.models import Role, Team
from rapport.core.visibility import is_admin, profile_of
from rapport.people.models import SizeBand

from ..models import LeadSource, SellerCapacity
from ..routing import rules as services
from ..routing.assignment import routing_settings
from ..routing.business_hours import DEFAULT_HOURS, WEEKDAYS

DAY_NAMES = dict(zip(WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
                     strict=True))
SPAN = re.compile(r"^\s*(\d{1,2}:\d{2})\s*[-–]\s*(\d{1,2}:\d{2})\s*$")


def _may_open(user) -> bool:
    return is_admin(user) or profile_of(user).role == Role.MANAGER


def _hours_text(spans) -> str:
    return ", ".join(f"{a}–{b}" for a, b in spans or [])


def _sellers(user):
    users = get_user_model().objects.filter(is_active=True, profile__role=Role.SELLER).select_related("profile")
    if not is_admin(user):
        users = users.filter(profile__team_id=profile_of(user).team_id)
    return users.order_by("first_name", "username")


def _capacities(user) -> list[tuple]:
    sellers = list(_sellers(user))
    own = {c.user_id: c for c in SellerCapacity.objects.filter(user__in=sellers)}
    return [(u, own.get(u.pk)) for u in sellers]


def _rule_form_values(rule=None, data=None) -> dict:
    if data is not None:
        return {"name": data.get("name", ""), "position": data.get("position", ""),
                "countries": data.get("countries", ""), "industries": data.get("industries", ""),
                "size_bands": data.getlist("size_bands"), "sources": data.getlist("sources"),
                "target": data.get("target", ""), "active": bool(data.get("active"))}
    if rule is None:
        return {"active": True, "size_bands": [], "sources": []}
    target = f"user:{rule.assign_to_id}" if rule.assign_to_id else f"team:{rule.team_id}" if rule.team_id else ""
    return {"name": rule.name, "position": rule.position, "countries": ", ".join(rule.countries),
            "industries": ", ".join(rule.industries), "size_bands": rule.size_bands, "sources": rule.sources,
            "target": target, "active": rule.active}


def _rule_data(post) -> dict:
    """The form's fields in the service's terms; the service judges the values."""
    target = post.get("target", "")
    kind, _, ident = target.partition(":")
    data = {"name": post.get("name", ""), "countries": post.get("countries", ""),
            "industries": post.get("industries", ""), "size_bands": post.getlist("size_bands"),
            "sources": post.getlist("sources"), "active": bool(post.get("active")),
            "assign_to": ident if kind == "user" else None, "team": ident if kind == "team" else None}
    if post.get("position", "").strip():
        data["position"] = post["position"].strip()
    return data


def _page(request, *, status=200, **extra) -> HttpResponse:
    user = request.user
    settings = routing_settings()
    hours = settings.business_hours or DEFAULT_HOURS
    context = {
        "may_edit": is_admin(user), "rules": services.rule_queryset(user).order_by("position", "id"),
        "settings": settings, "users": get_user_model().objects.filter(is_active=True).order_by("first_name", "username"),
        "team_targets": [(f"team:{t.pk}", f"Team {t.name}") for t in Team.objects.all()],
        "user_targets": [(f"user:{u.pk}", u.get_full_name() or u.username)
                         for u in get_user_model().objects.filter(is_active=True).order_by("first_name", "username")],
        "size_bands": SizeBand.choices, "sources": LeadSource.choices,
        "rule_form": _rule_form_values(), "rule_errors": {}, "editing": None, "settings_errors": {},
        "days": [(d, DAY_NAMES[d], _hours_text(hours.get(d))) for d in WEEKDAYS],
        "holidays_text": "\n".join(settings.holidays or []),
        "capacities": _capacities(user),
    }
    context.update(extra)
    return render(request, "leads/routing/setup.html", context, status=status)


@login_required
def routing_setup(request: HttpRequest) -> HttpResponse:
    request.nav_section = "lead_queue"
    if not _may_open(request.user):
        raise Http404("No such page")
    return _page(request)


@login_required
def rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    request.nav_section = "lead_queue"
    if not is_admin(request.user):
        raise Http404("No such page")
    try:
        rule = services.get_rule(request.user, rule_id)
    except NotVisible as exc:
        raise Http404("No such rule") from exc
    if request.method == "POST":
        try:
            services.update_rule(actor=request.user, rule=rule, data=_rule_data(request.POST))
        except ValidationFailed as exc:
            return _page(request, status=422, editing=rule, rule_form=_rule_form_values(data=request.POST),
                         rule_errors=exc.errors)
        messages.success(request, f"Rule '{rule.name}' saved.")
        return redirect("lead_routing_setup")
    return _page(request, editing=rule, rule_form=_rule_form_values(rule))


@login_required
@require_POST
def rule_create(request: HttpRequest) -> HttpResponse:
    if not is_admin(request.user):
        raise Http404("No such page")
    try:
        rule = services.create_rule(actor=request.user, data=_rule_data(request.POST))
    except ValidationFailed as exc:
        return _page(request, status=422, rule_form=_rule_form_values(data=request.POST), rule_errors=exc.errors)
    messages.success(request, f"Rule '{rule.name}' added.")
    return redirect("lead_routing_setup")


@login_required
@require_POST
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    if not is_admin(request.user):
        raise Http404("No such page")
    try:
        rule = services.get_rule(request.user, rule_id)
    except NotVisible as exc:
        raise Http404("No such rule") from exc
    services.delete_rule(actor=request.user, rule=rule)
    messages.success(request, f"Rule '{rule.name}' removed.")
    return redirect("lead_routing_setup")


def _settings_data(post) -> tuple[dict, dict]:
    errors: dict[str, str] = {}
    hours: dict[str, list[list[str]]] = {}
    for day in WEEKDAYS:
        text = post.get(f"hours_{day}", "").strip()
        spans = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            match = SPAN.match(part)
            if match is None:
                errors[f"business_hours.{day}"] = f"'{part}': write spans as 09:00–17:00, separated by commas"
                break
            spans.append([match.group(1).zfill(5), match.group(2).zfill(5)])
        if spans:
            hours[day] = spans
    data = {"fallback_owner": post.get("fallback_owner") or None, "default_capacity": post.get("default_capacity", ""),
            "first_response_hours": post.get("first_response_hours", ""), "time_zone": post.get("time_zone", "").strip(),
            "business_hours": hours,
            "holidays": [d for d in re.split(r"[\s,]+", post.get("holidays", "")) if d]}
    return data, errors


@login_required
@require_POST
def settings_save(request: HttpRequest) -> HttpResponse:
    if not is_admin(request.user):
        raise Http404("No such page")
    data, errors = _settings_data(request.POST)
    try:
        if errors:
            raise ValidationFailed(errors)
        services.update_routing_settings(actor=request.user, data=data)
    except ValidationFailed as exc:
        days = [(d, DAY_NAMES[d], request.POST.get(f"hours_{d}", "")) for d in WEEKDAYS]
        return _page(request, status=422, settings_errors=exc.errors, days=days,
                     holidays_text=request.POST.get("holidays", ""))
    messages.success(request, "Routing settings saved.")
    return redirect("lead_routing_setup")


@login_required
@require_POST
def capacity_save(request: HttpRequest, user_id: int) -> HttpResponse:
    if not _may_open(request.user):
        raise Http404("No such page")
    seller = _sellers(request.user).filter(pk=user_id).first()
    if seller is None:
        raise Http404("No such seller")
    try:
        services.set_capacity(actor=request.user, user=seller, max_open_leads=request.POST.get("max_open_leads"),
                              accepts_leads=bool(request.POST.get("accepts_leads")))
    except (ValidationFailed, NotAllowed) as exc:
        messages.error(request, "; ".join(exc.errors.values()) if isinstance(exc, ValidationFailed) else str(exc))
        return redirect("lead_routing_setup")
    messages.success(request, f"Capacity of {seller.get_full_name() or seller.username} saved.")
    return redirect("lead_routing_setup")


urlpatterns = [
    path("leads/routing/", routing_setup, name="lead_routing_setup"),
    path("leads/routing/rules/new/", rule_create, name="lead_rule_create"),
    path("leads/routing/rules/<int:rule_id>/", rule_edit, name="lead_rule_edit"),
    path("leads/routing/rules/<int:rule_id>/delete/", rule_delete, name="lead_rule_delete"),
    path("leads/routing/settings/", settings_save, name="lead_routing_settings"),
    path("leads/routing/capacity/<int:user_id>/", capacity_save, name="lead_capacity_save"),
]
