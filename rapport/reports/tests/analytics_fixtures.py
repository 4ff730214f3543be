"""Hand-built records for the analytics and scorecard tests.

Orders and scores are written straight to their tables (not through the services) because the
figures depend on order times and stored scores that the services would set to "now" or leave to
the refresh. Amounts are chosen so each expected figure can be worked out by hand in the test.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from rapport.core.visibility import team_id_for_owner
from rapport.reports.models import CustomerScore, ModelRun
from rapport.sales.models import Deal, DealStatus, Order, Stage


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def make_order(*, contact=None, company=None, when: str, total="100", currency="EUR", owner=None, deal=None):
    owner = owner or (contact.owner if contact is not None else company.owner)
    return Order.objects.create(contact=contact, company=company, ordered_at=at(when), total=Decimal(str(total)),
                                currency=currency, owner=owner, team_id=team_id_for_owner(owner), deal=deal)


_RUN: dict[str, ModelRun] = {}


def run(as_of=dt.date(2026, 3, 1), **extra) -> ModelRun:
    return ModelRun.objects.create(as_of=as_of, engine_version="1", chosen_model="bg_nbd", status="done",
                                   finished_at=at(f"{as_of.isoformat()} 02:00"), **extra)


def make_score(*, contact=None, company=None, value_12m=None, lifetime_value=None, health=None, model_run=None,
               **extra) -> CustomerScore:
    customer = contact if contact is not None else company
    model_run = model_run or ModelRun.objects.filter(status="done").first() or run()
    return CustomerScore.objects.create(
        contact=contact, company=company, owner=customer.owner, team_id=customer.team_id, run=model_run,
        as_of=model_run.as_of, model="bg_nbd", engine_version="1", value_12m=value_12m,
        lifetime_value=lifetime_value, health=health, **extra)


def make_deal(owner, *, amount="1000", currency="EUR", won: str | None = None, source="", company=None) -> Deal:
    """A deal in the default pipeline's last stage, won at `won` (or open)."""
    stage = Stage.objects.filter(pipeline__name="New business").order_by("-position").first()
    return Deal.objects.create(
        name="Deal", owner=owner, team_id=team_id_for_owner(owner), pipeline_id=stage.pipeline_id, stage=stage,
        amount=Decimal(str(amount)), currency=currency, source=source, company=company,
        status=DealStatus.WON if won else DealStatus.OPEN, closed_at=at(won) if won else None)
