"""Lifetime value and intervals from parameter uncertainty."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rapport.insights import (
    BGNBDFit,
    GammaGammaFit,
    customer_lifetime_value,
    discounted_expected_purchases,
    per_period_rate,
    segment_interval,
)

WEEKLY = per_period_rate(0.10, 52)


def test_per_period_rate_compounds_to_the_annual_rate():
    assert (1 + per_period_rate(0.10, 52)) ** 52 == pytest.approx(1.10)
    assert per_period_rate(0.0, 12) == 0.0
    with pytest.raises(ValueError, match="annual_rate"):
        per_period_rate(-0.1, 12)


def test_undiscounted_value_is_expected_purchases_times_order_value(cdnow, bgnbd_cdnow, gamma_gamma_cdnow):
    args = (cdnow.frequency, cdnow.recency, cdnow.T)
    purchases = discounted_expected_purchases(bgnbd_cdnow, *args, horizon=52, discount_rate=0.0)
    assert np.allclose(purchases, bgnbd_cdnow.expected_purchases(52, *args))
    value = customer_lifetime_value(bgnbd_cdnow, gamma_gamma_cdnow, *args, cdnow.monetary_value, horizon=52,
                                    discount_rate=0.0)
    order_value = gamma_gamma_cdnow.expected_order_value(cdnow.frequency, cdnow.monetary_value)
    assert np.allclose(value, purchases * order_value)


def test_discounting_lowers_value_and_longer_horizons_raise_it(cdnow, bgnbd_cdnow, gamma_gamma_cdnow):
    args = (bgnbd_cdnow, gamma_gamma_cdnow, cdnow.frequency, cdnow.recency, cdnow.T, cdnow.monetary_value)
    plain = customer_lifetime_value(*args, horizon=52, discount_rate=0.0)
    discounted = customer_lifetime_value(*args, horizon=52, discount_rate=WEEKLY)
    longer = customer_lifetime_value(*args, horizon=104, discount_rate=WEEKLY)
    assert np.all(discounted < plain) and np.all(longer > discounted)
    assert np.all(np.isfinite(longer)) and np.all(longer >= 0)
    # A step that does not divide the horizon still ends at the horizon.
    monthly = customer_lifetime_value(*args, horizon=52, discount_rate=WEEKLY, step=4.33)
    assert np.allclose(monthly, discounted, rtol=0.01)


def test_value_rises_with_frequency_for_recent_buyers(bgnbd_cdnow, pareto_cdnow, gamma_gamma_cdnow):
    frequency = np.arange(1, 61, dtype=float)
    T = np.full(60, 39.0)
    for model in (bgnbd_cdnow, pareto_cdnow):
        for spend in (5.0, 35.0, 200.0):
            value = customer_lifetime_value(model, gamma_gamma_cdnow, frequency, T, T, np.full(60, spend),
                                            horizon=52, discount_rate=WEEKLY)
            assert np.all(np.diff(value) > 0), (model.model, spend)


def test_frequent_buyers_who_went_quiet_are_worth_less(bgnbd_cdnow, gamma_gamma_cdnow):
    # The "frequency paradox": at the same recency, many past purchases followed by a long silence
    # say the customer has probably left.
    frequency = np.array([2.0, 30.0])
    value = customer_lifetime_value(bgnbd_cdnow, gamma_gamma_cdnow, frequency, [10.0, 10.0], [39.0, 39.0],
                                    [35.0, 35.0], horizon=52, discount_rate=WEEKLY)
    assert value[1] < value[0]


@settings(max_examples=100, deadline=None)
@given(st.floats(0.05, 5), st.floats(0.5, 50), st.floats(0.1, 5), st.floats(0.1, 10), st.floats(0.5, 20),
       st.floats(1.2, 20), st.floats(1, 100), st.floats(1.0, 5.0), st.floats(1, 200))
def test_value_rises_with_frequency_at_recency_equal_to_age(r, alpha, a, b, p, q, gamma, above_mean, T):
    purchases = BGNBDFit.from_params({"r": r, "alpha": alpha, "a": a, "b": b})
    spend = GammaGammaFit.from_params({"p": p, "q": q, "gamma": gamma})
    frequency = np.arange(1, 41, dtype=float)
    ages = np.full(40, T)
    monetary = np.full(40, spend.population_mean() * above_mean)
    value = customer_lifetime_value(purchases, spend, frequency, ages, ages, monetary, horizon=52,
                                    discount_rate=WEEKLY)
    assert np.all(np.isfinite(value))
    assert np.all(np.diff(value) > -1e-12 * value[1:])


def test_segment_interval_brackets_the_estimate(cdnow, bgnbd_cdnow, gamma_gamma_cdnow):
    loyal = cdnow.frequency >= 3

    def segment_value(purchases, spend):
        return customer_lifetime_value(purchases, spend, cdnow.frequency[loyal], cdnow.recency[loyal],
                                       cdnow.T[loyal], cdnow.monetary_value[loyal], horizon=52,
                                       discount_rate=WEEKLY).sum()

    interval = segment_interval(segment_value, bgnbd_cdnow, gamma_gamma_cdnow, draws=100, seed=1)
    assert interval.low < interval.estimate < interval.high
    assert interval.level == 0.8 and interval.draws == 100
    assert (interval.high - interval.low) / interval.estimate < 0.5
    again = segment_interval(segment_value, bgnbd_cdnow, gamma_gamma_cdnow, draws=100, seed=1)
    assert again == interval  # reproducible with the same seed
    wider = segment_interval(segment_value, bgnbd_cdnow, gamma_gamma_cdnow, level=0.95, draws=100, seed=1)
    assert wider.low < interval.low and wider.high > interval.high


def test_segment_interval_for_expected_purchases(cdnow, bgnbd_cdnow):
    interval = segment_interval(
        lambda model: model.expected_purchases(39, cdnow.frequency, cdnow.recency, cdnow.T).sum(), bgnbd_cdnow,
        draws=200)
    assert interval.low < interval.estimate < interval.high


def test_interval_needs_standard_errors():
    model = BGNBDFit.from_params({"r": 0.2, "alpha": 4.0, "a": 0.8, "b": 2.4})  # no covariance known
    with pytest.raises(ValueError, match="standard errors are not available"):
        segment_interval(lambda m: 1.0, model)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"horizon": 0}, "horizon: must be a positive"),
    ({"horizon": float("nan")}, "horizon: must be a positive"),
    ({"discount_rate": -0.01}, "discount_rate: must be a finite number >= 0"),
    ({"step": 0}, "step: must be a positive"),
])
def test_bad_value_settings_are_rejected(kwargs, message, bgnbd_cdnow, gamma_gamma_cdnow):
    arguments = {"horizon": 52, "discount_rate": WEEKLY}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        customer_lifetime_value(bgnbd_cdnow, gamma_gamma_cdnow, [1], [5.0], [10.0], [20.0], **arguments)


def test_bad_segment_settings_are_rejected(bgnbd_cdnow):
    with pytest.raises(ValueError, match="level"):
        segment_interval(lambda m: 1.0, bgnbd_cdnow, level=80)
    with pytest.raises(ValueError, match="draws"):
        segment_interval(lambda m: 1.0, bgnbd_cdnow, draws=3)
