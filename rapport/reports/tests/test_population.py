"""Pieces of the refresh's scoring on hand-made numbers (no database)."""

import time

import numpy as np
import pytest

from rapport.insights import BGNBDFit
from rapport.reports.refresh.contracts import NoContractModel, score_contracts, survivor_counts
from rapport.reports.refresh.population import _for_prediction


def test_a_fit_with_one_dropout_chance_for_everyone_predicts_fast_and_right():
    a, b = 77_423.0, 667_269.0
    fit = BGNBDFit.from_params({"r": 0.84, "alpha": 21.6, "a": a, "b": b})
    record = {}
    quick = _for_prediction(fit, record)
    assert "same dropout chance (0.104)" in record["prediction"]
    x, t_x, T = np.array([0.0, 3, 12, 40]), np.array([0.0, 20, 60, 69]), np.array([30.0, 40, 70, 70])
    started = time.perf_counter()
    expected = quick.expected_purchases(52.0, x, t_x, T)
    assert time.perf_counter() - started < 1.0
    # Expected purchases approach their limit as 1 / (a + b): two concentrations the engine still
    # computes quickly at this horizon (6,000 and 8,000) pin it, and the fit's a + b is so large
    # that its value is the limit's to 0.02%.
    p = a / (a + b)
    v1, v2 = (BGNBDFit.from_params({"r": 0.84, "alpha": 21.6, "a": p * c, "b": (1 - p) * c})
              .expected_purchases(52.0, x, t_x, T) for c in (6_000.0, 8_000.0))
    limit = 4 * v2 - 3 * v1  # v(c) = L + k / c at c = 6,000 and 8,000
    assert expected == pytest.approx(limit, rel=2e-3)
    assert quick.probability_alive(x, t_x, T) == pytest.approx(fit.probability_alive(x, t_x, T))
    assert quick.model == "bg_nbd"


def test_a_moderately_concentrated_fit_predicts_as_the_engine_does():
    fit = BGNBDFit.from_params({"r": 0.84, "alpha": 21.6, "a": 300.0, "b": 2_700.0})
    quick = _for_prediction(fit, {})
    x, t_x, T = np.array([0.0, 3, 12, 40]), np.array([0.0, 20, 60, 69]), np.array([30.0, 40, 70, 70])
    assert quick.expected_purchases(52.0, x, t_x, T) == pytest.approx(fit.expected_purchases(52.0, x, t_x, T),
                                                                      rel=1e-3)


def test_an_ordinary_fit_is_left_alone():
    fit = BGNBDFit.from_params({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    record = {}
    assert _for_prediction(fit, record) is fit and record == {}


def test_survivor_counts_are_kaplan_meier_across_start_dates():
    # 60 contracts: 24 left before their first renewal, 12 after one; 18 renewed once and 6 twice
    # and still run. A running contract counts only for the renewals already due.
    renewals = np.array([0] * 24 + [1] * 12 + [1] * 18 + [2] * 6)
    lapsed = np.array([True] * 36 + [False] * 24)
    # Period 1: all 60 were due, 24 left (60% stay). Period 2: due for the 12 who left after one
    # renewal and the 6 who renewed twice (the 18 others are not due yet); 12 left (a third stay).
    assert survivor_counts(renewals, lapsed) == [60, 36, 12]


def test_periods_with_fewer_than_ten_contracts_due_are_not_counted():
    renewals = np.array([0] * 8 + [1] * 4 + [1] * 6 + [2] * 2)
    lapsed = np.array([True] * 12 + [False] * 8)
    assert survivor_counts(renewals, lapsed) == [20, 12]  # period 2: only 6 due


def test_contracts_need_two_periods_of_renewals():
    ids = np.arange(30)
    days = np.zeros(30, dtype=np.int64)
    with pytest.raises(NoContractModel, match="two periods"):
        score_contracts(ids, days, np.full(30, 480.0), end_day=200, lost_ids=np.array([], np.int64),
                        lost_days=np.array([], np.int64), period_days=365, grace_days=30,
                        annual_discount_rate=0.1, horizon_years=3)
