"""Bad customer summaries stop with a message naming the input, never with NaN scores."""

from __future__ import annotations

import numpy as np
import pytest

from rapport.insights import BGNBDFit, ParetoNBDFit, fit_bgnbd, fit_pareto_nbd

NAN = float("nan")
CASES = [
    (([], [], []), "frequency: empty"),
    (([2], [5.0], [10.0]), "customers: 1 given, at least 2"),
    (([0, 0, 0], [0.0, 0.0, 0.0], [10.0, 20.0, 30.0]), "every customer has zero repeat purchases"),
    (([1, -2], [5.0, 3.0], [10.0, 10.0]), "frequency: 1 negative"),
    (([1, 2], [5.0, -3.0], [10.0, 10.0]), "recency: 1 negative"),
    (([1, 2], [5.0, 3.0], [10.0, -1.0]), "T: 1 negative"),
    (([1, NAN], [5.0, 3.0], [10.0, 10.0]), "frequency: 1 missing"),
    (([1, 2], [NAN, 3.0], [10.0, 10.0]), "recency: 1 missing"),
    (([1, 2], [5.0, 3.0], [10.0, float("inf")]), "T: 1 missing or infinite"),
    (([1, 2.5], [5.0, 3.0], [10.0, 10.0]), "frequency: counts of repeat purchases must be whole"),
    (([1, 2], [5.0, 12.0], [10.0, 10.0]), "recency: 1 customer"),
    (([0, 2], [4.0, 3.0], [10.0, 10.0]), "recency: must be 0 for customers with no repeat"),
    (([1, 2], [5.0], [10.0, 10.0]), "inputs differ in length"),
    ((["a", "b"], [5.0, 3.0], [10.0, 10.0]), "frequency: not numbers"),
]


@pytest.mark.parametrize("fitter", [fit_bgnbd, fit_pareto_nbd])
@pytest.mark.parametrize(("columns", "message"), CASES)
def test_fits_reject_bad_summaries(fitter, columns, message):
    with pytest.raises(ValueError, match=message):
        fitter(*columns)


@pytest.mark.parametrize("model", [
    BGNBDFit.from_params({"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4}),
    ParetoNBDFit.from_params({"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7}),
])
def test_scores_reject_bad_histories_and_horizons(model):
    with pytest.raises(ValueError, match="recency: 1 missing"):
        model.probability_alive([1], [NAN], [10.0])
    with pytest.raises(ValueError, match="frequency: empty"):
        model.probability_alive([], [], [])
    with pytest.raises(ValueError, match="t: must be a finite, non-negative"):
        model.expected_purchases(-1.0, [1], [5.0], [10.0])
    with pytest.raises(ValueError, match="t: must be a finite, non-negative"):
        model.expected_purchases(NAN, [1], [5.0], [10.0])
    # One customer is enough to score.
    assert np.isfinite(model.expected_purchases(10.0, [1], [5.0], [10.0])).all()


def test_a_handful_of_customers_that_cannot_pin_the_model_down_fails_clearly():
    with pytest.raises(ValueError, match="bg_nbd: the data do not determine"):
        fit_bgnbd([1, 0], [10.0, 0.0], [10.0, 10.0])
    with pytest.raises(ValueError, match="pareto_nbd: the data do not determine"):
        fit_pareto_nbd([1, 0], [10.0, 0.0], [10.0, 10.0])
    with pytest.raises(ValueError, match="the data do not determine"):
        fit_bgnbd([3, 3], [9.0, 9.0], [10.0, 10.0])


def test_parameters_from_storage_are_checked():
    with pytest.raises(ValueError, match="params: expected r, alpha, a, b"):
        BGNBDFit.from_params({"r": 1.0, "alpha": 1.0})
    with pytest.raises(ValueError, match="above 0"):
        BGNBDFit.from_params({"r": 1.0, "alpha": -1.0, "a": 1.0, "b": 1.0})
