"""The effective-target formula on hand-computed figures (no database)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rapport.sales.effective_targets import SellerHistory, nice_round, suggest_target


def history(**overrides) -> SellerHistory:
    figures = {
        "won_deals": 7, "lost_deals": 18, "won_revenue": Decimal("124000"), "open_pipeline": Decimal("120000"),
        "season_revenue": Decimal("27000"), "team_revenue": Decimal("100000"), "months_in_period": 3,
        "period_name": "2026-Q2", "currency": "EUR",
    }
    figures.update(overrides)
    return SellerHistory(**figures)


def test_the_worked_example():
    result = suggest_target(history())
    # 7 / 25 = 28%; 28% x 120,000 = 33,600.
    assert result.win_rate == Decimal("0.28")
    assert result.pipeline_estimate == Decimal("33600")
    # 27,000 / 100,000 = 27% of a year; 124,000 x 27% = 33,480.
    assert result.seasonal_share == Decimal("0.27")
    assert result.history_estimate == Decimal("33480")
    # The larger (33,600) plus 10% = 36,960 -> 37,000.
    assert result.base == Decimal("33600")
    assert result.amount == Decimal("37000")
    # 120,000 / 37,000 = 3.24; average won 124,000 / 7 = 17,714.29; 37,000 / 17,714.29 = 2.09.
    assert result.coverage == Decimal("3.2")
    assert result.wins_needed == Decimal("2.1")
    text = result.reasoning
    assert "win rate 28% x open pipeline 120,000 = 33,600" in text
    assert "history says 2026-Q2 carries 27% of a year's revenue" in text
    assert "last 4 quarters average 31,000" in text
    assert "suggested 37,000 EUR" in text


def test_history_wins_when_the_pipeline_is_thin():
    result = suggest_target(history(open_pipeline=Decimal("10000")))
    # 28% x 10,000 = 2,800 < 33,480; 33,480 x 1.1 = 36,828 -> 37,000.
    assert result.pipeline_estimate == Decimal("2800")
    assert result.base == Decimal("33480") and result.amount == Decimal("37000")


def test_a_seller_who_closed_nothing_takes_the_teams_win_rate():
    result = suggest_target(history(won_deals=0, lost_deals=0, won_revenue=Decimal(0), open_pipeline=Decimal("50000"),
                                    team_won_deals=3, team_lost_deals=7))
    # 3 / 10 = 30%; 30% x 50,000 = 15,000; + 10% = 16,500 -> 17,000.
    assert result.win_rate == Decimal("0.3")
    assert result.history_estimate is None and result.average_won is None and result.wins_needed is None
    assert result.amount == Decimal("17000")
    assert "the team's win rate 30%" in result.reasoning
    assert "no won revenue in the last 12 months" in result.reasoning


def test_a_team_without_history_assumes_an_even_year():
    result = suggest_target(history(team_revenue=Decimal(0), season_revenue=Decimal(0), won_revenue=Decimal("40000"),
                                    open_pipeline=Decimal(0), months_in_period=3))
    # 3/12 = 25%; 40,000 x 25% = 10,000; + 10% = 11,000.
    assert result.seasonal_share == Decimal("0.25")
    assert result.amount == Decimal("11000")
    assert result.coverage == Decimal("0.0")
    assert "assuming an even year" in result.reasoning
    assert "no open pipeline" in result.reasoning


def test_a_month_uses_twelve_months_of_history():
    result = suggest_target(history(months_in_period=1, season_revenue=Decimal("5000"), team_revenue=Decimal("100000"),
                                    open_pipeline=Decimal(0), won_revenue=Decimal("120000"), period_name="May 2026"))
    # 5% x 120,000 = 6,000; + 10% = 6,600.
    assert result.amount == Decimal("6600")
    assert "last 12 months average 10,000" in result.reasoning


def test_no_history_and_no_pipeline_gives_no_suggestion():
    result = suggest_target(history(won_deals=0, lost_deals=0, won_revenue=Decimal(0), open_pipeline=Decimal(0)))
    assert result.amount is None
    assert "nothing to base a suggestion on" in result.reasoning


def test_a_different_stretch():
    result = suggest_target(history(stretch=Decimal("0.25")))
    # 33,600 x 1.25 = 42,000.
    assert result.amount == Decimal("42000")


@pytest.mark.parametrize(("value", "expected"), [
    ("36960", "37000"), ("4349", "4300"), ("4350", "4400"), ("850", "850"), ("7.5", "8"), ("0", "0"),
    ("-5", "0"), ("1250000", "1300000"), ("99.4", "99"),
])
def test_nice_round(value, expected):
    assert nice_round(Decimal(value)) == Decimal(expected)
