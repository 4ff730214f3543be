"""Exchange-rate and cost-rate pages ("Sales settings"). Thin, like every page.

Every signed-in user may read the exchange rates reports convert with; admins add and remove
them. Cost rates are shown to admins and managers and set by admins.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from rapport.core.errors import NotAllowed, NotVisible, ValidationFailed
from rapport.core.models import Role

from ...currencies import CURRENCIES, base_currency, format_money
from ...selectors import rates as selectors
from ...selectors.products import may_manage_products
from ...services import rates as services
from .forms import CostRateForm, ExchangeRateForm


def _status(request: HttpRequest, form) -> int:
    return 422 if request.method == "POST" and form.errors else 200


@login_required
def product_exchange_rates(request: HttpRequest) -> HttpResponse:
    request.nav_section = "products"
    can_manage = selectors.may_manage_rates(request.user)
    form = ExchangeRateForm(request.POST or None, base=base_currency())
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied("Only admins set exchange rates.")
        if form.is_valid():
            try:
                rate = services.add_exchange_rate(actor=request.user, **form.cleaned_data)
            except ValidationFailed as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Rate added: 1 {rate.currency} = {format(rate.rate.normalize(), 'f')} "
                                          f"{base_currency()} from {rate.valid_from:%d %b %Y}.")
                return redirect("product_exchange_rates")
    currency = request.GET.get("currency", "")
    error = None
    try:
        page = selectors.list_exchange_rates(request.user, {"currency": currency}, cursor=request.GET.get("cursor"))
    except ValidationFailed as exc:
        page, error = None, exc.errors
    query = request.GET.copy()
    query.pop("cursor", None)
    return render(request, "sales/products/exchange_rates.html", {
        "form": form, "page": page, "error": error, "currency": currency, "base": base_currency(),
        "latest": selectors.latest_exchange_rates(request.user), "can_manage": can_manage,
        "currencies": CURRENCIES, "base_query": query.urlencode(), "is_keeper": may_manage_products(request.user),
        "changes": selectors.recent_rate_changes(request.user, "exchange", limit=10),
    }, status=_status(request, form))


@login_required
@require_POST
def product_exchange_rate_delete(request: HttpRequest, rate_id: int) -> HttpResponse:
    try:
        rate = selectors.get_exchange_rate(request.user, rate_id)
        services.delete_exchange_rate(actor=request.user, exchange_rate=rate)
    except NotVisible as exc:
        raise Http404("No such rate") from exc
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    messages.success(request, f"The {rate.currency} rate from {rate.valid_from:%d %b %Y} was deleted.")
    return redirect("product_exchange_rates")


@login_required
def product_cost_rates(request: HttpRequest) -> HttpResponse:
    request.nav_section = "products"
    try:
        rates = {rate.role: rate for rate in selectors.cost_rates(request.user)}
    except NotVisible as exc:
        raise Http404("No such page") from exc
    can_manage = selectors.may_manage_rates(request.user)
    form = CostRateForm(request.POST or None)
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied("Only admins set cost rates.")
        if form.is_valid():
            try:
                services.set_cost_rate(actor=request.user, **form.cleaned_data)
            except ValidationFailed as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Cost rate for {Role(form.cleaned_data['role']).label} saved.")
                return redirect("product_cost_rates")
    posted_role = form.data.get("role") if form.is_bound else None
    rows = []
    for value, label in Role.choices:
        rate = rates.get(value)
        # The role just posted keeps its typed values and errors; every other row shows its rate.
        row_form = form if value == posted_role else CostRateForm(initial={
            "role": value, "cost_per_hour": str(rate.cost_per_hour.normalize()) if rate else "",
            "currency": rate.currency if rate else base_currency()})
        rows.append({"role": value, "label": label, "rate": rate, "form": row_form,
                     "shown": format_money(rate.cost_per_hour, rate.currency) if rate else ""})
    return render(request, "sales/products/cost_rates.html", {
        "rows": rows, "can_manage": can_manage, "currencies": CURRENCIES, "form": form, "is_keeper": True,
        "changes": selectors.recent_rate_changes(request.user, "cost", limit=10),
    }, status=_status(request, form))


@login_required
@require_POST
def product_cost_rate_remove(request: HttpRequest) -> HttpResponse:
    try:
        services.remove_cost_rate(actor=request.user, role=request.POST.get("role", ""))
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except ValidationFailed as exc:
        messages.error(request, "Could not remove: " + "; ".join(exc.errors.values()))
    else:
        messages.success(request, "Cost rate removed.")
    return redirect("product_cost_rates")
