"""Reads of pipelines and deals, always narrowed to what the acting user may see.

The board is built for pipelines with tens of thousands of open deals: column counts and
totals are one grouped query, and each column's cards are a keyset page read on its own
(`board_column`), so the page costs the same whatever the column sizes.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from rapport.core.errors import NotVisible, ValidationFailed
from rapport.core.models import Team
from rapport.core.pagination import Page, keyset_page
from rapport.core.visibility import profile_of, visibility_of, visible_to

from ..models import CloseReason, Deal, DealContact, DealStatus, Pipeline, Stage

DEAL_SORTS = {
    "-created": "-id", "created": "id", "close": "expected_close_date", "-close": "-expected_close_date",
    "amount": "amount", "-amount": "-amount", "name": "name", "-name": "-name",
}
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
BOARD_PAGE = 20


def deal_queryset(user) -> QuerySet[Deal]:
    """Live (not trashed) deals the user may see."""
    return visible_to(Deal.objects.filter(deleted_at__isnull=True), user)


def trashed_deals(user) -> QuerySet[Deal]:
    return visible_to(Deal.objects.filter(deleted_at__isnull=False), user).order_by("-deleted_at")


def get_deal(user, deal_id: int) -> Deal:
    """The deal, or NotVisible whether it is missing or hidden from this user (both are 404)."""
    deal = (deal_queryset(user).select_related("company", "owner", "team", "pipeline", "stage", "close_reason")
            .filter(pk=deal_id).first())
    if deal is None:
        raise NotVisible(f"deal {deal_id}")
    return deal


def deal_for_update(user, deal_id: int) -> Deal:
    # of=("self",): lock the deal row only, not its stage and pipeline (every deal shares those).
    deal = (deal_queryset(user).select_for_update(of=("self",)).select_related("stage", "pipeline")
            .filter(pk=deal_id).first())
    if deal is None:
        raise NotVisible(f"deal {deal_id}")
    return deal


def pipelines() -> QuerySet[Pipeline]:
    """Live pipelines in their order; every signed-in user may read the pipeline definitions."""
    return Pipeline.objects.filter(deleted_at__isnull=True).order_by("position", "id")


def get_pipeline(pipeline_id: int) -> Pipeline:
    pipeline = pipelines().filter(pk=pipeline_id).first()
    if pipeline is None:
        raise NotVisible(f"pipeline {pipeline_id}")
    return pipeline


def stages_of(pipeline: Pipeline) -> list[Stage]:
    stages = list(Stage.objects.filter(pipeline=pipeline).order_by("position", "id"))
    for stage in stages:
        stage.pipeline = pipeline  # callers read stage.pipeline (stall days): no query per stage
    return stages


def pipelines_with_stages() -> list[Pipeline]:
    """Live pipelines, each with its stages in order as `stage_list` (two queries)."""
    found = list(pipelines())
    by_id = {p.pk: p for p in found}
    for p in found:
        p.stage_list = []
    for stage in Stage.objects.filter(pipeline_id__in=list(by_id)).order_by("position", "id"):
        stage.pipeline = by_id[stage.pipeline_id]
        stage.pipeline.stage_list.append(stage)
    return found


def get_stage(stage_id: int) -> Stage:
    """An open stage of a live pipeline, or NotVisible (404)."""
    stage = (Stage.objects.select_related("pipeline").filter(pk=stage_id, pipeline__deleted_at__isnull=True)
             .first())
    if stage is None:
        raise NotVisible(f"stage {stage_id}")
    return stage


def close_reasons(outcome: str, *, include_inactive: bool = False) -> QuerySet[CloseReason]:
    reasons = CloseReason.objects.filter(outcome=outcome)
    return reasons if include_inactive else reasons.filter(active=True)


def get_close_reason(reason_id: int) -> CloseReason:
    reason = CloseReason.objects.filter(pk=reason_id).first()
    if reason is None:
        raise NotVisible(f"close reason {reason_id}")
    return reason


def is_stalled(deal: Deal, *, now: dt.datetime | None = None) -> bool:
    """An open deal with no logged activity for the pipeline's stall period."""
    if deal.status != DealStatus.OPEN:
        return False
    days = deal.pipeline.stall_days if deal.pipeline_id else 14
    return (now or timezone.now()) - deal.last_activity_at > dt.timedelta(days=days)


def _month_range(value: str) -> tuple[dt.date, dt.date]:
    match = MONTH.match(value or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValidationFailed({"close_month": "use a month such as 2026-12"})
    year, month = int(match.group(1)), int(match.group(2))
    start = dt.date(year, month, 1)
    end = dt.date(year + (month == 12), month % 12 + 1, 1)
    return start, end


def _int(params: dict[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed({name: "must be a whole number"}) from exc


def filter_deals(queryset: QuerySet[Deal], params: dict[str, Any]) -> QuerySet[Deal]:
    """Narrow deals by the board's and list's filters: pipeline, stage, status, owner, team,
    close month, company and a name prefix."""
    for name in ("pipeline", "stage", "owner", "team", "company"):
        value = _int(params, name)
        if value is not None:
            queryset = queryset.filter(**{f"{name}_id": value})
    status = params.get("status")
    if status:
        if status not in DealStatus.values:
            raise ValidationFailed({"status": f"choose one of: {', '.join(DealStatus.values)}"})
        queryset = queryset.filter(status=status)
    if params.get("close_month"):
        start, end = _month_range(params["close_month"])
        queryset = queryset.filter(expected_close_date__gte=start, expected_close_date__lt=end)
    q = (params.get("q") or "").strip()
    if q:
        queryset = queryset.filter(name__istartswith=q)
    if params.get("stalled") in ("1", "true", True):
        # Each pipeline has its own stall period; there are few pipelines, so one OR per pipeline.
        now = timezone.now()
        stalled = Q(pk__in=[])
        for pipeline_id, days in Pipeline.objects.values_list("id", "stall_days"):
            stalled |= Q(pipeline_id=pipeline_id, last_activity_at__lt=now - dt.timedelta(days=days))
        queryset = queryset.filter(stalled, status=DealStatus.OPEN)
    return queryset


def list_deals(user, params: dict[str, Any], *, cursor: str | None = None, size: int = 50) -> Page:
    sort = params.get("sort") or "-created"
    if sort not in DEAL_SORTS:
        raise ValidationFailed({"sort": f"choose one of: {', '.join(DEAL_SORTS)}"})
    queryset = filter_deals(deal_queryset(user), params).select_related("owner", "company", "stage", "pipeline")
    return keyset_page(queryset, order=DEAL_SORTS[sort], cursor=cursor, size=size)


@dataclass
class BoardColumn:
    stage: Stage
    count: int = 0
    # Totals per currency: a board never adds euros to dollars.
    totals: dict[str, Decimal] = field(default_factory=dict)
    weighted: dict[str, Decimal] = field(default_factory=dict)
    page: Page | None = None


def board(user, pipeline: Pipeline, params: dict[str, Any], *, size: int = BOARD_PAGE) -> list[BoardColumn]:
    """The open deals of a pipeline as columns: count and totals per stage (one grouped query)
    and the first page of cards in each column (one keyset read per column)."""
    params = {**params, "pipeline": pipeline.pk, "status": DealStatus.OPEN}
    columns = board_summary(user, pipeline, params)
    for column in columns:
        column.page = board_column(user, column.stage, params, size=size) if column.count else Page([], None, size)
    return columns


def board_summary(user, pipeline: Pipeline, params: dict[str, Any],
                  *, stages: list[Stage] | None = None) -> list[BoardColumn]:
    """Count, totals and weighted totals per currency of each column (or of the given stages)
    under the board's filters, without the cards: what a column's header shows after a move."""
    params = {**params, "pipeline": pipeline.pk, "status": DealStatus.OPEN}
    columns = [BoardColumn(stage=stage) for stage in (stages if stages is not None else stages_of(pipeline))]
    by_stage = {column.stage.pk: column for column in columns}
    base = filter_deals(deal_queryset(user), params)
    if stages is not None:
        base = base.filter(stage_id__in=list(by_stage))
    probability = {column.stage.pk: column.stage.probability for column in columns}
    grouped = (base.order_by().values("stage_id", "currency")
               .annotate(n=Count("id"), total=Sum("amount"),
                         overridden=Sum(F("amount") * F("probability"), filter=Q(probability__isnull=False)),
                         defaulted=Sum("amount", filter=Q(probability__isnull=True))))
    for row in grouped:
        column = by_stage.get(row["stage_id"])
        if column is None:
            continue
        column.count += row["n"]
        currency = row["currency"]
        column.totals[currency] = column.totals.get(currency, Decimal(0)) + Decimal(row["total"] or 0)
        weighted = (Decimal(row["overridden"] or 0) + Decimal(row["defaulted"] or 0) * probability[row["stage_id"]]) / 100
        column.weighted[currency] = column.weighted.get(currency, Decimal(0)) + weighted
    return columns


def board_column(user, stage: Stage, params: dict[str, Any], *, cursor: str | None = None,
                 size: int = BOARD_PAGE) -> Page:
    """One page of a board column's cards, newest first; the next page loads when scrolled to."""
    params = {**params, "stage": stage.pk, "status": DealStatus.OPEN}
    queryset = filter_deals(deal_queryset(user), params).select_related("owner", "company")
    page = keyset_page(queryset, order="-id", cursor=cursor, size=size)
    now = timezone.now()
    stall = dt.timedelta(days=stage.pipeline.stall_days)
    for deal in page.items:
        deal.stage = stage
        deal.stalled = now - deal.last_activity_at > stall
    return page


def deal_contacts(deal: Deal) -> list[DealContact]:
    return list(DealContact.objects.filter(deal=deal, contact__deleted_at__isnull=True)
                .select_related("contact").order_by("role", "contact__last_name"))


def line_items(deal: Deal) -> list:
    return list(deal.line_items.select_related("product", "deal").order_by("position", "id"))


def deals_of_contact(user, contact_id: int) -> QuerySet[Deal]:
    return deal_queryset(user).filter(deal_contacts__contact_id=contact_id).select_related("stage")


def deals_of_company(user, company_id: int) -> QuerySet[Deal]:
    return deal_queryset(user).filter(company_id=company_id).select_related("stage")


def deal_minutes(deal: Deal) -> int:
    """Minutes logged on the deal's live activities: the input of its cost of sales."""
    return deal.activities.filter(deleted_at__isnull=True).aggregate(m=Sum("duration_minutes"))["m"] or 0


def deal_timeline(user, deal_id: int, *, kind: str | None = None, cursor: str | None = None,
                  size: int = 50) -> Page:
    """The events of a deal the user may see, newest first (events of deleted activities left out)."""
    from rapport.timeline.models import Event, EventKind

    deal = get_deal(user, deal_id)
    events = Event.objects.filter(deal=deal)
    if kind:
        if kind not in EventKind.values:
            raise ValidationFailed({"kind": f"choose one of: {', '.join(EventKind.values)}"})
        events = events.filter(kind=kind)
    events = events.filter(Q(activity__isnull=True) | Q(activity__deleted_at__isnull=True))
    return keyset_page(events.select_related("actor", "contact", "activity"), order="-occurred_at", cursor=cursor,
                       size=size)


def filter_teams(user) -> QuerySet[Team]:
    """Teams offered in the deal filters: every team for those who see everything, else their own."""
    scope = visibility_of(user)
    if scope == "all":
        return Team.objects.order_by("name")
    team_id = profile_of(user).team_id
    return Team.objects.filter(pk=team_id) if scope == "team" and team_id else Team.objects.none()
