"""The transaction summary: conventions, the CDNOW replication, and rejected input."""

from __future__ import annotations

import numpy as np
import pytest

from rapport.insights import rfm_summary


def days(*values):
    return np.array(values, dtype="datetime64[D]")


def test_same_day_purchases_are_one_and_the_first_is_not_a_repeat():
    table = rfm_summary(
        ["ann", "ann", "ann", "ann", "bob"],
        days("2024-01-01", "2024-01-08", "2024-01-08", "2024-01-22", "2024-01-15"),
        [100.0, 20.0, 30.0, 10.0, 70.0],
        "2024-01-29", "D")
    assert list(table.customer_id) == ["ann", "bob"]
    assert list(table.frequency) == [2, 0]  # the two orders of the 8th are one visit
    assert list(table.recency) == [21, 0]
    assert list(table.T) == [28, 14]
    # Mean of the repeat visits (50 on the 8th, 10 on the 22nd); the first order is left out.
    assert list(table.monetary_value) == [30.0, 0.0]


def test_whole_weeks_collapse_the_same_calendar_week():
    # 2024-01-01 is a Monday: the 1st and the 7th share a week, the 8th starts the next one.
    table = rfm_summary([1, 1, 1], days("2024-01-01", "2024-01-07", "2024-01-08"), [1, 2, 3], "2024-01-31", "W")
    assert table.frequency[0] == 1
    assert table.recency[0] == 1
    assert table.T[0] == 4
    assert table.monetary_value[0] == 3


def test_months_and_fractional_months():
    ids, dates = [1, 1, 1], days("2024-01-31", "2024-02-01", "2024-04-15")
    whole = rfm_summary(ids, dates, [5, 5, 5], "2024-06-30", "M")
    assert (whole.frequency[0], whole.recency[0], whole.T[0]) == (2, 3, 5)
    fractional = rfm_summary(ids, dates, [5, 5, 5], "2024-06-30", "M", fractional=True)
    assert fractional.frequency[0] == 2
    assert fractional.recency[0] == pytest.approx(75 / (365.25 / 12))


def test_transactions_after_the_observation_end_are_ignored():
    table = rfm_summary([1, 1, 2], days("2024-01-01", "2024-03-01", "2024-05-01"), [1, 1, 1], "2024-02-01", "D")
    assert list(table.customer_id) == [1]
    assert table.frequency[0] == 0


def test_integer_and_text_ids_give_the_same_summary(cdnow_orders):
    ids, dates, values = cdnow_orders
    shuffled = np.random.default_rng(0).permutation(len(ids))
    ids, dates, values = ids[shuffled] - 1000, dates[shuffled], values[shuffled]  # negative ids too
    by_number = rfm_summary(ids, dates, values, "1998-06-30", "W", "1997-09-30", fractional=True)
    by_text = rfm_summary(ids.astype(str), dates, values, "1998-06-30", "W", "1997-09-30", fractional=True)
    order = np.argsort(by_text.customer_id.astype(int))
    assert np.array_equal(by_number.customer_id, by_text.customer_id[order].astype(int))
    for column in ("frequency", "recency", "T", "first_purchase"):
        assert np.array_equal(getattr(by_number, column), getattr(by_text, column)[order]), column
    # Same-day amounts may be added in another order: equal up to rounding.
    assert np.allclose(by_number.monetary_value, by_text.monetary_value[order], rtol=1e-12, atol=0)
    assert np.array_equal(by_number.holdout.frequency, by_text.holdout.frequency[order])
    assert np.array_equal(by_number.holdout.by_period, by_text.holdout.by_period)


def test_cdnow_summary_matches_the_published_one(cdnow, cdnow_published_summary):
    published = cdnow_published_summary
    assert len(cdnow) == 2357
    assert np.array_equal(cdnow.customer_id, published["ID"].astype(int))
    assert np.array_equal(cdnow.frequency, published["x"])
    # The published file rounds to two decimals.
    assert np.max(np.abs(cdnow.recency - published["t_x"])) <= 0.005 + 1e-9
    assert np.max(np.abs(cdnow.T - published["T"])) <= 0.005 + 1e-9
    assert np.max(np.abs(cdnow.monetary_value - published["zbar"])) <= 0.005 + 1e-9
    assert int((cdnow.frequency > 0).sum()) == 946


def test_cdnow_holdout(cdnow):
    holdout = cdnow.holdout
    assert holdout.duration == 39
    assert holdout.frequency.sum() == 1882
    assert len(holdout.by_period) == 39
    assert holdout.by_period.sum() == 1882
    # Calibration and holdout together: 4,339 repeat purchases in 78 weeks (same-day merged).
    assert cdnow.frequency.sum() + holdout.frequency.sum() == 4339


def test_holdout_leaves_out_customers_first_seen_after_the_calibration():
    table = rfm_summary([1, 1, 2, 2], days("2024-01-01", "2024-01-20", "2024-01-15", "2024-01-25"), [1, 1, 1, 1],
                        "2024-01-31", "D", "2024-01-10")
    assert list(table.customer_id) == [1]
    assert list(table.holdout.frequency) == [1]
    assert table.holdout.by_period.sum() == 1  # customer 2's purchases are not anyone's repeat


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"customer_ids": [], "dates": days(), "values": []}, "transactions: none"),
    ({"values": [1.0, float("nan")]}, "values: 1 missing"),
    ({"values": [1.0, -5.0]}, "values: 1 negative"),
    ({"dates": np.array(["2024-01-01", "NaT"], dtype="datetime64[D]")}, "dates: 1 missing"),
    ({"dates": ["2024-01-01", "yesterday"]}, "dates: not dates"),
    ({"values": [1.0]}, "inputs differ in length"),
    ({"period": "Q"}, "period: 'Q'"),
    ({"observation_end": None}, "observation_end: required"),
    ({"observation_end": "2023-01-01"}, "transactions: none on or before"),
    ({"calibration_end": "2023-06-01"}, "calibration_end: 2023-06-01 is before the first"),
    ({"calibration_end": "2024-12-31"}, "calibration_end: 2024-12-31 must be before observation_end"),
    ({"customer_ids": [1.0, float("nan")]}, "customer_ids: missing"),
])
def test_bad_transactions_are_rejected_with_the_field_named(kwargs, message):
    arguments = {"customer_ids": [1, 1], "dates": days("2024-01-01", "2024-02-01"), "values": [1.0, 2.0],
                 "observation_end": "2024-03-01", "period": "D"}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        rfm_summary(**arguments)
