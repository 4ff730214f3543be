"""Pieces of the refresh's scoring on hand-made numbers (no database)."""

import numpy as np
import pytest

from rapport.insights import BGNBDFit
from rapport.reports.refresh.contracts import NoContractModel, score_contracts, survivor_counts
from rapport.reports.refresh.population import _note_concentration


def test_a_fit_with_one_dropout_chance_for_everyone_is_noted_in_the_run():
    fit = BGNBDFit.from_params({"r": 0.84, "alpha": 21.6, "a": 77_423.0, "b": 667_269.0})
    record = {}
    _note_concentration(fit, record)
    assert "same dropout chance (0.104)" in record["prediction"]
    ordinary = {}
    _note_concentration(BGNBDFit.from_params({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}), ordinary)
    assert ordinary == {}


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
