"""/api/v1/ endpoints for proposals (quotes): list by deal, read, make from a deal, make a new
version, send (which returns the customer's link) and download the PDF.

Thin: parse, call a selector or service, shape the reply. A proposal whose deal the caller may
not see answers 404 exactly as a missing one does. Money travels as decimal strings in the
currency's minor units; percentages as decimal strings.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import prefetch_related_objects
from django.http import HttpResponse
from django.urls import reverse
from ninja import Query, Router, Schema, Status
from pydantic import Field

from rapport.api.auth import actor_of
from rapport.api.schemas import InputSchema, Problem, ValidationProblem, reject_unknown_params
from rapport.core.errors import NotVisible, ValidationFailed

from ..currencies import round_money
from ..proposal_pdf import pdf_filename
from ..proposal_pdf import proposal_pdf as render_pdf
from ..selectors import deals as deal_selectors
from ..selectors import proposals as selectors
from ..services import proposals as services

router = Router(tags=["proposals"])

SOURCE = "api"
ERRORS = {401: Problem, 403: Problem, 404: Problem, 422: ValidationProblem}
LIST_ERRORS = {401: Problem, 422: ValidationProblem}


class ProposalTerms(InputSchema):
    discount_percent: Decimal | None = Field(None, description="Overall discount, 0-100 with at most 2 decimals")
    tax_percent: Decimal | None = Field(None, description="Tax on the discounted subtotal, 0-100, at most 2 decimals")
    valid_until: dt.date | None = Field(None, description="Last day the customer may accept (default: 30 days)")
    notes: str | None = Field(None, description="Shown to the customer on the page and the PDF")


class ProposalCreate(ProposalTerms):
    """A new proposal (version 1, the year's next number) from the deal's current line items."""

    deal: int = Field(description="Id of an open deal with line items")


class ProposalVersionCreate(ProposalTerms):
    """Terms left out are those of the version being replaced."""


class ProposalLineOut(Schema):
    product: int | None
    sku: str
    description: str
    quantity: str
    unit_price: str
    discount_percent: str
    line_total: str

    @staticmethod
    def resolve_product(obj) -> int | None:
        return obj.product_id

    @staticmethod
    def resolve_quantity(obj) -> str:
        return f"{obj.quantity.normalize():f}"

    @staticmethod
    def resolve_unit_price(obj) -> str:
        # The unit price keeps up to four decimals (price books may carry fractions of a cent).
        return f"{obj.unit_price.normalize():f}"

    @staticmethod
    def resolve_discount_percent(obj) -> str:
        return str(obj.discount_percent)

    @staticmethod
    def resolve_line_total(obj) -> str:
        return str(round_money(obj.line_total, obj.proposal.currency))


def _money(obj, name: str) -> str:
    return str(round_money(getattr(obj, name), obj.currency))


class ProposalOut(Schema):
    id: int
    deal: int
    number: str
    version: int
    status: str = Field(description="draft, sent, accepted, declined or superseded")
    expired: bool = Field(description="Past its valid_until without an answer")
    currency: str
    discount_percent: str
    tax_percent: str
    subtotal: str
    discount_total: str
    tax_total: str
    total: str
    valid_until: dt.date | None
    notes: str
    sent_at: dt.datetime | None
    responded_at: dt.datetime | None
    responder_name: str
    response_note: str
    customer_url: str | None = Field(description="The signed link to send the customer; null until sent")
    lines: list[ProposalLineOut]
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_deal(obj) -> int:
        return obj.deal_id

    @staticmethod
    def resolve_expired(obj) -> bool:
        return selectors.is_expired(obj)

    @staticmethod
    def resolve_discount_percent(obj) -> str:
        return str(obj.discount_percent)

    @staticmethod
    def resolve_tax_percent(obj) -> str:
        return str(obj.tax_percent)

    @staticmethod
    def resolve_subtotal(obj) -> str:
        return _money(obj, "subtotal")

    @staticmethod
    def resolve_discount_total(obj) -> str:
        return _money(obj, "discount_total")

    @staticmethod
    def resolve_tax_total(obj) -> str:
        return _money(obj, "tax_total")

    @staticmethod
    def resolve_total(obj) -> str:
        return _money(obj, "total")

    @staticmethod
    def resolve_customer_url(obj, context) -> str | None:
        # Only the current version's link opens; an old version's would only say "replaced".
        if not obj.link_secret or obj.status == "superseded":
            return None
        return context["request"].build_absolute_uri(reverse("proposal_public", args=[selectors.link_token(obj)]))

    @staticmethod
    def resolve_lines(obj) -> list:
        # .all() so a list's prefetch answers it.
        return list(obj.lines.all())


class ProposalPage(Schema):
    items: list[ProposalOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last")


class ProposalFilters(Schema):
    deal: int | None = Field(None, description="Deal id: that deal's proposals, every version")
    status: str | None = Field(None, description="draft, sent, accepted, declined or superseded")
    cursor: str | None = Field(None, description="next_cursor of the previous page")
    limit: int = Field(50, ge=1, le=200)


def _with_lines(proposals: list) -> list:
    prefetch_related_objects(proposals, "lines")
    for proposal in proposals:
        for line in proposal.lines.all():
            line.proposal = proposal
    return proposals


@router.get("/proposals", response={200: ProposalPage, **LIST_ERRORS}, operation_id="list_proposals")
def list_proposals(request, filters: Query[ProposalFilters]):
    """Proposals of deals you may see, newest first; `deal=` narrows to one deal's versions."""
    reject_unknown_params(request, ProposalFilters)
    page = selectors.list_proposals(actor_of(request), deal_id=filters.deal, status=filters.status,
                                    cursor=filters.cursor, size=filters.limit)
    return {"items": _with_lines(page.items), "next_cursor": page.next_cursor}


@router.get("/proposals/{proposal_id}", response={200: ProposalOut, **ERRORS}, operation_id="get_proposal")
def get_proposal(request, proposal_id: int):
    return _with_lines([selectors.get_proposal(actor_of(request), proposal_id)])[0]


def _terms(payload: ProposalTerms) -> dict:
    return payload.model_dump(exclude_unset=True, exclude={"deal"})


@router.post("/proposals", response={201: ProposalOut, **ERRORS}, operation_id="create_proposal")
def create_proposal(request, payload: ProposalCreate):
    """Make a draft proposal from an open deal's line items. Send it with POST /proposals/{id}/send."""
    actor = actor_of(request)
    try:
        deal = deal_selectors.get_deal(actor, payload.deal)
    except NotVisible:
        raise ValidationFailed({"deal": "no such deal"}) from None
    proposal = services.create_proposal(actor=actor, deal=deal, data=_terms(payload), source=SOURCE)
    return Status(201, _with_lines([proposal])[0])


@router.post("/proposals/{proposal_id}/versions", response={201: ProposalOut, **ERRORS},
             operation_id="create_proposal_version")
def create_proposal_version(request, proposal_id: int, payload: ProposalVersionCreate):
    """The next version: same number, the deal's line items as they are now; the replaced version
    becomes superseded and its customer link stops working."""
    actor = actor_of(request)
    previous = selectors.get_proposal(actor, proposal_id)
    proposal = services.create_proposal_version(actor=actor, proposal=previous, data=_terms(payload), source=SOURCE)
    return Status(201, _with_lines([proposal])[0])


@router.post("/proposals/{proposal_id}/send", response={200: ProposalOut, **ERRORS}, operation_id="send_proposal")
def send_proposal(request, proposal_id: int):
    """Mark the proposal sent and return its `customer_url`. Sending again makes a new link and the
    previous one stops working."""
    actor = actor_of(request)
    proposal = services.send_proposal(actor=actor, proposal=selectors.get_proposal(actor, proposal_id), source=SOURCE)
    return _with_lines([proposal])[0]


@router.get("/proposals/{proposal_id}/pdf", response={200: None, **ERRORS}, operation_id="get_proposal_pdf")
def proposal_pdf(request, proposal_id: int):
    """The proposal as an A4 PDF (application/pdf)."""
    proposal = selectors.get_proposal(actor_of(request), proposal_id)
    response = HttpResponse(render_pdf(proposal), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{pdf_filename(proposal)}"'
    return response
