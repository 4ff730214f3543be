"""Pages for proposals: the seller's pages (make, revise, send, download) and the customer's
page behind the signed link (read, accept or decline, download), which needs no login.

Thin: each view calls one selector or service and renders. The customer's forms are ordinary
CSRF-protected posts; the page sets the CSRF cookie itself, so a browser that has never seen
Rapport can answer.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_POST

from rapport.core.errors import NotVisible, ValidationFailed
from rapport.core.selectors import audit_history

from ..models import DealStatus, ProposalStatus
from ..proposal_pdf import pdf_filename
from ..proposal_pdf import proposal_pdf as render_pdf
from ..selectors import deals as deal_selectors
from ..selectors import proposals as selectors
from ..services import proposals as services

FORM_FIELDS = ("discount_percent", "tax_percent", "valid_until", "notes")


def _deal_or_404(request: HttpRequest, deal_id: int):
    try:
        return deal_selectors.get_deal(request.user, deal_id)
    except NotVisible as exc:
        raise Http404("No such deal") from exc


def _proposal_or_404(request: HttpRequest, proposal_id: int):
    try:
        return selectors.get_proposal(request.user, proposal_id)
    except NotVisible as exc:
        raise Http404("No such proposal") from exc


def customer_url(request: HttpRequest, proposal) -> str:
    """The absolute customer link of a sent proposal ("" for a draft)."""
    if not proposal.link_secret:
        return ""
    return request.build_absolute_uri(reverse("proposal_public", args=[selectors.link_token(proposal)]))


def _form_values(request: HttpRequest) -> dict[str, str]:
    return {name: request.POST.get(name, "") for name in FORM_FIELDS}


def _render_form(request, *, deal, values, errors=None, previous=None, status=200) -> HttpResponse:
    request.nav_section = "deals"
    return render(request, "sales/proposals/form.html", {
        "deal": deal, "values": values, "errors": errors or {}, "previous": previous,
        "lines": deal_selectors.line_items(deal),
    }, status=status)


@login_required
def proposal_create(request: HttpRequest, deal_id: int) -> HttpResponse:
    """GET: the form (discount, tax, valid until, notes); POST: make the proposal."""
    deal = _deal_or_404(request, deal_id)
    if request.method != "POST":
        return _render_form(request, deal=deal, values={"discount_percent": "0", "tax_percent": "0"})
    values = _form_values(request)
    try:
        proposal = services.create_proposal(actor=request.user, deal=deal, data=values)
    except ValidationFailed as exc:
        return _render_form(request, deal=deal, values=values, errors=exc.errors, status=422)
    messages.success(request, f"Proposal {proposal.number} created. Check it, then send it to the customer.")
    return redirect("proposal_detail", proposal_id=proposal.pk)


@login_required
def proposal_revise(request: HttpRequest, proposal_id: int) -> HttpResponse:
    """GET: the form, filled with the current version's terms; POST: make the next version."""
    previous = _proposal_or_404(request, proposal_id)
    if request.method != "POST":
        values = {"discount_percent": f"{previous.discount_percent.normalize():f}",
                  "tax_percent": f"{previous.tax_percent.normalize():f}",
                  "valid_until": previous.valid_until.isoformat() if previous.valid_until else "",
                  "notes": previous.notes}
        return _render_form(request, deal=previous.deal, values=values, previous=previous)
    values = _form_values(request)
    try:
        proposal = services.create_proposal_version(actor=request.user, proposal=previous, data=values)
    except ValidationFailed as exc:
        return _render_form(request, deal=previous.deal, values=values, errors=exc.errors, previous=previous,
                            status=422)
    messages.success(request, f"Version {proposal.version} of {proposal.number} created; "
                              f"version {previous.version} is superseded and its link no longer works.")
    return redirect("proposal_detail", proposal_id=proposal.pk)


@login_required
def proposal_detail(request: HttpRequest, proposal_id: int) -> HttpResponse:
    request.nav_section = "deals"
    proposal = _proposal_or_404(request, proposal_id)
    return render(request, "sales/proposals/detail.html", {
        "proposal": proposal, "deal": proposal.deal, "lines": selectors.proposal_lines(proposal),
        "versions": [p for p in selectors.proposals_of_deal(proposal.deal) if p.number == proposal.number],
        "customer_url": customer_url(request, proposal), "expired": selectors.is_expired(proposal),
        "addressee": selectors.addressee(proposal.deal), "audit": audit_history(proposal),
        "orders": selectors.orders_of_deal(request.user, proposal.deal),
        "may_send": proposal.status in (ProposalStatus.DRAFT, ProposalStatus.SENT)
        and proposal.deal.status == DealStatus.OPEN,
        "may_revise": proposal.status not in (ProposalStatus.SUPERSEDED, ProposalStatus.ACCEPTED)
        and proposal.deal.status == DealStatus.OPEN,
    })


@login_required
@require_POST
def proposal_send(request: HttpRequest, proposal_id: int) -> HttpResponse:
    proposal = _proposal_or_404(request, proposal_id)
    try:
        resent = proposal.status == ProposalStatus.SENT
        proposal = services.send_proposal(actor=request.user, proposal=proposal)
    except ValidationFailed as exc:
        messages.error(request, "Not sent: " + "; ".join(exc.errors.values()))
        return redirect("proposal_detail", proposal_id=proposal.pk)
    messages.success(request, "A new customer link was made; the old one no longer works." if resent else
                     "Proposal marked as sent. Copy the customer link below into your message.")
    return redirect("proposal_detail", proposal_id=proposal.pk)


def _pdf_response(proposal, *, attachment: bool) -> HttpResponse:
    response = HttpResponse(render_pdf(proposal), content_type="application/pdf")
    disposition = "attachment" if attachment else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{pdf_filename(proposal)}"'
    return response


@login_required
def proposal_pdf(request: HttpRequest, proposal_id: int) -> HttpResponse:
    return _pdf_response(_proposal_or_404(request, proposal_id), attachment=True)


# --- the customer's side (no login) -------------------------------------------------------------

def _gone(request: HttpRequest, reason: str, status: int) -> HttpResponse:
    response = render(request, "sales/proposals/public_gone.html",
                      {"reason": reason, "seller_company": settings.RAPPORT_COMPANY_NAME}, status=status)
    response["X-Robots-Tag"] = "noindex"
    return response


def _invalid(request: HttpRequest) -> HttpResponse:
    return _gone(request, "This link is not valid. Please check that you copied the whole link from your "
                          "message.", 404)


def _public_page(request: HttpRequest, token: str, proposal, *, errors=None, values=None, notice="",
                 status=200) -> HttpResponse:
    view = selectors.customer_view(proposal, seller_company=settings.RAPPORT_COMPANY_NAME)
    response = render(request, "sales/proposals/public.html", {
        "view": view, "proposal": proposal, "token": token, "errors": errors or {}, "values": values or {},
        "notice": notice, "seller_company": view.seller_company,
    }, status=status)
    response["X-Robots-Tag"] = "noindex"
    return response


@never_cache
@ensure_csrf_cookie
def proposal_public(request: HttpRequest, token: str) -> HttpResponse:
    try:
        proposal = selectors.proposal_for_link(token)
    except selectors.LinkInvalid:
        return _invalid(request)
    except selectors.LinkGone as exc:
        return _gone(request, exc.reason, 410)
    return _public_page(request, token, proposal)


def _answer(request: HttpRequest, token: str, answer) -> HttpResponse:
    values = {"name": request.POST.get("name", ""), "note": request.POST.get("note", "")}
    try:
        answer(token=token, name=values["name"], note=values["note"])
    except selectors.LinkInvalid:
        return _invalid(request)
    except selectors.LinkGone as exc:
        # Answered or expired: the page still opens and says so; anything else is gone for good.
        try:
            proposal = selectors.proposal_for_link(token)
        except (selectors.LinkInvalid, selectors.LinkGone):
            return _gone(request, exc.reason, 410)
        status = 409 if proposal.status in selectors.ANSWERED else 410
        return _public_page(request, token, proposal, notice=exc.reason, status=status)
    except ValidationFailed as exc:
        proposal = selectors.proposal_for_link(token)
        return _public_page(request, token, proposal, errors=exc.errors, values=values, status=422)
    return redirect("proposal_public", token=token)


@never_cache
@require_POST
def proposal_public_accept(request: HttpRequest, token: str) -> HttpResponse:
    return _answer(request, token, services.accept_proposal)


@never_cache
@require_POST
def proposal_public_decline(request: HttpRequest, token: str) -> HttpResponse:
    return _answer(request, token, services.decline_proposal)


@never_cache
def proposal_public_pdf(request: HttpRequest, token: str) -> HttpResponse:
    try:
        proposal = selectors.proposal_for_link(token)
    except selectors.LinkInvalid:
        return _invalid(request)
    except selectors.LinkGone as exc:
        return _gone(request, exc.reason, 410)
    response = _pdf_response(proposal, attachment=False)
    response["X-Robots-Tag"] = "noindex"
    return response


urlpatterns = [
    path("deals/<int:deal_id>/proposals/new/", proposal_create, name="proposal_create"),
    path("proposals/<int:proposal_id>/", proposal_detail, name="proposal_detail"),
    path("proposals/<int:proposal_id>/revise/", proposal_revise, name="proposal_revise"),
    path("proposals/<int:proposal_id>/send/", proposal_send, name="proposal_send"),
    path("proposals/<int:proposal_id>/pdf/", proposal_pdf, name="proposal_pdf"),
    path("p/<str:token>/", proposal_public, name="proposal_public"),
    path("p/<str:token>/accept/", proposal_public_accept, name="proposal_public_accept"),
    path("p/<str:token>/decline/", proposal_public_decline, name="proposal_public_decline"),
    path("p/<str:token>/pdf/", proposal_public_pdf, name="proposal_public_pdf"),
]
