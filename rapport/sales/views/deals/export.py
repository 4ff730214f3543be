"""The deal list as a CSV file: the list's filters and visibility, every matching row, streamed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from rapport.core.errors import ValidationFailed
from rapport.people.exports import csv_response

from ... import currencies
from ...selectors import deals as selectors
from .board import LIST_FILTERS, _params

CHUNK = 2000


def _user(user) -> str:
    return (user.get_full_name() or user.username) if user else ""


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


DEAL_COLUMNS = [
    ("ID", lambda d: d.pk), ("Name", lambda d: d.name), ("Company", lambda d: d.company.name if d.company else ""),
    ("Pipeline", lambda d: d.pipeline.name), ("Stage", lambda d: d.stage.name),
    ("Status", lambda d: d.get_status_display()), ("Owner", lambda d: _user(d.owner)),
    ("Team", lambda d: d.team.name if d.team else ""),
    ("Amount", lambda d: f"{currencies.round_money(d.amount, d.currency)}"), ("Currency", lambda d: d.currency),
    ("Probability", lambda d: d.effective_probability),
    ("Expected Close", lambda d: d.expected_close_date.isoformat() if d.expected_close_date else ""),
    ("Source", lambda d: d.source), ("Next Step", lambda d: d.next_step),
    ("Next Step Date", lambda d: d.next_step_date.isoformat() if d.next_step_date else ""),
    ("Close Reason", lambda d: d.close_reason.label if d.close_reason else ""),
    ("Closed", lambda d: _when(d.closed_at)), ("Created", lambda d: _when(d.created_at)),
]


def deal_rows(user, params: dict[str, Any]) -> Iterator[list[Any]]:
    """The header, then one row per visible deal matching the list's filters, in its order
    (one streamed query with companies, owners, teams, pipelines, stages and reasons joined)."""
    sort = params.get("sort") or "-created"
    if sort not in selectors.DEAL_SORTS:
        raise ValidationFailed({"sort": f"choose one of: {', '.join(selectors.DEAL_SORTS)}"})
    order = selectors.DEAL_SORTS[sort]
    deals = (selectors.filter_deals(selectors.deal_queryset(user), params)
             .select_related("company", "owner", "team", "pipeline", "stage", "close_reason")
             .order_by(order, "-id" if order.startswith("-") else "id"))
    yield [name for name, _ in DEAL_COLUMNS]
    for deal in deals.iterator(chunk_size=CHUNK):
        yield [get(deal) for _, get in DEAL_COLUMNS]


@login_required
def deal_export(request: HttpRequest) -> HttpResponse:
    rows = deal_rows(request.user, _params(request.GET, LIST_FILTERS))
    try:
        header = next(rows)  # bad filters answer 400 now, not halfway through a download
    except ValidationFailed as exc:
        return HttpResponse("; ".join(f"{k}: {v}" for k, v in exc.errors.items()), status=400,
                            content_type="text/plain")

    def all_rows() -> Iterator[list[Any]]:
        yield header
        yield from rows

    return csv_response(all_rows(), f"deals-{timezone.localdate():%Y-%m-%d}")
