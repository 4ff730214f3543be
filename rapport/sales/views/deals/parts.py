"""The forms on a deal's page: its contacts and their roles, line items, winning, losing, reopening.

Each posts to its own endpoint; success comes back to the deal page, a rejection re-renders the
page with the form's errors next to its fields (422).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from rapport.core.errors import ValidationFailed

from ...models import DealStatus
from ...selectors import deals as selectors
from ...selectors import products as product_selectors
from ...services import deals as services
from .forms import CloseForm, LineEditForm, LineItemForm
from .pages import get_deal_or_404, render_deal_page


def _back(deal, anchor: str = "") -> HttpResponse:
    return redirect(reverse("deal_detail", args=[deal.pk]) + (f"#{anchor}" if anchor else ""))


@login_required
@require_POST
def deal_contact_set(request: HttpRequest, deal_id: int) -> HttpResponse:
    """Add a contact with their role, or change the role of one already on the deal."""
    deal = get_deal_or_404(request, deal_id)
    try:
        link = services.set_deal_contact(actor=request.user, deal=deal, contact=request.POST.get("contact", ""),
                                         role=request.POST.get("role", ""))
    except ValidationFailed as exc:
        error = "; ".join(f"{field}: {reason}" for field, reason in exc.errors.items())
        return render_deal_page(request, deal, status=422, contact_error=error)
    messages.success(request, f"{link.contact} is on the deal as {link.get_role_display().lower()}.")
    return _back(deal, "deal-contacts")


@login_required
@require_POST
def deal_contact_remove(request: HttpRequest, deal_id: int, contact_id: int) -> HttpResponse:
    deal = get_deal_or_404(request, deal_id)
    try:
        services.remove_deal_contact(actor=request.user, deal=deal, contact_id=contact_id)
    except ValidationFailed as exc:
        return render_deal_page(request, deal, status=422, contact_error="; ".join(exc.errors.values()))
    messages.success(request, "Contact removed from the deal.")
    return _back(deal, "deal-contacts")


@login_required
@require_POST
def deal_line_add(request: HttpRequest, deal_id: int) -> HttpResponse:
    """A product from the price book (priced in the deal's currency unless a price is typed)
    or a custom item; the deal's amount becomes the sum of its lines."""
    deal = get_deal_or_404(request, deal_id)
    products = product_selectors.sellable_products(request.user, currency=deal.currency)
    form = LineItemForm(request.POST, products=products, currency=deal.currency)
    if form.is_valid():
        try:
            services.add_line_item(actor=request.user, deal=deal, data=form.service_data())
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Line item added.")
            return _back(deal, "line-items")
    return render_deal_page(request, deal, status=422, line_form=form)


@login_required
@require_POST
def deal_line_edit(request: HttpRequest, deal_id: int, item_id: int) -> HttpResponse:
    deal = get_deal_or_404(request, deal_id)
    form = LineEditForm(request.POST, prefix=f"line-{item_id}")
    if form.is_valid():
        try:
            services.update_line_item(actor=request.user, deal=deal, item_id=item_id, data=form.service_data())
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Line item saved.")
            return _back(deal, "line-items")
    return render_deal_page(request, deal, status=422, line_edit_forms={item_id: form})


@login_required
@require_POST
def deal_line_remove(request: HttpRequest, deal_id: int, item_id: int) -> HttpResponse:
    deal = get_deal_or_404(request, deal_id)
    try:
        services.remove_line_item(actor=request.user, deal=deal, item_id=item_id)
    except ValidationFailed as exc:
        messages.error(request, "; ".join(exc.errors.values()))
    else:
        messages.success(request, "Line item removed.")
    return _back(deal, "line-items")


def _close(request: HttpRequest, deal_id: int, outcome: str) -> HttpResponse:
    deal = get_deal_or_404(request, deal_id)
    prefix = "win" if outcome == DealStatus.WON else "lose"
    form = CloseForm(request.POST, reasons=selectors.close_reasons(outcome), prefix=prefix)
    if form.is_valid():
        try:
            if outcome == DealStatus.WON:
                closed = services.win_deal(actor=request.user, deal=deal, reason=form.cleaned_data["reason"],
                                           note=form.cleaned_data["note"])
            else:
                closed = services.lose_deal(actor=request.user, deal=deal, reason=form.cleaned_data["reason"],
                                            note=form.cleaned_data["note"])
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            _report_close(request, closed, outcome)
            return _back(deal)
    return render_deal_page(request, deal, status=422, **{f"{prefix}_form": form})


def _report_close(request: HttpRequest, deal, outcome: str) -> None:
    text = f"“{deal.name}” marked {outcome} ({deal.close_reason.label})."
    made = getattr(deal, "order", None)
    if outcome == DealStatus.WON and made is not None:
        order = getattr(made, "order", None)
        if order is not None and getattr(made, "created", False):
            text += " Its line items were recorded as the customer's order."
        elif getattr(made, "reason", ""):
            text += f" No order recorded: {made.reason}."
    messages.success(request, text)


@login_required
@require_POST
def deal_win(request: HttpRequest, deal_id: int) -> HttpResponse:
    return _close(request, deal_id, DealStatus.WON)


@login_required
@require_POST
def deal_lose(request: HttpRequest, deal_id: int) -> HttpResponse:
    return _close(request, deal_id, DealStatus.LOST)


@login_required
@require_POST
def deal_reopen(request: HttpRequest, deal_id: int) -> HttpResponse:
    deal = get_deal_or_404(request, deal_id)
    try:
        services.reopen_deal(actor=request.user, deal=deal)
    except ValidationFailed as exc:
        messages.error(request, "; ".join(exc.errors.values()))
    else:
        messages.success(request, f"“{deal.name}” is open again.")
    return _back(deal)
