"""Gamma-Gamma spend model against Fader, Hardie & Lee's CDNOW figures."""

from __future__ import annotations

import numpy as np
import pytest

from rapport.insights import GammaGammaFit, fit_gamma_gamma


def test_cdnow_repeat_buyers_give_the_published_parameters(gamma_gamma_cdnow):
    assert gamma_gamma_cdnow.n_customers == 946  # only repeat buyers carry information
    assert round(gamma_gamma_cdnow.params["p"], 2) == 6.25
    assert round(gamma_gamma_cdnow.params["q"], 2) == 3.74
    assert round(gamma_gamma_cdnow.params["gamma"], 2) == 15.44
    assert all(np.isfinite(e) and e > 0 for e in gamma_gamma_cdnow.standard_errors.values())


def test_expected_order_value_shrinks_each_customer_towards_the_population(gamma_gamma_cdnow):
    model = gamma_gamma_cdnow
    population = model.population_mean()
    assert population == pytest.approx(6.25 * 15.44 / 2.74, rel=2e-3)
    values = model.expected_order_value([0, 1, 10, 1, 10], [0.0, 100.0, 100.0, 5.0, 5.0])
    assert values[0] == pytest.approx(population)
    # Between the population mean and their own, closer to their own the more purchases they made.
    assert population < values[1] < values[2] < 100
    assert 5 < values[4] < values[3] < population


def test_the_cdnow_mean_prediction_is_close_to_the_observed_mean(cdnow, gamma_gamma_cdnow):
    repeat = cdnow.frequency > 0
    predicted = gamma_gamma_cdnow.expected_order_value(cdnow.frequency[repeat], cdnow.monetary_value[repeat])
    assert predicted.mean() == pytest.approx(cdnow.monetary_value[repeat].mean(), rel=0.02)


@pytest.mark.parametrize(("frequency", "monetary", "message"), [
    ([], [], "frequency: empty"),
    ([1, 2], [10.0, float("nan")], "monetary_value: 1 missing"),
    ([1, 2], [10.0, -3.0], "monetary_value: 1 negative"),
    ([1, 2], [10.0, 0.0], "monetary_value: must be above 0"),
    ([0, 0, 3], [0.0, 0.0, 10.0], "frequency: 1 customer"),
    ([2, 3, 4], [10.0, 10.0, 10.0], "every repeat buyer has the same"),
    ([1, 2], [10.0], "inputs differ in length"),
])
def test_bad_input_is_rejected_clearly(frequency, monetary, message):
    with pytest.raises(ValueError, match=message):
        fit_gamma_gamma(frequency, monetary)


def test_no_finite_average_when_q_is_at_most_one():
    model = GammaGammaFit.from_params({"p": 2.0, "q": 0.8, "gamma": 10.0})
    with pytest.raises(ValueError, match="q <= 1"):
        model.expected_order_value([0], [0.0])
    assert np.isfinite(model.expected_order_value([3], [20.0])[0])
