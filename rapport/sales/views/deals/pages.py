"""The deal page, the deal form (new and edit), trash and restore, and logging an activity on a deal.

Forms on the deal page (contacts, line items, win/lose) post to their own endpoints in
`parts.py`; a rejected one re-renders this page with its errors through `render_deal_page`.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from rapport.core.errors import NotAllowed, NotVisible, ValidationFailed
from rapport.core.selectors import assignable_users, audit_history
from rapport.people import selectors as people
from rapport.people import services as people_services
from rapport.timeline.forms import ActivityForm
from rapport.timeline.models import EventKind

from ... import currencies
from ...models import DealRole, DealStatus
from ...selectors import deals as selectors
from ...selectors import products as product_selectors
from ...services import deals as services
from .forms import CloseForm, DealForm, LineEditForm, LineItemForm

CONTACT_CANDIDATES = 8


def get_deal_or_404(request: HttpRequest, deal_id: int):
    try:
        return selectors.get_deal(request.user, deal_id)
    except NotVisible as exc:
        raise Http404("No such deal") from exc


def _timeline(request: HttpRequest, deal):
    kind = request.GET.get("kind") or None
    try:
        page = selectors.deal_timeline(request.user, deal.pk, kind=kind, cursor=request.GET.get("cursor") or None)
    except ValidationFailed:
        raise Http404("No such timeline page") from None
    return page, kind or ""


def _contact_candidates(request: HttpRequest, deal, on_deal: set[int]) -> tuple[str, list]:
    """Contacts to add: those matching ?contact_q=, else the deal's company's people."""
    q = request.GET.get("contact_q", "").strip()
    if q:
        found = people.list_contacts(request.user, {"q": q}, size=CONTACT_CANDIDATES).items
    elif deal.company_id:
        found = people.company_contacts(request.user, deal.company, limit=CONTACT_CANDIDATES + len(on_deal))
    else:
        found = []
    return q, [c for c in found if c.pk not in on_deal][:CONTACT_CANDIDATES]


def render_deal_page(request: HttpRequest, deal, *, status: int = 200, **forms) -> HttpResponse:
    """The whole deal page; `forms` replaces a section's empty form with a bound one showing errors."""
    request.nav_section = "deals"
    deal_contacts = selectors.deal_contacts(deal)
    on_deal = {link.contact_id for link in deal_contacts}
    contact_q, candidates = _contact_candidates(request, deal, on_deal)
    if request.htmx and request.htmx.target == "contact-candidates":
        return render(request, "sales/deals/_contact_candidates.html", {
            "deal": deal, "candidates": candidates, "contact_q": contact_q, "roles": DealRole.choices})
    timeline, kind = _timeline(request, deal)
    context = {"deal": deal, "timeline": timeline, "kind": kind, "kinds": EventKind.choices,
               "timeline_url": reverse("deal_detail", args=[deal.pk]), "show_contact": True}
    if request.htmx and request.htmx.target == "timeline-panel":
        return render(request, "timeline/_timeline.html", context)
    if request.htmx and request.htmx.target == "timeline-more":
        return render(request, "timeline/_events.html", context)
    is_open = deal.status == DealStatus.OPEN
    products = product_selectors.sellable_products(request.user, currency=deal.currency) if is_open else []
    lines = selectors.line_items(deal)
    context.update({
        "stalled": selectors.is_stalled(deal), "stages": selectors.stages_of(deal.pipeline),
        "probability_is_default": deal.probability is None and is_open,
        "minutes": selectors.deal_minutes(deal), "audit": audit_history(deal),
        "deal_contacts": deal_contacts, "roles": DealRole.choices, "candidates": candidates, "contact_q": contact_q,
        "lines": [(item, currencies.round_money(services.line_total(item), deal.currency),
                   forms.get("line_edit_forms", {}).get(item.pk) or _line_edit_form(item, deal.currency))
                  for item in lines],
        "line_form": forms.get("line_form") or LineItemForm(products=products, currency=deal.currency),
        "win_form": forms.get("win_form") or CloseForm(reasons=selectors.close_reasons(DealStatus.WON), prefix="win"),
        "lose_form": forms.get("lose_form") or CloseForm(reasons=selectors.close_reasons(DealStatus.LOST), prefix="lose"),
        "activity_form": forms.get("activity_form") or ActivityForm(),
        "log_url": reverse("deal_log_activity", args=[deal.pk]), "is_open": is_open,
        "contact_error": forms.get("contact_error"), "back_here": reverse("deal_detail", args=[deal.pk]),
        "now": timezone.now(),
    })
    return render(request, "sales/deals/detail.html", context, status=status)


def _line_edit_form(item, currency: str) -> LineEditForm:
    return LineEditForm(prefix=f"line-{item.pk}", initial={
        "description": item.description, "quantity": f"{item.quantity.normalize():f}",
        "unit_price": currencies.round_money(item.unit_price, currency),
        "discount_percent": f"{item.discount_percent.normalize():f}",
    })


@login_required
def deal_detail(request: HttpRequest, deal_id: int) -> HttpResponse:
    return render_deal_page(request, get_deal_or_404(request, deal_id))


def _deal_form(request: HttpRequest, *, deal=None, data=None) -> DealForm:
    pipelines = selectors.pipelines_with_stages()
    owners = list(assignable_users(request.user))
    if deal is not None:
        if deal.owner and deal.owner not in owners:
            owners.append(deal.owner)
        initial = {
            "name": deal.name, "company_name": deal.company.name if deal.company else "",
            "pipeline": str(deal.pipeline_id), "stage": str(deal.stage_id), "owner": deal.owner_id,
            "amount": currencies.round_money(deal.amount, deal.currency), "currency": deal.currency,
            "expected_close_date": deal.expected_close_date.isoformat() if deal.expected_close_date else "",
            "probability": "" if deal.probability is None else deal.probability, "source": deal.source,
            "next_step": deal.next_step,
            "next_step_date": deal.next_step_date.isoformat() if deal.next_step_date else "",
        }
        locked = bool(selectors.line_items(deal))
    else:
        pipeline = request.GET.get("pipeline") or (str(pipelines[0].pk) if pipelines else "")
        initial = {"owner": request.user.pk, "currency": currencies.base_currency(), "pipeline": pipeline}
        company_id = request.GET.get("company", "")
        if company_id.isdigit():
            try:
                initial["company_name"] = people.get_company(request.user, int(company_id)).name
            except NotVisible:
                pass
        locked = False
    return DealForm(data, initial=initial, pipelines=pipelines, owners=owners, amount_locked=locked)


def _form_page(request, form, deal, *, status: int = 200) -> HttpResponse:
    request.nav_section = "deals"
    return render(request, "sales/deals/form.html", {
        "form": form, "deal": deal, "currencies": list(currencies.CURRENCIES)}, status=status)


def _save(request: HttpRequest, form: DealForm, deal=None):
    """Create or change the deal; a new company name creates the company in the same
    transaction, so a rejected deal leaves no stray company behind."""
    data = form.service_data()
    try:
        with transaction.atomic():
            data["company"] = people_services.company_named(actor=request.user, name=form.cleaned_data["company_name"])
            if deal is None:
                return services.create_deal(actor=request.user, data=data)
            if data.get("owner") == deal.owner_id:
                data.pop("owner")
            return services.update_deal(actor=request.user, deal=deal, data=data)
    except ValidationFailed as exc:
        form.add_service_errors(exc)
        return None


@login_required
def deal_create(request: HttpRequest) -> HttpResponse:
    form = _deal_form(request, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        deal = _save(request, form)
        if deal is not None:
            messages.success(request, f"Deal “{deal.name}” created.")
            return redirect("deal_detail", deal_id=deal.pk)
    return _form_page(request, form, None, status=422 if request.method == "POST" else 200)


@login_required
def deal_edit(request: HttpRequest, deal_id: int) -> HttpResponse:
    deal = get_deal_or_404(request, deal_id)
    form = _deal_form(request, deal=deal, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        saved = _save(request, form, deal)
        if saved is not None:
            messages.success(request, "Changes saved.")
            return redirect("deal_detail", deal_id=deal.pk)
    return _form_page(request, form, deal, status=422 if request.method == "POST" else 200)


@login_required
@require_POST
def deal_delete(request: HttpRequest, deal_id: int) -> HttpResponse:
    deal = get_deal_or_404(request, deal_id)
    services.delete_deal(actor=request.user, deal=deal)
    messages.success(request, f"“{deal.name}” moved to the trash. You can restore it from the Trash page.")
    return redirect("deal_board", pipeline_id=deal.pipeline_id)


@login_required
@require_POST
def deal_restore(request: HttpRequest, deal_id: int) -> HttpResponse:
    try:
        deal = services.restore_deal(actor=request.user, deal_id=deal_id)
    except NotAllowed as exc:
        raise Http404("No such deal in the trash") from exc
    messages.success(request, f"“{deal.name}” restored.")
    return redirect("deal_detail", deal_id=deal.pk)


@login_required
@require_POST
def deal_log_activity(request: HttpRequest, deal_id: int) -> HttpResponse:
    """Log a call, meeting, note or e-mail on the deal: inline with htmx, else post and come back."""
    deal = get_deal_or_404(request, deal_id)
    form = ActivityForm(request.POST)
    activity = None
    if form.is_valid():
        try:
            activity = services.log_deal_activity(actor=request.user, deal=deal, data=form.service_data())
        except ValidationFailed as exc:
            form.add_service_errors(exc)
    log_url = reverse("deal_log_activity", args=[deal.pk])
    if not request.htmx:
        if activity is None:
            return render_deal_page(request, deal, status=422, activity_form=form)
        messages.success(request, "Activity logged.")
        return redirect("deal_detail", deal_id=deal.pk)
    if activity is None:
        response = render(request, "timeline/_log_form.html", {"activity_form": form, "log_url": log_url})
        response["HX-Retarget"] = "#log-activity"
        response["HX-Reswap"] = "outerHTML"
        return response
    event = activity.events.select_related("actor", "contact").first()
    return render(request, "sales/deals/_logged.html", {
        "event": event, "activity_form": ActivityForm(), "log_url": log_url, "show_contact": True,
        "minutes": selectors.deal_minutes(deal),
    })

