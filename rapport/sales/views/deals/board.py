"""The deal board (kanban per pipeline), its lazily paged columns, moving a card, and the list.

Moving a card is one plain POST form per card ("Move to…"): without JavaScript it posts and
comes back to the board; with htmx the answer removes the card, adds it at the top of its new
column and refreshes both columns' counts and totals; dragging a card (rapport.js) just picks
the stage in that form and submits it, so all three ways share one endpoint and its errors.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import dateformat
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from rapport.core.errors import NotVisible, ValidationFailed
from rapport.core.pagination import capped_count
from rapport.core.selectors import visible_users
from rapport.core.visibility import is_admin

from ... import currencies
from ...models import DealStatus
from ...selectors import deals as selectors
from ...services import deals as services

BOARD_FILTERS = ("owner", "team", "close_month")
LIST_FILTERS = ("q", "pipeline", "stage", "status", "owner", "team", "close_month", "stalled", "sort")
SORT_LABELS = [("-created", "Newest first"), ("created", "Oldest first"), ("close", "Closing soonest"),
               ("-close", "Closing latest"), ("-amount", "Largest amount"), ("amount", "Smallest amount"),
               ("name", "Name A–Z"), ("-name", "Name Z–A")]


def _params(query: QueryDict, names: tuple[str, ...]) -> dict[str, str]:
    return {name: query.get(name, "").strip() for name in names}


def _encoded(params: dict[str, str]) -> str:
    query = QueryDict(mutable=True)
    for name, value in params.items():
        if value:
            query[name] = value
    return query.urlencode()


def _board_url(pipeline_id: int, params: dict[str, str]) -> str:
    query = _encoded(params)
    return reverse("deal_board", args=[pipeline_id]) + (f"?{query}" if query else "")


def _card_kit(request: HttpRequest, stages, columns_of_cards) -> dict:
    """What every card's "Move to" form repeats, made once per page: a board shows a hundred
    cards, and rendering the same stage menu, URL and CSRF field a hundred times through the
    template engine cost more than all of the board's queries."""
    options = {
        stage.pk: format_html_join("", '<option value="{}"{}>{}</option>',
                                   ((s.pk, mark_safe(" selected") if s.pk == stage.pk else "", s.name)
                                    for s in stages))
        for stage in stages
    }
    for cards in columns_of_cards:
        for deal in cards:
            deal.move_options = options.get(deal.stage_id, "")
            # Plain text made here: the money, date and name filters were half of a card's cost.
            deal.amount_text = currencies.format_money(deal.amount, deal.currency)
            deal.close_text = dateformat.format(deal.expected_close_date, "j M Y") if deal.expected_close_date else ""
            deal.owner_text = (deal.owner.get_full_name() or deal.owner.username) if deal.owner else "No owner"
    return {"csrf_input": format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">',
                                      get_token(request)),
            "deals_root": reverse("deal_list")}


def _filter_choices(request: HttpRequest) -> dict:
    return {"owners": visible_users(request.user), "teams": selectors.filter_teams(request.user)}


@login_required
def deal_board(request: HttpRequest, pipeline_id: int | None = None) -> HttpResponse:
    request.nav_section = "deals"
    pipelines = list(selectors.pipelines())
    if pipeline_id is None:
        pipeline = pipelines[0] if pipelines else None
    else:
        pipeline = next((p for p in pipelines if p.pk == pipeline_id), None)
        if pipeline is None:
            raise Http404("No such pipeline")
    params = _params(request.GET, BOARD_FILTERS)
    columns, error = [], None
    if pipeline is not None:
        try:
            columns = selectors.board(request.user, pipeline, params)
        except ValidationFailed as exc:
            error = exc.errors
    stages = [column.stage for column in columns]
    context = {
        "pipeline": pipeline, "pipelines": pipelines, "columns": columns, "params": params, "error": error,
        "stages": stages, "filter_query": _encoded(params),
        **_card_kit(request, stages, [column.page.items for column in columns]),
        "board_url": _board_url(pipeline.pk, params) if pipeline else "",
        "filtered": any(params.values()), "is_admin": is_admin(request.user), **_filter_choices(request),
    }
    if request.htmx and request.htmx.target == "board":
        return render(request, "sales/deals/_board.html", context)
    return render(request, "sales/deals/board.html", context)


@login_required
def deal_board_column(request: HttpRequest, stage_id: int) -> HttpResponse:
    """The next page of one column: htmx asks when the "load more" row scrolls into view;
    without JavaScript the same link opens the page on its own."""
    request.nav_section = "deals"
    try:
        stage = selectors.get_stage(stage_id)
        params = _params(request.GET, BOARD_FILTERS)
        page = selectors.board_column(request.user, stage, params, cursor=request.GET.get("cursor") or None)
    except NotVisible as exc:
        raise Http404("No such stage") from exc
    except ValidationFailed as exc:
        if request.htmx:
            return HttpResponse(status=204)
        messages.error(request, "; ".join(exc.errors.values()))
        return redirect("deal_board", pipeline_id=stage.pipeline_id)
    stages = selectors.stages_of(stage.pipeline)
    context = {
        "stage": stage, "pipeline": stage.pipeline, "page": page, "stages": stages,
        "filter_query": _encoded(params), "board_url": _board_url(stage.pipeline_id, params),
        **_card_kit(request, stages, [page.items]),
    }
    template = "sales/deals/_cards.html" if request.htmx else "sales/deals/column.html"
    return render(request, template, context)


def _safe_next(request: HttpRequest, fallback: str) -> str:
    candidate = request.POST.get("next", "")
    if candidate.startswith("/") and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return candidate
    return fallback


@login_required
@require_POST
def deal_move(request: HttpRequest, deal_id: int) -> HttpResponse:
    try:
        deal = selectors.get_deal(request.user, deal_id)
    except NotVisible as exc:
        raise Http404("No such deal") from exc
    back = _safe_next(request, reverse("deal_board", args=[deal.pipeline_id]))
    previous, previous.pipeline = deal.stage, deal.pipeline
    try:
        moved = services.move_deal(actor=request.user, deal=deal, stage=request.POST.get("stage", ""))
    except ValidationFailed as exc:
        reason = "; ".join(exc.errors.values())
        text = f"Could not move “{deal.name}”: {reason}."
        if request.htmx:
            # The card stays where it was; the reason shows above the board.
            response = render(request, "sales/deals/_move_error.html", {"text": text})
            response["HX-Retarget"] = "#board-message"
            response["HX-Reswap"] = "innerHTML"
            return response
        messages.error(request, text)
        return redirect(back)
    text = f"“{moved.name}” moved to {moved.stage.name}." if moved.stage_id != previous.pk else \
        f"“{moved.name}” is already in {moved.stage.name}."
    if not request.htmx:
        messages.success(request, text)
        return redirect(back)
    params = _params(QueryDict(urlsplit(back).query), BOARD_FILTERS)
    stages = [previous] if moved.stage.pipeline_id != previous.pipeline_id else \
        [previous, moved.stage] if moved.stage_id != previous.pk else [previous]
    columns = selectors.board_summary(request.user, previous.pipeline, params, stages=stages)
    card = None
    if moved.stage.pipeline_id == previous.pipeline_id:
        card = selectors.get_deal(request.user, moved.pk)
        card.stalled = selectors.is_stalled(card)
    stages = selectors.stages_of(previous.pipeline)
    return render(request, "sales/deals/_move_result.html", {
        "deal": card, "columns": columns, "text": text, "stages": stages, "board_url": back, "to_stage": moved.stage,
        **_card_kit(request, stages, [[card] if card else []]),
    })


@login_required
def deal_list(request: HttpRequest) -> HttpResponse:
    request.nav_section = "deals"
    params = _params(request.GET, LIST_FILTERS)
    error, page, total, more = None, None, 0, False
    try:
        page = selectors.list_deals(request.user, params, cursor=request.GET.get("cursor") or None,
                                    size=_page_size(request))
        total, more = capped_count(selectors.filter_deals(selectors.deal_queryset(request.user), params))
    except ValidationFailed as exc:
        error = exc.errors
    if page is not None:
        for deal in page.items:
            deal.stalled = selectors.is_stalled(deal)
    pipelines = selectors.pipelines_with_stages()
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {
        "page": page, "params": params, "error": error, "total": total, "more": more,
        "pipelines": pipelines, "statuses": DealStatus.choices, "sorts": SORT_LABELS,
        "filtered": any(v for k, v in params.items() if k != "sort"), "base_query": query.urlencode(),
        **_filter_choices(request),
    }
    if request.htmx and request.htmx.target == "deal-rows":
        return render(request, "sales/deals/_rows.html", context)
    return render(request, "sales/deals/list.html", context)


def _page_size(request: HttpRequest) -> int:
    try:
        return max(10, min(200, int(request.GET.get("size", 50))))
    except ValueError:
        return 50
