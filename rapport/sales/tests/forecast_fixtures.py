"""Hand-built sales data for the forecast, target and cost tests.

Deals are written straight to the table (not through the deal services) because the figures
depend on close dates and won/lost times the services set to "now". Every amount below is
chosen so the expected figures can be worked out by hand; the tests spell the sums out.

Rates (base EUR): USD 0.9 from 2026-01-01 and 0.8 from 2026-02-15; JPY has none.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from rapport.core.visibility import team_id_for_owner
from rapport.sales.models import Deal, DealStatus, ExchangeRate, Pipeline, Stage


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@pytest.fixture(name="rates")
def rates_fixture(db):
    ExchangeRate.objects.create(currency="USD", rate=Decimal("0.9"), valid_from=dt.date(2026, 1, 1))
    ExchangeRate.objects.create(currency="USD", rate=Decimal("0.8"), valid_from=dt.date(2026, 2, 15))


@pytest.fixture(name="stages")
def stages_fixture(db):
    """The default pipeline's stages by name (Qualification 10 ... Commitment 90, the last) and a
    renewals pipeline whose last stage, Signed, has only 60%."""
    stages = {s.name: s for s in Stage.objects.filter(pipeline__name="New business")}
    renewals = Pipeline.objects.create(name="Renewals", kind="renewal", position=1)
    stages["Due"] = Stage.objects.create(pipeline=renewals, name="Due", position=0, probability=40)
    stages["Signed"] = Stage.objects.create(pipeline=renewals, name="Signed", position=1, probability=60)
    return stages


def make_deal(owner, stage: Stage, amount, currency="EUR", *, close=None, won=None, lost=None,
              probability=None, source="", name="Deal") -> Deal:
    """An open deal closing on `close` (a date text), or a deal won/lost at `won`/`lost`."""
    status, closed_at = DealStatus.OPEN, None
    if won:
        status, closed_at = DealStatus.WON, at(won)
    elif lost:
        status, closed_at = DealStatus.LOST, at(lost)
    return Deal.objects.create(
        name=name, owner=owner, team_id=team_id_for_owner(owner), pipeline_id=stage.pipeline_id, stage=stage,
        amount=Decimal(str(amount)), currency=currency, status=status, closed_at=closed_at,
        expected_close_date=dt.date.fromisoformat(close) if close else None, probability=probability,
        source=source,
    )


@pytest.fixture(name="quarter_deals")
def quarter_deals_fixture(rates, stages, seller, teammate, other_seller):
    """Deals around 2026-Q1. For `seller`:

    won in Q1:  1,000 EUR (10 Jan) + 1,000 USD (20 Jan, x0.9 = 900) + 500 USD (20 Feb, x0.8 = 400)
                = 2,300 EUR
    open in Q1: 2,000 EUR Commitment (90%, last stage)         commit, best, weighted 1,800
                1,000 USD Qualification overridden to 95%, 1 Mar (x0.8 = 800)
                                                                commit, best, weighted 760
                1,000 EUR Proposal (50%)                        best, weighted 500
                4,000 EUR Qualification (10%)                   weighted 400
                100,000 JPY Negotiation (75%)                   best, weighted 75,000 JPY: no rate
    outside:    5,000 EUR closing 1 Apr; 3,000 EUR won 31 Dec 23:59; 7,000 EUR lost in Feb;
                an open deal without a close date
    => closed won 2,300; commit 2,800; best case 3,800 + 100,000 JPY;
       weighted 3,460 + 75,000 JPY; open pipeline 7,800 + 100,000 JPY.

    `teammate` (same team): won 500 EUR in Feb; 1,000 EUR open in Renewals' last stage (60%):
    commit 1,000, weighted 600. `other_seller` (south): won 10,000 EUR in Feb.
    """
    s = stages
    make_deal(seller, s["Commitment"], 1000, won="2026-01-10 10:00")
    make_deal(seller, s["Commitment"], 1000, "USD", won="2026-01-20 10:00")
    make_deal(seller, s["Commitment"], 500, "USD", won="2026-02-20 10:00")
    make_deal(seller, s["Commitment"], 2000, close="2026-03-10")
    make_deal(seller, s["Qualification"], 1000, "USD", close="2026-03-01", probability=95)
    make_deal(seller, s["Proposal"], 1000, close="2026-02-01")
    make_deal(seller, s["Qualification"], 4000, close="2026-03-31")
    make_deal(seller, s["Negotiation"], 100000, "JPY", close="2026-03-15")
    make_deal(seller, s["Commitment"], 5000, close="2026-04-01")
    make_deal(seller, s["Commitment"], 3000, won="2025-12-31 23:59")
    make_deal(seller, s["Negotiation"], 7000, lost="2026-02-01 09:00")
    make_deal(seller, s["Negotiation"], 900)
    make_deal(teammate, s["Commitment"], 500, won="2026-02-11 12:00")
    make_deal(teammate, s["Signed"], 1000, close="2026-03-20")
    make_deal(other_seller, s["Commitment"], 10000, won="2026-02-02 12:00")
