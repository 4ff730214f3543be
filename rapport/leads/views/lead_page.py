"""The lead page (facts, qualification checklist, scores, one-click qualify, convert, disqualify,
nurture, reopen), the new-lead form and the edit form.

Each action posts to its own endpoint; a refused one re-renders the lead page with the errors
beside the form that caused them.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from rapport.core.errors import NotAllowed, NotVisible, ValidationFailed
from rapport.core.selectors import assignable_users, audit_history
from rapport.people import selectors as people
from rapport.sales.currencies import round_money
from rapport.sales.selectors import deals as deal_selectors

from .. import selectors, services
from ..models import LeadStatus
from .lead_forms import LEAD_DATA_FIELDS, ConvertForm, DisqualifyForm, LeadFactsForm, NewLeadForm


def get_lead_or_404(request: HttpRequest, lead_id: int):
    try:
        return selectors.get_lead(request.user, lead_id)
    except NotVisible as exc:
        raise Http404("No such lead") from exc


def _convert_form(lead, data=None) -> ConvertForm:
    defaults = services.deal_defaults(lead)
    pipelines = list(deal_selectors.pipelines())
    return ConvertForm(data, pipelines=pipelines, initial={
        "pipeline": str(pipelines[0].pk) if pipelines else "", "name": defaults["name"],
        "amount": round_money(defaults["amount"], defaults["currency"]), "currency": defaults["currency"]})


def _reason_labels(items) -> list[str]:
    labels = []
    for item in items or []:
        if isinstance(item, dict):
            labels.append(str(item.get("text") or item.get("label") or item.get("reason") or item))
        else:
            labels.append(str(item))
    return labels


def render_lead_page(request: HttpRequest, lead, *, status: int = 200, **forms) -> HttpResponse:
    request.nav_section = "leads"
    reasons = list(selectors.disqualify_reasons())
    details = lead.fit_details if isinstance(lead.fit_details, dict) else {}
    context = {
        "lead": lead, "is_open": lead.is_open, "checklist": selectors.qualification_checklist(lead),
        "fit_met": details.get("met", []), "fit_missed": details.get("missed", []),
        "score_reasons": _reason_labels(lead.score_reasons),
        "convert_form": forms.get("convert_form") or _convert_form(lead),
        "disqualify_form": forms.get("disqualify_form") or DisqualifyForm(reasons=reasons),
        "action_error": forms.get("action_error"),
        "audit": audit_history(lead),
        "deal": deal_selectors.deal_queryset(request.user).filter(pk=lead.deal_id).first() if lead.deal_id else None,
    }
    return render(request, "leads/detail.html", context, status=status)


@login_required
def lead_detail(request: HttpRequest, lead_id: int) -> HttpResponse:
    return render_lead_page(request, get_lead_or_404(request, lead_id))


def _owners(request: HttpRequest, lead=None) -> list:
    owners = list(assignable_users(request.user))
    if lead is not None and lead.owner and lead.owner not in owners:
        owners.append(lead.owner)
    return owners


@login_required
def lead_create(request: HttpRequest) -> HttpResponse:
    request.nav_section = "leads"
    contact = None
    contact_id = request.POST.get("contact_id") or request.GET.get("contact")
    if contact_id:
        try:
            contact = people.get_contact(request.user, int(contact_id))
        except (NotVisible, ValueError) as exc:
            raise Http404("No such contact") from exc
    if request.method == "POST":
        form = NewLeadForm(request.POST, owners=_owners(request))
        if form.is_valid():
            try:
                lead = _create_from_form(request, form, contact)
            except ValidationFailed as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, "Lead created.")
                return redirect("lead_detail", lead.pk)
    else:
        form = NewLeadForm(owners=_owners(request), initial={"contact_id": contact.pk if contact else None})
    return render(request, "leads/form.html", {"form": form, "contact": contact, "lead": None},
                  status=400 if form.errors else 200)


def _create_from_form(request: HttpRequest, form: NewLeadForm, contact):
    data = form.service_data()
    if contact is not None:
        return services.create_lead(actor=request.user, contact=contact, data=data)
    company = {"name": form.cleaned_data["company_name"]} if form.cleaned_data["company_name"] else None
    person = {k: form.cleaned_data[k] for k in ("email", "first_name", "last_name") if form.cleaned_data[k]}
    from django.db import transaction

    with transaction.atomic():
        found, company = services.find_or_create_prospect(actor=request.user, contact=person, company=company,
                                                          source_label="web")
        return services.create_lead(actor=request.user, contact=found, company=company, data=data)


@login_required
def lead_edit(request: HttpRequest, lead_id: int) -> HttpResponse:
    request.nav_section = "leads"
    lead = get_lead_or_404(request, lead_id)
    if lead.status == LeadStatus.CONVERTED:
        messages.error(request, "This lead is converted; change its deal instead.")
        return redirect("lead_detail", lead.pk)
    if request.method == "POST":
        form = LeadFactsForm(request.POST, owners=_owners(request, lead))
        if form.is_valid():
            data = {k: form.cleaned_data[k] for k in LEAD_DATA_FIELDS}
            if data["owner"] is None and lead.owner_id is None:
                data.pop("owner")
            try:
                services.update_lead(actor=request.user, lead=lead, data=data)
            except ValidationFailed as exc:
                form.add_service_errors(exc)
            except NotAllowed as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "Lead saved.")
                return redirect("lead_detail", lead.pk)
    else:
        form = LeadFactsForm(owners=_owners(request, lead), initial={
            **{k: getattr(lead, k) for k in LEAD_DATA_FIELDS if k not in ("owner", "need_categories",
                                                                          "budget_amount")},
            "owner": lead.owner_id, "need_categories": [str(c.pk) for c in lead.need_categories.all()],
            "budget_amount": (round_money(lead.budget_amount, lead.budget_currency or "EUR")
                              if lead.budget_amount is not None else ""),
        })
    return render(request, "leads/form.html", {"form": form, "lead": lead, "contact": lead.contact},
                  status=400 if form.errors else 200)


@login_required
@require_POST
def lead_qualify(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = get_lead_or_404(request, lead_id)
    try:
        services.qualify_lead(actor=request.user, lead=lead)
    except (NotAllowed, ValidationFailed) as exc:
        return render_lead_page(request, lead, status=400, action_error=_message(exc))
    messages.success(request, "Lead qualified. Convert it to a deal when the seller takes it on.")
    return redirect("lead_detail", lead.pk)


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationFailed):
        return "; ".join(f"{field.replace('_', ' ')}: {reason}" for field, reason in exc.errors.items())
    return str(exc)


@login_required
@require_POST
def lead_convert(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = get_lead_or_404(request, lead_id)
    form = _convert_form(lead, request.POST)
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
        try:
            lead = services.convert_lead(actor=request.user, lead=lead, data=data)
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        except NotAllowed as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Lead converted. Here is its deal.")
            return redirect("deal_detail", lead.deal_id)
    return render_lead_page(request, lead, status=400, convert_form=form)


def _drop(request: HttpRequest, lead_id: int, *, to_nurture: bool) -> HttpResponse:
    lead = get_lead_or_404(request, lead_id)
    form = DisqualifyForm(request.POST, reasons=list(selectors.disqualify_reasons()))
    if form.is_valid():
        try:
            services.disqualify_lead(actor=request.user, lead=lead, reason=form.cleaned_data["reason"],
                                     note=form.cleaned_data["note"], to_nurture=to_nurture)
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        except NotAllowed as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Lead sent to nurture." if to_nurture else "Lead disqualified.")
            return redirect("lead_detail", lead.pk)
    return render_lead_page(request, lead, status=400, disqualify_form=form)


@login_required
@require_POST
def lead_disqualify(request: HttpRequest, lead_id: int) -> HttpResponse:
    return _drop(request, lead_id, to_nurture=request.POST.get("to_nurture") == "1")


@login_required
@require_POST
def lead_reopen(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = get_lead_or_404(request, lead_id)
    try:
        services.reopen_lead(actor=request.user, lead=lead)
    except NotAllowed as exc:
        return render_lead_page(request, lead, status=400, action_error=str(exc))
    messages.success(request, "Lead reopened.")
    return redirect(reverse("lead_detail", args=[lead.pk]))


@login_required
def contact_leads(request: HttpRequest, contact_id: int) -> HttpResponse:
    """The contact page's Leads card (loaded by htmx): only leads the user may see."""
    try:
        contact = people.get_contact(request.user, contact_id)
    except NotVisible as exc:
        raise Http404("No such contact") from exc
    return render(request, "leads/_contact_leads.html",
                  {"contact": contact, "leads": selectors.leads_of_contact(request.user, contact)})
