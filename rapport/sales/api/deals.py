"""/api/v1/ endpoints for pipelines, stages, close reasons and deals.

Thin: parse, call a selector or service, shape the reply. A deal the caller may not see
answers 404 exactly as a missing one does. Money travels as decimal strings with its currency.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Query, Router, Schema, Status
from pydantic import Field

from rapport.api.auth import actor_of
from rapport.api.schemas import InputSchema, Problem, ValidationProblem, reject_unknown_params
from rapport.core.errors import NotVisible

from ..currencies import round_money
from ..models import DealRole, DealStatus
from ..selectors import deals as selectors
from ..services import deals as services
from ..services import pipelines as pipeline_services

router = Router(tags=["deals"])

SOURCE = "api"
ERRORS = {401: Problem, 403: Problem, 404: Problem, 422: ValidationProblem}
LIST_ERRORS = {401: Problem, 422: ValidationProblem}


# --- pipelines ----------------------------------------------------------------------------

class StageOut(Schema):
    id: int
    name: str
    position: int
    probability: int = Field(description="Default win probability (%) of deals in this stage")


class PipelineOut(Schema):
    id: int
    name: str
    kind: str
    position: int
    stall_days: int
    stages: list[StageOut]

    @staticmethod
    def resolve_stages(obj) -> list:
        return sorted(obj.stages.all(), key=lambda s: (s.position, s.pk))


class PipelineIn(InputSchema):
    name: str | None = None
    kind: str | None = Field(None, description="new_business, renewal or upsell")
    stall_days: int | None = Field(None, description="Days without activity before an open deal is flagged")


class StageIn(InputSchema):
    name: str | None = None
    probability: int | None = None


class StageOrder(InputSchema):
    stages: list[int] = Field(description="Every stage id of the pipeline, in the new order")


class CloseReasonOut(Schema):
    id: int
    outcome: str
    label: str
    active: bool


@router.get("/pipelines", response={200: list[PipelineOut], 401: Problem}, operation_id="list_pipelines")
def list_pipelines(request):
    """Pipelines with their stages in order. Every signed-in user may read them."""
    return list(selectors.pipelines().prefetch_related("stages"))


@router.post("/pipelines", response={201: PipelineOut, **ERRORS}, operation_id="create_pipeline")
def create_pipeline(request, payload: PipelineIn):
    """Admins only. Add stages with POST /pipelines/{id}/stages."""
    pipeline = pipeline_services.create_pipeline(actor=actor_of(request), source=SOURCE,
                                                 data=payload.model_dump(exclude_unset=True))
    return Status(201, pipeline)


@router.patch("/pipelines/{pipeline_id}", response={200: PipelineOut, **ERRORS}, operation_id="update_pipeline")
def update_pipeline(request, pipeline_id: int, payload: PipelineIn):
    return pipeline_services.update_pipeline(actor=actor_of(request), pipeline=selectors.get_pipeline(pipeline_id),
                                             data=payload.model_dump(exclude_unset=True), source=SOURCE)


@router.post("/pipelines/{pipeline_id}/stages", response={201: StageOut, **ERRORS}, operation_id="add_stage")
def add_stage(request, pipeline_id: int, payload: StageIn):
    stage = pipeline_services.add_stage(actor=actor_of(request), pipeline=selectors.get_pipeline(pipeline_id),
                                        data=payload.model_dump(exclude_unset=True), source=SOURCE)
    return Status(201, stage)


@router.put("/pipelines/{pipeline_id}/stage-order", response={200: list[StageOut], **ERRORS},
            operation_id="reorder_stages")
def reorder_stages(request, pipeline_id: int, payload: StageOrder):
    return pipeline_services.reorder_stages(actor=actor_of(request), pipeline=selectors.get_pipeline(pipeline_id),
                                            stage_ids=payload.stages, source=SOURCE)


def _stage(pipeline_id: int, stage_id: int):
    stage = next((s for s in selectors.stages_of(selectors.get_pipeline(pipeline_id)) if s.pk == stage_id), None)
    if stage is None:
        raise NotVisible(f"stage {stage_id}")
    return stage


@router.patch("/pipelines/{pipeline_id}/stages/{stage_id}", response={200: StageOut, **ERRORS},
              operation_id="update_stage")
def update_stage(request, pipeline_id: int, stage_id: int, payload: StageIn):
    """Rename a stage or change its default probability; its deals stay in it."""
    return pipeline_services.update_stage(actor=actor_of(request), stage=_stage(pipeline_id, stage_id),
                                          data=payload.model_dump(exclude_unset=True), source=SOURCE)


@router.delete("/pipelines/{pipeline_id}/stages/{stage_id}", response={204: None, **ERRORS},
               operation_id="remove_stage")
def remove_stage(request, pipeline_id: int, stage_id: int):
    """Only a stage no deal has ever been left in may be removed."""
    pipeline_services.remove_stage(actor=actor_of(request), stage=_stage(pipeline_id, stage_id), source=SOURCE)
    return Status(204, None)


@router.get("/close-reasons", response={200: list[CloseReasonOut], 401: Problem}, operation_id="list_close_reasons")
def list_close_reasons(request, outcome: str | None = None):
    """The active reasons a deal may be won or lost for."""
    outcomes = [outcome] if outcome in (DealStatus.WON, DealStatus.LOST) else [DealStatus.WON, DealStatus.LOST]
    return [reason for o in outcomes for reason in selectors.close_reasons(o)]


# --- deals --------------------------------------------------------------------------------

class DealContactIn(InputSchema):
    contact: int
    role: DealRole = DealRole.OTHER


class DealFields(InputSchema):
    company: int | None = Field(None, description="Company id")
    owner: int | None = Field(None, description="User id; you may only assign users you are allowed to")
    pipeline: int | None = Field(None, description="Pipeline id (default: the first pipeline)")
    stage: int | None = Field(None, description="Stage id of the pipeline (default: its first stage)")
    amount: Decimal | None = Field(None, description="Decimal string, at most the currency's decimals")
    currency: str | None = Field(None, description="ISO 4217 code; default the base currency")
    expected_close_date: dt.date | None = None
    probability: int | None = Field(None, description="0-100; null means the stage's default")
    source: str | None = None
    lead_id: int | None = None
    next_step: str | None = None
    next_step_date: dt.date | None = None
    contacts: list[DealContactIn] | None = Field(None, description="Replaces the deal's contacts and roles")


class DealCreate(DealFields):
    name: str


class DealUpdate(DealFields):
    """Only the fields sent change. Changing `stage` moves the deal (a stage-change event)."""

    name: str | None = None


class DealContactOut(Schema):
    contact: int
    role: str

    @staticmethod
    def resolve_contact(obj) -> int:
        return obj.contact_id


class LineItemOut(Schema):
    id: int
    product: int | None
    description: str
    quantity: Decimal
    unit_price: str
    discount_percent: Decimal
    total: str

    @staticmethod
    def resolve_product(obj) -> int | None:
        return obj.product_id

    @staticmethod
    def resolve_unit_price(obj) -> str:
        return str(round_money(obj.unit_price, obj.deal.currency))

    @staticmethod
    def resolve_total(obj) -> str:
        return str(round_money(services.line_total(obj), obj.deal.currency))


class DealOut(Schema):
    id: int
    name: str
    company: int | None
    owner: int | None
    team: int | None
    pipeline: int
    stage: int
    status: str
    amount: str = Field(description="Decimal string with the currency's minor units, e.g. 1500.00")
    currency: str
    expected_close_date: dt.date | None
    probability: int | None = Field(description="The override, or null for the stage default")
    effective_probability: int
    source: str
    lead_id: int | None
    next_step: str
    next_step_date: dt.date | None
    closed_at: dt.datetime | None
    close_reason: str | None
    close_note: str
    stage_entered_at: dt.datetime
    last_activity_at: dt.datetime
    created_at: dt.datetime
    updated_at: dt.datetime

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
    def resolve_amount(obj) -> str:
        return str(round_money(obj.amount, obj.currency))

    @staticmethod
    def resolve_pipeline(obj) -> int:
        return obj.pipeline_id

    @staticmethod
    def resolve_stage(obj) -> int:
        return obj.stage_id

    @staticmethod
    def resolve_close_reason(obj) -> str | None:
        return obj.close_reason.label if obj.close_reason_id else None


class DealDetail(DealOut):
    contacts: list[DealContactOut]
    line_items: list[LineItemOut]

    @staticmethod
    def resolve_contacts(obj) -> list:
        return selectors.deal_contacts(obj)

    @staticmethod
    def resolve_line_items(obj) -> list:
        return selectors.line_items(obj)


class DealPage(Schema):
    items: list[DealOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last")


class DealFilters(Schema):
    pipeline: int | None = None
    stage: int | None = None
    status: str | None = Field(None, description="open, won or lost")
    owner: int | None = None
    team: int | None = None
    company: int | None = None
    close_month: str | None = Field(None, description="Expected close month, e.g. 2026-12")
    stalled: bool | None = Field(None, description="Only open deals with no activity for the pipeline's stall period")
    q: str | None = Field(None, description="Name prefix")
    sort: str | None = Field(None, description=", ".join(selectors.DEAL_SORTS))
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)


class MoveIn(InputSchema):
    stage: int


class CloseIn(InputSchema):
    reason: int = Field(description="Close reason id (GET /close-reasons)")
    note: str | None = None
    create_order: bool = Field(True, description="Winning only: turn the line items into an order")


class LineItemIn(InputSchema):
    product: int | None = None
    description: str | None = None
    quantity: Decimal | None = None
    unit_price: Decimal | None = Field(None, description="Default: the product's price in the deal's currency")
    discount_percent: Decimal | None = None


def _reloaded(actor, deal_id: int):
    return selectors.get_deal(actor, deal_id)


def _body(payload) -> dict:
    data = payload.model_dump(mode="json", exclude_unset=True)
    return data


@router.get("/deals", response={200: DealPage, **LIST_ERRORS}, operation_id="list_deals")
def list_deals(request, filters: Query[DealFilters]):
    """Deals you may see, newest first unless sorted otherwise."""
    reject_unknown_params(request, DealFilters)
    params = filters.model_dump(exclude={"cursor", "limit"}, exclude_none=True)
    page = selectors.list_deals(actor_of(request), params, cursor=filters.cursor, size=filters.limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/deals", response={201: DealDetail, **ERRORS}, operation_id="create_deal")
def create_deal(request, payload: DealCreate):
    actor = actor_of(request)
    deal = services.create_deal(actor=actor, data=_body(payload), source=SOURCE)
    return Status(201, _reloaded(actor, deal.pk))


@router.get("/deals/{deal_id}", response={200: DealDetail, **ERRORS}, operation_id="get_deal")
def get_deal(request, deal_id: int):
    return selectors.get_deal(actor_of(request), deal_id)


@router.patch("/deals/{deal_id}", response={200: DealDetail, **ERRORS}, operation_id="update_deal")
def update_deal(request, deal_id: int, payload: DealUpdate):
    actor = actor_of(request)
    services.update_deal(actor=actor, deal=selectors.get_deal(actor, deal_id), data=_body(payload), source=SOURCE)
    return _reloaded(actor, deal_id)


@router.delete("/deals/{deal_id}", response={204: None, **ERRORS}, operation_id="delete_deal")
def delete_deal(request, deal_id: int):
    """Moves the deal to the trash."""
    actor = actor_of(request)
    services.delete_deal(actor=actor, deal=selectors.get_deal(actor, deal_id), source=SOURCE)
    return Status(204, None)


@router.post("/deals/{deal_id}/move", response={200: DealDetail, **ERRORS}, operation_id="move_deal")
def move_deal(request, deal_id: int, payload: MoveIn):
    """Move an open deal to another stage; the timeline records the days spent in the last one."""
    actor = actor_of(request)
    services.move_deal(actor=actor, deal=selectors.get_deal(actor, deal_id), stage=payload.stage, source=SOURCE)
    return _reloaded(actor, deal_id)


@router.post("/deals/{deal_id}/win", response={200: DealDetail, **ERRORS}, operation_id="win_deal")
def win_deal(request, deal_id: int, payload: CloseIn):
    """Mark the deal won (a reason is required); its line items become an order unless create_order is false."""
    actor = actor_of(request)
    services.win_deal(actor=actor, deal=selectors.get_deal(actor, deal_id), reason=payload.reason,
                      note=payload.note or "", create_order=payload.create_order, source=SOURCE)
    return _reloaded(actor, deal_id)


@router.post("/deals/{deal_id}/lose", response={200: DealDetail, **ERRORS}, operation_id="lose_deal")
def lose_deal(request, deal_id: int, payload: CloseIn):
    actor = actor_of(request)
    services.lose_deal(actor=actor, deal=selectors.get_deal(actor, deal_id), reason=payload.reason,
                       note=payload.note or "", source=SOURCE)
    return _reloaded(actor, deal_id)


@router.post("/deals/{deal_id}/reopen", response={200: DealDetail, **ERRORS}, operation_id="reopen_deal")
def reopen_deal(request, deal_id: int):
    actor = actor_of(request)
    services.reopen_deal(actor=actor, deal=selectors.get_deal(actor, deal_id), source=SOURCE)
    return _reloaded(actor, deal_id)


@router.post("/deals/{deal_id}/line-items", response={201: LineItemOut, **ERRORS}, operation_id="add_line_item")
def add_line_item(request, deal_id: int, payload: LineItemIn):
    actor = actor_of(request)
    item = services.add_line_item(actor=actor, deal=selectors.get_deal(actor, deal_id), data=_body(payload),
                                  source=SOURCE)
    return Status(201, item)


@router.patch("/deals/{deal_id}/line-items/{item_id}", response={200: LineItemOut, **ERRORS},
              operation_id="update_line_item")
def update_line_item(request, deal_id: int, item_id: int, payload: LineItemIn):
    actor = actor_of(request)
    return services.update_line_item(actor=actor, deal=selectors.get_deal(actor, deal_id), item_id=item_id,
                                     data=_body(payload), source=SOURCE)


@router.delete("/deals/{deal_id}/line-items/{item_id}", response={204: None, **ERRORS},
               operation_id="remove_line_item")
def remove_line_item(request, deal_id: int, item_id: int):
    actor = actor_of(request)
    services.remove_line_item(actor=actor, deal=selectors.get_deal(actor, deal_id), item_id=item_id, source=SOURCE)
    return Status(204, None)
