"""The forecast's figures on hand-built deals (see forecast_fixtures.quarter_deals for the sums)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from rapport.core.errors import ValidationFailed
from rapport.sales.models import Deal, Target
from rapport.sales.selectors.forecasts import forecast

from .forecast_fixtures import make_deal, quarter_deals_fixture, rates_fixture, stages_fixture  # noqa: F401

Q1 = dt.date(2026, 1, 1)


def rows_by_label(result):
    return {row.label: row for row in result.rows}


def test_seller_forecast_per_owner_on_hand_computed_figures(quarter_deals, seller, teammate):
    result = forecast(seller, group="owner", kind="quarter", start="2026-01-01")
    assert (result.start, result.end, result.label) == (Q1, dt.date(2026, 4, 1), "2026-Q1")
    mine = rows_by_label(result)["Sam"]
    assert mine.closed_won.amount == Decimal("2300.00") and mine.closed_won.complete
    assert mine.won_deals == 3 and mine.open_deals == 5
    assert mine.commit.amount == Decimal("2800.00") and mine.commit.complete
    assert mine.best_case.amount == Decimal("3800.00")
    assert mine.best_case.unconverted == {"JPY": Decimal("100000")}
    assert mine.weighted.amount == Decimal("3460.00")
    assert mine.weighted.unconverted == {"JPY": Decimal("75000")}
    assert mine.weighted.unconverted_text == "plus 75,000 JPY without a rate"
    assert mine.pipeline.amount == Decimal("7800.00")
    theirs = rows_by_label(result)["Tia"]
    # Renewals' last stage is commit even at 60%.
    assert (theirs.closed_won.amount, theirs.commit.amount, theirs.weighted.amount) == (
        Decimal("500.00"), Decimal("1000.00"), Decimal("600.00"))
    assert result.total.closed_won.amount == Decimal("2800.00")
    assert result.undated_open_deals == 1


def test_another_teams_deals_never_count_in_a_sellers_forecast(quarter_deals, seller, other_seller):
    for group in ("owner", "team", "pipeline"):
        result = forecast(seller, group=group, kind="quarter", start="2026-01-01")
        assert result.total.closed_won.amount == Decimal("2800.00"), group
        assert "Otto" not in {row.label for row in result.rows}
    theirs = forecast(other_seller, group="owner", kind="quarter", start="2026-01-01")
    assert [(r.label, r.closed_won.amount) for r in theirs.rows] == [("Otto", Decimal("10000.00"))]


def test_admin_sees_every_team_and_pipeline(quarter_deals, admin_user):
    teams = rows_by_label(forecast(admin_user, group="team", kind="quarter", start="2026-01-01"))
    assert teams["North"].closed_won.amount == Decimal("2800.00")
    assert teams["South"].closed_won.amount == Decimal("10000.00")
    pipelines = rows_by_label(forecast(admin_user, group="pipeline", kind="quarter", start="2026-01-01"))
    assert pipelines["Renewals"].commit.amount == Decimal("1000.00")
    assert pipelines["New business"].closed_won.amount == Decimal("12800.00")  # 2,300 + 500 + 10,000


def test_a_month_counts_only_its_own_days(quarter_deals, seller):
    february = rows_by_label(forecast(seller, group="owner", kind="month", start="2026-02-01"))["Sam"]
    # Won 500 USD on 20 Feb at 0.8; open: the 1,000 EUR Proposal deal closing 1 Feb.
    assert february.closed_won.amount == Decimal("400.00")
    assert february.best_case.amount == Decimal("1000.00") and february.commit.amount == 0
    assert february.weighted.amount == Decimal("500.00")


def test_trashed_deals_do_not_count(quarter_deals, seller, stages):
    deal = make_deal(seller, stages["Commitment"], 99999, won="2026-01-05 10:00")
    Deal.objects.filter(pk=deal.pk).update(deleted_at=timezone.now())
    mine = rows_by_label(forecast(seller, group="owner", kind="quarter", start="2026-01-01"))["Sam"]
    assert mine.closed_won.amount == Decimal("2300.00")


def test_target_attainment_converts_the_target_at_the_periods_last_day(quarter_deals, seller, teammate,
                                                                        manager):
    Target.objects.create(user=seller, metric="revenue", period_kind="quarter", period_start=Q1,
                          amount=Decimal("5000"), currency="USD")
    Target.objects.create(user=teammate, metric="revenue", period_kind="quarter", period_start=Q1,
                          amount=Decimal("1000"), currency="JPY")
    # A monthly target and a deleted one are not this quarter's.
    Target.objects.create(user=seller, metric="revenue", period_kind="month", period_start=Q1, amount=1,
                          currency="EUR")
    Target.objects.create(user=seller, metric="revenue", period_kind="quarter", period_start=Q1, amount=1,
                          currency="EUR", deleted_at=timezone.now())
    rows = rows_by_label(forecast(manager, group="owner", kind="quarter", start="2026-01-01"))
    sam = rows["Sam"]
    assert sam.target.in_base == Decimal("4000.00")  # 5,000 USD x 0.8 (rate of 31 March)
    assert sam.attainment == Decimal("57.5")  # 2,300 / 4,000
    assert sam.projected == Decimal("127.5")  # (2,300 + 2,800) / 4,000
    # No JPY rate: the target stays in yen and no percentage is made up.
    assert rows["Tia"].target.in_base is None and rows["Tia"].attainment is None


def test_a_seller_with_a_target_and_no_deals_gets_a_row(rates, seller, manager):
    Target.objects.create(user=manager, metric="revenue", period_kind="month", period_start=Q1, amount=100,
                          currency="EUR")
    rows = rows_by_label(forecast(manager, group="owner", kind="month", start="2026-01-01"))
    assert rows["Mona"].closed_won.amount == 0 and rows["Mona"].attainment == Decimal("0.0")


def test_sellers_do_not_see_teammates_targets(quarter_deals, seller, teammate):
    Target.objects.create(user=teammate, metric="revenue", period_kind="quarter", period_start=Q1, amount=100,
                          currency="EUR")
    rows = rows_by_label(forecast(seller, group="owner", kind="quarter", start="2026-01-01"))
    assert rows["Tia"].target is None


@pytest.mark.parametrize(("params", "field"), [
    ({"group": "region"}, "group"),
    ({"kind": "week"}, "period"),
    ({"kind": "quarter", "start": "2026-02-01"}, "start"),
    ({"kind": "month", "start": "2026-02-15"}, "start"),
    ({"kind": "month", "start": "15/02/2026"}, "start"),
    ({"kind": "month", "start": "1900-01-01"}, "start"),
])
def test_bad_parameters_name_the_field(seller, params, field):
    with pytest.raises(ValidationFailed) as exc:
        forecast(seller, **params)
    assert field in exc.value.errors


def test_query_count_does_not_grow_with_deals(quarter_deals, seller, stages, django_assert_max_num_queries):
    with django_assert_max_num_queries(20) as few:
        forecast(seller, group="owner", kind="quarter", start="2026-01-01")
    for i in range(30):
        make_deal(seller, stages["Proposal"], 100 + i, "USD", close=f"2026-03-{1 + i % 28:02d}")
        make_deal(seller, stages["Proposal"], 100 + i, won=f"2026-01-{1 + i % 28:02d} 10:00")
    with django_assert_max_num_queries(len(few.captured_queries)):
        forecast(seller, group="owner", kind="quarter", start="2026-01-01")
