"""/api/v1/leads: list, read, create (one or a batch, with an optional Idempotency-Key), edit,
qualify, convert, disqualify or nurture, reopen.

Thin: parse, call a selector or service, shape the reply. A lead the caller may not see
answers 404 exactly as a missing one does.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.http import JsonResponse
from ninja import Query, Router, Schema, Status
from pydantic import Field
from pydantic import ValidationError as SchemaError

from rapport.api.auth import actor_of
from rapport.api.schemas import InputSchema, Problem, ValidationProblem, reject_unknown_params
from rapport.core.errors import ValidationFailed
from rapport.sales.currencies import round_money

from .. import selectors, services
from ..services import idempotency

router = Router(tags=["leads"])

SOURCE = "api"
ERRORS = {401: Problem, 403: Problem, 404: Problem, 422: ValidationProblem}
CREATE_ERRORS = {**ERRORS, 409: Problem}
MAX_BATCH = 500


class ContactRef(InputSchema):
    """The person: an existing contact's `id`, or an `email` (found, or created with the names)."""

    id: int | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    job_title: str | None = None
    country: str | None = Field(None, description="Two-letter ISO code")


class CompanyRef(InputSchema):
    """An existing company's `id`, or a `domain` and/or `name` (found, or created)."""

    id: int | None = None
    name: str | None = None
    domain: str | None = None


class LeadFacts(InputSchema):
    title: str | None = None
    source: str | None = Field(None, description="web_form, tracking, import, api, referral, campaign, event, manual")
    campaign: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    owner: int | None = Field(None, description="User id; you may only assign users you are allowed to")
    budget_amount: Decimal | None = Field(None, description="Decimal string, 0 or more")
    budget_currency: str | None = Field(None, description="ISO 4217 code; default the base currency")
    budget_band: str | None = Field(None, description="under_1k, 1k_10k, 10k_50k, 50k_250k, over_250k")
    authority: str | None = Field(None, description="decision_maker, champion, user, finance, other")
    need_categories: list[int | str] | None = Field(None, description="Product category ids or names")
    need: str | None = Field(None, description="The need in the customer's words")
    timeline: str | None = Field(None, description="now, quarter, half_year, year, later")
    first_touch_at: dt.datetime | None = None


class LeadCreate(LeadFacts):
    contact: ContactRef
    company: CompanyRef | None = None


class LeadUpdate(LeadFacts):
    """Only the fields sent change. `status` may only move a lead between new and working."""

    status: str | None = None
    company: int | None = None


class BatchIn(InputSchema):
    items: list[dict[str, Any]] = Field(description=f"Up to {MAX_BATCH} leads, each shaped like POST /leads")


class CategoryOut(Schema):
    id: int
    name: str


class LeadOut(Schema):
    id: int
    contact: int
    contact_name: str
    contact_email: str | None
    company: int | None
    title: str
    source: str
    campaign: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    utm_term: str
    utm_content: str
    status: str
    owner: int | None
    team: int | None
    first_touch_at: dt.datetime
    first_response_at: dt.datetime | None
    response_due_at: dt.datetime | None
    qualified_at: dt.datetime | None
    converted_at: dt.datetime | None
    disqualified_at: dt.datetime | None
    budget_amount: str | None = Field(description="Decimal string with the currency's minor units")
    budget_currency: str
    budget_band: str
    authority: str
    need_categories: list[CategoryOut]
    need: str
    timeline: str
    disqualify_reason: str | None
    disqualify_note: str
    deal: int | None
    fit_score: int | None
    fit_details: dict | list
    engagement_score: float | None
    predicted_chance: float | None
    score: int | None
    score_reasons: list | dict
    assignment_reason: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_contact(obj) -> int:
        return obj.contact_id

    @staticmethod
    def resolve_contact_name(obj) -> str:
        return str(obj.contact)

    @staticmethod
    def resolve_contact_email(obj) -> str | None:
        return obj.contact.email

    @staticmethod
    def resolve_company(obj) -> int | None:
        return obj.company_id

    @staticmethod
    def resolve_owner(obj) -> int | None:
        return obj.owner_id

    @staticmethod
    def resolve_team(obj) -> int | None:
        return obj.team_id

    @staticmethod
    def resolve_deal(obj) -> int | None:
        return obj.deal_id

    @staticmethod
    def resolve_budget_amount(obj) -> str | None:
        if obj.budget_amount is None:
            return None
        return str(round_money(obj.budget_amount, obj.budget_currency or "EUR"))

    @staticmethod
    def resolve_need_categories(obj) -> list:
        return list(obj.need_categories.all())

    @staticmethod
    def resolve_disqualify_reason(obj) -> str | None:
        return obj.disqualify_reason.label if obj.disqualify_reason_id else None


class LeadPage(Schema):
    items: list[LeadOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last")


class LeadFilters(Schema):
    status: str | None = Field(None, description="Comma-separated: open, new, working, qualified, converted, "
                                                "disqualified, nurture")
    source: str | None = None
    campaign: str | None = None
    owner: str | None = Field(None, description="User id, or `none` for unassigned leads")
    contact: int | None = None
    score_min: int | None = None
    score_max: int | None = None
    created_from: dt.date | None = None
    created_to: dt.date | None = None
    q: str | None = Field(None, description="Contact name or e-mail prefix")
    sort: str | None = Field(None, description=", ".join(selectors.LEAD_SORTS))
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)


class ConvertIn(InputSchema):
    pipeline: int | None = Field(None, description="Pipeline id (default: the first)")
    stage: int | None = None
    name: str | None = Field(None, description="Default: the company (or contact) and the lead's title")
    amount: Decimal | None = Field(None, description="Default: the lead's budget")
    currency: str | None = Field(None, description="Default: the budget's currency")
    expected_close_date: dt.date | None = None


class DisqualifyIn(InputSchema):
    reason: int = Field(description="Reason id (GET /lead-disqualify-reasons)")
    note: str | None = None
    to_nurture: bool = Field(False, description="Send the lead to nurture instead of the bin")


class ReasonOut(Schema):
    id: int
    label: str


def _detail(actor, lead_id: int):
    return selectors.get_lead(actor, lead_id)


def _facts(payload) -> dict:
    return payload.model_dump(mode="json", exclude_unset=True)


def _create_one(actor, data: dict) -> Any:
    """Create one lead from an already-checked LeadCreate dump; returns the reply body."""
    contact_ref, company_ref = data.pop("contact"), data.pop("company", None)
    with transaction.atomic():
        contact, company = services.find_or_create_prospect(actor=actor, contact=contact_ref, company=company_ref,
                                                            source_label=SOURCE)
        lead = services.create_lead(actor=actor, contact=contact, company=company, data=data, source_label=SOURCE)
    return LeadOut.from_orm(selectors.lead_queryset(actor).filter(pk=lead.pk).first() or lead).model_dump(mode="json")


def _stored(reply: idempotency.Reply) -> JsonResponse:
    # The body is already the reply's JSON (kept for replays): sent as it is, not re-shaped.
    response = JsonResponse(reply.body, status=reply.status)
    if reply.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def _key(request) -> str | None:
    return idempotency.clean_key(request.headers.get("Idempotency-Key"))


@router.get("/lead-disqualify-reasons", response={200: list[ReasonOut], 401: Problem},
            operation_id="list_lead_disqualify_reasons")
def list_reasons(request):
    """The active reasons a lead may be disqualified or sent to nurture for."""
    return list(selectors.disqualify_reasons())


@router.get("/leads", response={200: LeadPage, 401: Problem, 422: ValidationProblem}, operation_id="list_leads")
def list_leads(request, filters: Query[LeadFilters]):
    """Leads you may see, newest first unless sorted otherwise."""
    reject_unknown_params(request, LeadFilters)
    params = filters.model_dump(exclude={"cursor", "limit"}, exclude_none=True)
    page = selectors.list_leads(actor_of(request), params, cursor=filters.cursor, size=filters.limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/leads", response={200: LeadOut, 201: LeadOut, **CREATE_ERRORS}, operation_id="create_lead")
def create_lead(request, payload: LeadCreate):
    """Create a lead. Send `Idempotency-Key: <unique string>` to make retries safe: the same key
    with the same body answers the first reply again (and creates nothing); the same key with
    another body answers 409."""
    actor = actor_of(request)
    try:
        reply = idempotency.once(user=actor, key=_key(request), endpoint="create", body=request.body,
                                 answer=lambda: (201, _create_one(actor, _facts(payload))))
    except idempotency.KeyReused as exc:
        return Status(409, {"detail": str(exc)})
    return _stored(reply)


def _schema_errors(exc: SchemaError) -> list[dict]:
    return [{"loc": [str(part) for part in e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]


def _service_errors(exc: ValidationFailed) -> list[dict]:
    return [{"loc": field.split("."), "msg": reason, "type": "value_error"} for field, reason in exc.errors.items()]


def _batch(actor, items: list[dict]) -> dict:
    results = []
    for index, item in enumerate(items):
        try:
            data = LeadCreate.model_validate(item).model_dump(mode="json", exclude_unset=True)
            results.append({"index": index, "status": 201, "lead": _create_one(actor, data), "errors": []})
        except SchemaError as exc:
            results.append({"index": index, "status": 422, "lead": None, "errors": _schema_errors(exc)})
        except ValidationFailed as exc:
            results.append({"index": index, "status": 422, "lead": None, "errors": _service_errors(exc)})
    created = sum(1 for r in results if r["status"] == 201)
    return {"created": created, "failed": len(results) - created, "results": results}


class BatchItemOut(Schema):
    index: int
    status: int = Field(description="201 created, 422 refused (see errors)")
    lead: LeadOut | None
    errors: list[dict]


class BatchOut(Schema):
    created: int
    failed: int
    results: list[BatchItemOut]


@router.post("/leads/batch", response={200: BatchOut, **CREATE_ERRORS}, operation_id="create_leads_batch")
def create_leads_batch(request, payload: BatchIn):
    """Create up to 500 leads. Each item is checked and created on its own: the reply lists every
    item by its index, with the lead or the reasons it was refused. Idempotency-Key works as for
    POST /leads (the whole batch is one request)."""
    if not payload.items:
        raise ValidationFailed({"items": "send at least one lead"})
    if len(payload.items) > MAX_BATCH:
        raise ValidationFailed({"items": f"at most {MAX_BATCH} leads per batch; split the rest into another"})
    actor = actor_of(request)
    try:
        reply = idempotency.once(user=actor, key=_key(request), endpoint="batch", body=request.body,
                                 answer=lambda: (200, _batch(actor, payload.items)))
    except idempotency.KeyReused as exc:
        return Status(409, {"detail": str(exc)})
    return _stored(reply)


@router.get("/leads/{lead_id}", response={200: LeadOut, **ERRORS}, operation_id="get_lead")
def get_lead(request, lead_id: int):
    return _detail(actor_of(request), lead_id)


@router.patch("/leads/{lead_id}", response={200: LeadOut, **ERRORS}, operation_id="update_lead")
def update_lead(request, lead_id: int, payload: LeadUpdate):
    actor = actor_of(request)
    lead = services.update_lead(actor=actor, lead=_detail(actor, lead_id), data=_facts(payload), source_label=SOURCE)
    return _detail(actor, lead.pk)


@router.post("/leads/{lead_id}/qualify", response={200: LeadOut, **ERRORS}, operation_id="qualify_lead")
def qualify_lead(request, lead_id: int, payload: LeadFacts | None = None):
    """Mark the lead sales-qualified; any facts sent are recorded at the same time."""
    actor = actor_of(request)
    lead = services.qualify_lead(actor=actor, lead=_detail(actor, lead_id),
                                 data=_facts(payload) if payload else None, source_label=SOURCE)
    return _detail(actor, lead.pk)


@router.post("/leads/{lead_id}/convert", response={200: LeadOut, **ERRORS}, operation_id="convert_lead")
def convert_lead(request, lead_id: int, payload: ConvertIn | None = None):
    """Create a deal from the lead (see `deal` in the reply) and mark the lead converted."""
    actor = actor_of(request)
    lead = services.convert_lead(actor=actor, lead=_detail(actor, lead_id),
                                 data=_facts(payload) if payload else None, source_label=SOURCE)
    return _detail(actor, lead.pk)


@router.post("/leads/{lead_id}/disqualify", response={200: LeadOut, **ERRORS}, operation_id="disqualify_lead")
def disqualify_lead(request, lead_id: int, payload: DisqualifyIn):
    actor = actor_of(request)
    lead = services.disqualify_lead(actor=actor, lead=_detail(actor, lead_id), reason=payload.reason,
                                    note=payload.note or "", to_nurture=payload.to_nurture, source_label=SOURCE)
    return _detail(actor, lead.pk)


@router.post("/leads/{lead_id}/reopen", response={200: LeadOut, **ERRORS}, operation_id="reopen_lead")
def reopen_lead(request, lead_id: int):
    actor = actor_of(request)
    lead = services.reopen_lead(actor=actor, lead=_detail(actor, lead_id), source_label=SOURCE)
    return _detail(actor, lead.pk)

