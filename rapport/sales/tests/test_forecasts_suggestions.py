"""Effective targets from the database: the history each suggestion reads, who sees whose, and
accepting one.

Today is 15 April 2026: the trailing year is April 2025 - March 2026, the team's seasonality
window April 2024 - March 2026, and the suggestion is for 2026-Q2 (April - June).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from rapport.core.errors import NotAllowed, ValidationFailed
from rapport.sales.models import Target
from rapport.sales.selectors.suggestions import suggestions
from rapport.sales.services import forecasts as services

from .forecast_fixtures import make_deal, rates_fixture, stages_fixture  # noqa: F401

TODAY = dt.date(2026, 4, 15)
Q2 = "2026-04-01"


@pytest.fixture(name="history")
def history_fixture(rates, stages, seller, teammate, other_seller):
    """Seller, last 12 months: won 10,000 EUR (May 2025), 2,000 USD (1 Mar 2026, x0.8 = 1,600) and
    1,000 USD (June 2025, before any USD rate: left out); lost three. Won 5,000 EUR in June
    2024 (seasonality only). Open for Q2: 6,000 EUR. Teammate: won 4,400 EUR in November 2025.

    Seller: win rate 3/6 = 50%; pipeline estimate 50% x 6,000 = 3,000. Team's Q2 months over
    24 months: 10,000 + 5,000 = 15,000 of 21,000 (10,000 + 1,600 + 5,000 + 4,400), 71%;
    history estimate 11,600 x 15/21 = 8,285.71; x 1.1 = 9,114.29 -> 9,100.
    Teammate: 4,400 x 15/21 = 3,142.86; x 1.1 = 3,457.14 -> 3,500.
    """
    commit = stages["Commitment"]
    make_deal(seller, commit, 10000, won="2025-05-10 10:00")
    make_deal(seller, commit, 2000, "USD", won="2026-03-01 10:00")
    make_deal(seller, commit, 1000, "USD", won="2025-06-01 10:00")
    for day in ("2025-07-01", "2025-09-01", "2026-01-15"):
        make_deal(seller, commit, 800, lost=f"{day} 10:00")
    make_deal(seller, commit, 5000, won="2024-06-15 10:00")
    make_deal(seller, commit, 99999, won="2024-03-31 10:00")  # before the 24-month window
    make_deal(seller, commit, 99999, won="2026-04-02 10:00")  # this month: not history yet
    make_deal(seller, stages["Proposal"], 6000, close="2026-05-10")
    make_deal(seller, stages["Proposal"], 99999, close="2026-07-01")  # next quarter
    make_deal(teammate, commit, 4400, won="2025-11-20 10:00")
    make_deal(other_seller, commit, 50000, won="2025-05-10 10:00")


def by_label(result):
    return {s.label: s for s in result}


def test_suggestions_for_a_managers_team(history, manager):
    result = by_label(suggestions(manager, kind="quarter", start=Q2, today=TODAY))
    assert set(result) == {"Mona", "Sam", "Tia"}
    sam = result["Sam"]
    h = sam.history
    assert (h.won_deals, h.lost_deals) == (3, 3)
    assert h.won_revenue == Decimal("11600.00") and h.open_pipeline == Decimal("6000.00")
    assert (h.season_revenue, h.team_revenue) == (Decimal("15000.00"), Decimal("21000.00"))
    assert sam.suggestion.pipeline_estimate == Decimal("3000")
    assert sam.suggestion.amount == Decimal("9100")
    assert sam.left_out == ("left out of the seller's figures: 1,000.00 USD without a rate; "
                            "left out of the team's history: 1,000.00 USD without a rate")
    assert result["Tia"].left_out == "left out of the team's history: 1,000.00 USD without a rate"
    assert sam.may_accept
    assert result["Tia"].suggestion.amount == Decimal("3500")
    # The manager sold nothing: the team's win rate (4 won of 7 closed) and no base.
    mona = result["Mona"]
    assert mona.suggestion.win_rate == Decimal(4) / 7 and mona.suggestion.amount is None


def test_a_seller_sees_only_their_own_and_may_not_accept(history, seller):
    result = suggestions(seller, kind="quarter", start=Q2, today=TODAY)
    assert [s.label for s in result] == ["Sam"] and not result[0].may_accept
    with pytest.raises(NotAllowed):
        services.accept_suggestion(actor=seller, user_id=seller.pk, period_kind="quarter", period_start=Q2)


def test_another_teams_history_stays_out(history, other_seller):
    (otto,) = suggestions(other_seller, kind="quarter", start=Q2, today=TODAY)
    assert otto.history.team_revenue == Decimal("50000.00") and otto.history.season_revenue == Decimal("50000.00")


def test_accepting_a_suggestion_sets_the_target_then_updates_it(history, manager, seller, settings):
    target, created = services.accept_suggestion(actor=manager, user_id=seller.pk, period_kind="quarter",
                                                 period_start=Q2, today=TODAY)
    assert created and (target.amount, target.currency) == (Decimal("9100.00"), settings.RAPPORT_BASE_CURRENCY)
    assert (target.user, target.period_kind, target.period_start) == (seller, "quarter", dt.date(2026, 4, 1))
    Target.objects.filter(pk=target.pk).update(amount=1)
    again, created = services.accept_suggestion(actor=manager, user_id=seller.pk, period_kind="quarter",
                                                period_start=Q2, today=TODAY)
    assert not created and again.pk == target.pk and again.amount == Decimal("9100.00")


@pytest.mark.parametrize(("data", "field"), [
    ({"user_id": None}, "user"),
    ({"user_id": "x"}, "user"),
    ({"user_id": 999999}, "user"),
    ({"period_kind": "year"}, "period_kind"),
    ({"period_start": "2026-05-01"}, "period_start"),
    ({"period_start": ""}, "period_start"),
])
def test_accept_refuses_bad_input(history, manager, seller, data, field):
    params = {"user_id": seller.pk, "period_kind": "quarter", "period_start": Q2, **data}
    with pytest.raises(ValidationFailed) as exc:
        services.accept_suggestion(actor=manager, **params)
    assert field in exc.value.errors
    assert not Target.objects.exists()


def test_a_manager_may_not_accept_for_another_team(history, manager, other_seller):
    with pytest.raises(ValidationFailed) as exc:
        services.accept_suggestion(actor=manager, user_id=other_seller.pk, period_kind="quarter", period_start=Q2)
    assert "user" in exc.value.errors


def test_accepting_nothing_to_suggest_is_refused(history, manager):
    with pytest.raises(ValidationFailed) as exc:
        services.accept_suggestion(actor=manager, user_id=manager.pk, period_kind="quarter", period_start=Q2,
                                   today=TODAY)
    assert "no suggestion" in exc.value.errors["user"]


def test_queries_do_not_grow_with_sellers_or_deals(history, admin_user, stages, django_assert_max_num_queries):
    from conftest import _user

    with django_assert_max_num_queries(30) as few:
        suggestions(admin_user, kind="quarter", start=Q2, today=TODAY)
    for i in range(5):
        extra = _user(f"extra{i}_seller", "seller", None)
        make_deal(extra, stages["Commitment"], 100, won="2025-10-10 10:00")
        make_deal(extra, stages["Proposal"], 100, close="2026-05-05")
    with django_assert_max_num_queries(len(few.captured_queries)):
        result = suggestions(admin_user, kind="quarter", start=Q2, today=TODAY)
    assert len(result) == 8
