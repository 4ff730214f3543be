"""Pages for orders: thin views over the orders services and selectors."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from rapport.core.errors import NotAllowed, NotVisible, ValidationFailed
from rapport.core.pagination import capped_count, keyset_page
from rapport.core.selectors import audit_history

from ..models import OrderChannel
from ..selectors import orders as selectors
from ..services import orders as services

FILTERS = ("contact", "company", "ordered_from", "ordered_to", "channel", "category")


def _page_size(request: HttpRequest) -> int:
    try:
        return max(10, min(200, int(request.GET.get("size", 50))))
    except ValueError:
        return 50


@login_required
def order_list(request: HttpRequest) -> HttpResponse:
    request.nav_section = "orders"
    params = {name: request.GET.get(name, "").strip() for name in FILTERS}
    error = None
    try:
        page = selectors.list_orders(request.user, params, cursor=request.GET.get("cursor"), size=_page_size(request))
        total, more = capped_count(selectors.filter_orders(request.user, params))
    except (ValidationFailed, DjangoValidationError) as exc:
        page, total, more = None, 0, False
        error = exc.errors if isinstance(exc, ValidationFailed) else {"cursor": "this page link is damaged"}
    query = request.GET.copy()
    query.pop("cursor", None)
    return render(request, "sales/orders/order_list.html", {
        "page": page, "params": params, "error": error, "total": total, "more": more,
        "channels": OrderChannel.choices, "categories": selectors.categories(),
        "filtered": any(params.values()), "base_query": query.urlencode(),
    })


def _get_order(request: HttpRequest, order_id: int):
    try:
        return selectors.get_order(request.user, order_id)
    except NotVisible as exc:
        raise Http404("No such order") from exc


@login_required
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    request.nav_section = "orders"
    order = _get_order(request, order_id)
    return render(request, "sales/orders/order_detail.html", {
        "order": order, "lines": list(order.lines.all()), "audit": audit_history(order)})


@login_required
@require_POST
def order_delete(request: HttpRequest, order_id: int) -> HttpResponse:
    order = _get_order(request, order_id)
    services.delete_order(actor=request.user, order=order)
    messages.success(request, f"{order} moved to the trash. You can restore it from Deleted orders.")
    return redirect("order_list")


@login_required
def order_trash(request: HttpRequest) -> HttpResponse:
    request.nav_section = "orders"
    try:
        page = keyset_page(selectors.trashed_orders(request.user).select_related("contact", "company"),
                           order="-deleted_at", cursor=request.GET.get("cursor"), size=50)
    except ValidationFailed:
        raise Http404("No such page") from None
    return render(request, "sales/orders/order_trash.html", {"page": page})


@login_required
@require_POST
def order_restore(request: HttpRequest, order_id: int) -> HttpResponse:
    try:
        order = services.restore_order(actor=request.user, order_id=order_id)
    except NotAllowed as exc:
        raise Http404("No such order in the trash") from exc
    messages.success(request, f"{order} restored.")
    return redirect("order_detail", order_id=order.pk)


urlpatterns = [
    path("orders/", order_list, name="order_list"),
    path("orders/deleted/", order_trash, name="order_trash"),
    path("orders/<int:order_id>/", order_detail, name="order_detail"),
    path("orders/<int:order_id>/delete/", order_delete, name="order_delete"),
    path("orders/<int:order_id>/restore/", order_restore, name="order_restore"),
]
