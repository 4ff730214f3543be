"""Cost of sales: a deal's cost from the minutes logged on it, and the summary per owner and source.

Rates: sellers 60 EUR an hour, managers 120 USD an hour (USD 0.9 from January, 0.8 from
15 February), marketers none.

Won deal (10,000 EUR, 20 Feb, source Referral): seller 90 min = 90 EUR; manager 30 min = 60 USD
= 48 EUR; marketer 45 min, no rate. Lost deal (20 Jan, source Web): seller 60 min = 60 EUR;
manager 60 min = 120 USD = 108 EUR. Totals: won 138, lost 168, all 306 EUR, cost per won deal
306, 3.06% of won revenue.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from rapport.core.errors import NotVisible, ValidationFailed
from rapport.sales.models import CostRate
from rapport.sales.selectors.costs import closed_deal_costs, cost_of_sales, deal_cost
from rapport.timeline import services as timeline

from .forecast_fixtures import make_deal, rates_fixture, stages_fixture  # noqa: F401


def log(actor, deal, minutes):
    return timeline.log_activity(actor=actor, deal=deal, data={"kind": "call", "duration_minutes": minutes})


@pytest.fixture(name="costed")
def costed_fixture(rates, stages, seller, manager, marketer, other_seller, admin_user):
    CostRate.objects.create(role="seller", cost_per_hour=Decimal("60"), currency="EUR")
    CostRate.objects.create(role="manager", cost_per_hour=Decimal("120"), currency="USD")
    won = make_deal(seller, stages["Commitment"], 10000, won="2026-02-20 10:00", source="Referral", name="Won")
    lost = make_deal(seller, stages["Negotiation"], 4000, lost="2026-01-20 10:00", source="Web", name="Lost")
    still_open = make_deal(seller, stages["Proposal"], 3000, close="2026-06-01", name="Open")
    log(seller, won, 90)
    log(manager, won, 30)
    log(marketer, won, 45)
    removed = log(seller, won, 600)
    timeline.delete_activity(actor=seller, activity=removed)
    log(seller, lost, 60)
    log(manager, lost, 60)
    log(seller, still_open, 30)
    theirs = make_deal(other_seller, stages["Commitment"], 5000, won="2026-02-01 10:00", source="Referral")
    log(other_seller, theirs, 600)
    return {"won": won, "lost": lost, "open": still_open, "theirs": theirs}


def test_a_deals_cost_per_role(costed):
    cost = deal_cost(costed["won"])
    assert cost.minutes == 165
    assert [(r.label, r.minutes, r.cost, r.currency) for r in cost.roles] == [
        ("Manager", 30, Decimal("60.00"), "USD"), ("Marketer", 45, None, ""), ("Seller", 90, Decimal("90.00"), "EUR")]
    assert cost.by_currency == {"EUR": Decimal("90.00"), "USD": Decimal("60.00")}
    assert cost.in_base.amount == Decimal("138.00")
    assert [r.label for r in cost.unrated] == ["Marketer"]
    # An open deal converts at today's rate.
    assert deal_cost(costed["open"]).in_base.amount == Decimal("30.00")


def test_a_cost_in_a_currency_without_a_rate_is_shown_apart(costed, stages, seller, manager):
    deal = make_deal(seller, stages["Commitment"], 100, won="2025-06-01 10:00")
    log(manager, deal, 30)
    cost = deal_cost(deal)
    assert cost.in_base.amount == 0 and cost.in_base.unconverted == {"USD": Decimal("60")}


def test_summary_per_owner(costed, manager):
    report = cost_of_sales(manager, start="2026-01-01", end="2026-03-31")
    (sam,) = report.rows
    assert sam.label == "Sam" and (sam.won_deals, sam.lost_deals) == (1, 1)
    assert sam.won_revenue.amount == Decimal("10000.00")
    assert sam.won_cost.amount == Decimal("138.00") and sam.lost_cost.amount == Decimal("168.00")
    assert sam.total_cost.amount == Decimal("306.00")
    assert sam.cost_per_won_deal == Decimal("306.00")
    assert sam.cost_share == Decimal("3.1")
    assert sam.unrated_text == "45 min by marketer"
    assert report.missing_rates == ["Marketer"]


def test_summary_per_source(costed, manager):
    rows = {r.label: r for r in cost_of_sales(manager, group="source", start="2026-01-01", end="2026-03-31").rows}
    assert rows["Referral"].total_cost.amount == Decimal("138.00") and rows["Referral"].cost_share == Decimal("1.4")
    assert rows["Web"].lost_cost.amount == Decimal("168.00") and rows["Web"].cost_per_won_deal is None


def test_admin_sees_every_team_and_the_range_limits_the_deals(costed, admin_user):
    report = cost_of_sales(admin_user, start="2026-01-01", end="2026-03-31")
    assert {r.label for r in report.rows} == {"Sam", "Otto"}
    # Otto's 600 minutes: 600 EUR.
    assert report.total.total_cost.amount == Decimal("906.00")
    february = cost_of_sales(admin_user, start="2026-02-01", end="2026-02-28")
    assert february.total.lost_deals == 0 and february.total.won_deals == 2


def test_sellers_do_not_see_costs(costed, seller):
    with pytest.raises(NotVisible):
        cost_of_sales(seller)
    with pytest.raises(NotVisible):
        closed_deal_costs(seller, start=None, end=None)


def test_each_closed_deal_with_its_cost(costed, manager):
    page, costs = closed_deal_costs(manager, start="2026-01-01", end="2026-03-31")
    assert [(c.deal.name, c.in_base.amount) for c in costs] == [("Won", Decimal("138.00")),
                                                                ("Lost", Decimal("168.00"))]


@pytest.mark.parametrize(("params", "field"), [
    ({"start": "yesterday"}, "start"),
    ({"end": "2026-02-30"}, "end"),
    ({"start": "2026-03-01", "end": "2026-02-01"}, "end"),
    ({"start": "2010-01-01", "end": "2026-02-01"}, "end"),
    ({"group": "colour"}, "group"),
])
def test_bad_parameters(costed, manager, params, field):
    with pytest.raises(ValidationFailed) as exc:
        cost_of_sales(manager, **params)
    assert field in exc.value.errors


def test_queries_do_not_grow_with_deals(costed, manager, seller, stages, django_assert_max_num_queries):
    with django_assert_max_num_queries(20) as few:
        cost_of_sales(manager, start="2026-01-01", end="2026-03-31")
        closed_deal_costs(manager, start="2026-01-01", end="2026-03-31")
    for i in range(10):
        deal = make_deal(seller, stages["Commitment"], 100, "USD", won=f"2026-03-{i + 1:02d} 10:00", source=f"s{i}")
        log(seller, deal, 10)
        log(manager, deal, 10)
    with django_assert_max_num_queries(len(few.captured_queries)):
        cost_of_sales(manager, start="2026-01-01", end="2026-03-31")
        closed_deal_costs(manager, start="2026-01-01", end="2026-03-31")
