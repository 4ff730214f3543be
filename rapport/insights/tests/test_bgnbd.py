"""BG/NBD against Fader, Hardie & Lee (2005) on CDNOW, its formulas against direct integration,
and the properties every score must have."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.special import betaln

from rapport.insights import BGNBDFit, bgnbd, fit_bgnbd
from rapport.insights.bgnbd import _expected_if_alive, _expected_if_alive_numeric, _Likelihood, log_likelihood

from .conftest import simulate_bgnbd

PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def test_cdnow_parameters_and_log_likelihood_match_the_paper(bgnbd_cdnow):
    for name, value in PUBLISHED.items():
        assert round(bgnbd_cdnow.params[name], 3) == value, name
    assert round(bgnbd_cdnow.log_likelihood, 1) == -9582.4
    assert bgnbd_cdnow.n_customers == 2357


def test_standard_errors_come_from_the_hessian(bgnbd_cdnow):
    errors = bgnbd_cdnow.standard_errors
    assert all(np.isfinite(e) and 0 < e < bgnbd_cdnow.params[n] for n, e in errors.items())
    # Well-known values for this data set (inverse Hessian of the log-likelihood).
    assert errors["r"] == pytest.approx(0.0126, abs=5e-4)
    assert errors["alpha"] == pytest.approx(0.378, abs=5e-3)
    assert np.allclose(bgnbd_cdnow.covariance, bgnbd_cdnow.covariance.T)


def test_cumulative_repeat_purchases_to_week_78_within_4_percent(cdnow, bgnbd_cdnow):
    # Each customer's expected repeat purchases from their first purchase to the end of week 78.
    ages = 78 - cdnow.birth_times("1997-01-01")
    forecast = bgnbd_cdnow.expected_purchases_new_customer(ages).sum()
    assert abs(forecast / 4339 - 1) < 0.04


def test_holdout_forecast_is_in_the_right_range(cdnow, bgnbd_cdnow):
    predicted = bgnbd_cdnow.expected_purchases(39, cdnow.frequency, cdnow.recency, cdnow.T)
    assert predicted.sum() == pytest.approx(cdnow.holdout.frequency.sum(), rel=0.15)
    assert np.all(np.isfinite(predicted)) and np.all(predicted >= 0)


def test_probability_alive_is_one_without_repeat_purchases(cdnow, bgnbd_cdnow):
    alive = bgnbd_cdnow.probability_alive(cdnow.frequency, cdnow.recency, cdnow.T)
    assert np.all(alive[cdnow.frequency == 0] == 1.0)
    assert np.all((alive >= 0) & (alive <= 1))
    # Someone who bought often early on and then stopped is probably gone.
    assert bgnbd_cdnow.probability_alive([20], [2.0], [39.0])[0] < 0.01


def test_expected_purchases_agree_with_direct_integration():
    params = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for x, T, t in [(0, 0.0, 39.0), (3, 30.0, 10.0), (200, 39.0, 52.0), (1, 5.0, 0.5)]:
        # Alive at T: lambda ~ Gamma(r+x, alpha+T), p ~ Beta(a, b+x); E = E[(1 - exp(-lambda p t)) / p].
        def integrand(p, x=x, T=T, t=t):
            density = np.exp((params["a"] - 1) * np.log(p) + (params["b"] + x - 1) * np.log1p(-p)
                             - betaln(params["a"], params["b"] + x))
            no_purchase = ((params["alpha"] + T) / (params["alpha"] + T + p * t)) ** (params["r"] + x)
            return (1 - no_purchase) / p * density
        expected = quad(integrand, 0, 1, limit=200, epsrel=1e-11)[0]
        formula = _expected_if_alive(params, np.array([float(x)]), np.array([T]), t)[0]
        assert formula == pytest.approx(expected, rel=1e-7)


def test_forecast_survives_where_the_library_hypergeometric_fails():
    # scipy's 2F1(46, 1; 122; 0.963) returns inf; the forecast falls back to direct integration.
    params = {"r": 1.0, "alpha": 1.0, "a": 2.0, "b": 46.0}
    horizons = np.array([1.0, 10.0, 52.0, 520.0])
    forecast = _expected_if_alive(params, np.full(4, 75.0), np.full(4, 1.0), horizons)
    assert np.all(np.isfinite(forecast)) and np.all(np.diff(forecast) > 0)
    assert forecast[2] == pytest.approx(_expected_if_alive_numeric(1.0, 1.0, 2.0, 46.0, np.array([75.0]),
                                                                   np.array([1.0]), np.array([52.0]))[0])


@pytest.mark.parametrize("params", [
    {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
    {"r": 0.243, "alpha": 4.414, "a": 0.02, "b": 0.3},
    {"r": 5.0, "alpha": 0.1, "a": 15.0, "b": 0.05},
    {"r": 1.0, "alpha": 1.0, "a": 2.0, "b": 46.0},
])
def test_closed_form_and_numeric_integral_agree(params):
    x, T, t = np.array([0.0, 3.0, 200.0, 75.0]), np.array([0.0, 30.0, 39.0, 5.0]), np.array([39.0, 10.0, 52.0, 0.5])
    numeric = _expected_if_alive_numeric(*params.values(), x, T, t)
    assert np.allclose(_expected_if_alive(params, x, T, t), numeric, rtol=1e-9)


def test_the_a_equals_1_singularity_is_removed():
    params = {"r": 0.5, "alpha": 5.0, "b": 2.0}
    values = [_expected_if_alive(dict(params, a=a), np.array([2.0]), np.array([20.0]), 10.0)[0]
              for a in (1 - 1e-3, 1 - 1e-5, 1.0, 1 + 1e-5, 1 + 1e-3)]
    assert np.all(np.isfinite(values))
    assert np.all(np.diff(values) < 0) or np.all(np.diff(values) > 0)  # smooth and monotone through a = 1


def test_analytic_gradient_and_hessian_match_finite_differences():
    x, t_x, T = simulate_bgnbd(5_000, 0.3, 5.0, 0.8, 2.5, seed=3)
    likelihood = _Likelihood(x, t_x, T)
    theta = np.array([0.35, 6.0, 0.9, 2.2])
    _, gradient, hessian = likelihood.evaluate(theta)
    for i in range(4):
        step = 1e-6 * theta[i]
        up, down = theta.copy(), theta.copy()
        up[i] += step
        down[i] -= step
        numeric = (likelihood.evaluate(up, hessian=False)[0] - likelihood.evaluate(down, hessian=False)[0]) / (2 * step)
        assert gradient[i] == pytest.approx(numeric, rel=1e-5, abs=1e-3)
        numeric_column = (likelihood.evaluate(up)[1] - likelihood.evaluate(down)[1]) / (2 * step)
        assert np.allclose(hessian[:, i], numeric_column, rtol=1e-5, atol=1e-3 * np.abs(hessian).max() * 1e-3)


def test_collapsed_likelihood_equals_the_per_customer_sum():
    x, t_x, T = simulate_bgnbd(3_000, 0.3, 5.0, 0.8, 2.5, seed=4)
    r, alpha, a, b = 0.35, 6.0, 0.9, 2.2
    first = (betaln(a, b + x) - betaln(a, b) + _lgamma_ratio(r, x) + r * np.log(alpha)
             - (r + x) * np.log(alpha + T))
    second = np.where(x > 0, betaln(a + 1, b + x - 1) - betaln(a, b) + _lgamma_ratio(r, x) + r * np.log(alpha)
                      - (r + x) * np.log(alpha + t_x), -np.inf)
    direct = np.logaddexp(first, second).sum()
    assert log_likelihood([r, alpha, a, b], x, t_x, T) == pytest.approx(direct, rel=1e-12)


def _lgamma_ratio(r, x):
    from scipy.special import gammaln
    return gammaln(r + x) - gammaln(r)


def test_recovers_known_parameters_from_simulated_customers():
    truth = {"r": 0.5, "alpha": 6.0, "a": 0.7, "b": 3.0}
    x, t_x, T = simulate_bgnbd(60_000, *truth.values(), seed=11)  # above the pilot size
    fit = fit_bgnbd(x, t_x, T)
    for name, value in truth.items():
        # Within four standard errors of the truth (the day grid biases recency a little).
        assert abs(fit.params[name] - value) < 4 * fit.standard_errors[name] + 0.02 * value, name


def test_pilot_start_and_direct_search_reach_the_same_optimum():
    x, t_x, T = simulate_bgnbd(60_000, 0.3, 4.0, 0.8, 2.5, seed=12)
    from_pilot = fit_bgnbd(x, t_x, T)
    from_defaults = fit_bgnbd(x, t_x, T, start=(1.0, 1.0, 1.0, 1.0))
    for name in from_pilot.params:
        assert from_pilot.params[name] == pytest.approx(from_defaults.params[name], rel=1e-7)


def test_log_likelihood_is_finite_for_200_repeat_purchases(bgnbd_cdnow):
    params = list(bgnbd_cdnow.params.values())
    assert np.isfinite(log_likelihood(params, [200, 0, 5], [38.0, 0.0, 20.0], [39.0, 39.0, 39.0]))
    assert np.isfinite(log_likelihood(params, [5000], [4000.0], [5000.0]))
    heavy = bgnbd_cdnow.expected_purchases(52, [200], [38.5], [39.0])
    assert np.isfinite(heavy[0]) and heavy[0] > 50


parameters = st.fixed_dictionaries({
    "r": st.floats(0.02, 20), "alpha": st.floats(0.05, 500), "a": st.floats(0.02, 20), "b": st.floats(0.02, 50)})
histories = st.lists(st.tuples(st.integers(0, 400), st.floats(0.01, 2000), st.floats(0, 1)), min_size=1,
                     max_size=20)


@settings(max_examples=200, deadline=None)
@given(parameters, histories)
def test_scores_are_finite_bounded_and_grow_with_the_horizon(params, rows):
    model = BGNBDFit.from_params(params)
    x = np.array([row[0] for row in rows], dtype=float)
    T = np.array([row[1] for row in rows])
    t_x = np.where(x > 0, T * np.array([row[2] for row in rows]), 0.0)
    alive = model.probability_alive(x, t_x, T)
    assert np.all(np.isfinite(alive)) and np.all((alive >= 0) & (alive <= 1))
    assert np.all(alive[x == 0] == 1.0)
    horizons = np.array([0.0, 1.0, 10.0, 52.0, 520.0])
    expected = model.expected_purchases(horizons, x, t_x, T)
    assert np.all(np.isfinite(expected)) and np.all(expected >= 0)
    assert np.all(expected[0] == 0)
    assert np.all(np.diff(expected, axis=0) >= -1e-9 * (1 + expected[1:]))


def test_a_fit_with_one_dropout_chance_for_everyone_predicts_without_the_slow_integral(monkeypatch):
    # Large a and b: the same chance p = a / (a + b) of leaving after each purchase for everyone.
    # The numerical integral took minutes for 500 histories at such values; it must not be needed.
    a, b = 77_423.0, 667_269.0
    fit = BGNBDFit.from_params({"r": 0.84, "alpha": 21.6, "a": a, "b": b})
    x, t_x, T = np.array([0.0, 3, 12, 40]), np.array([0.0, 20, 60, 69]), np.array([30.0, 40, 70, 70])

    def slow(*args):
        raise AssertionError("the slow numerical integral was used")

    monkeypatch.setattr(bgnbd, "_expected_if_alive_numeric", slow)
    expected = fit.expected_purchases(52.0, x, t_x, T)
    monkeypatch.undo()
    # Expected purchases approach their limit as 1 / (a + b): two concentrations still computed
    # directly at this horizon (6,000 and 8,000) pin it, and this a + b is so large that its value
    # is the limit's to 0.02%.
    p = a / (a + b)
    v1, v2 = (bgnbd._expected_if_alive_direct({"r": 0.84, "alpha": 21.6, "a": p * c, "b": (1 - p) * c}, x, T, 52.0)
              for c in (6_000.0, 8_000.0))
    alive = fit.probability_alive(x, t_x, T)
    assert expected == pytest.approx((4 * v2 - 3 * v1) * alive, rel=2e-3)


def test_a_moderately_concentrated_fit_is_computed_directly():
    params = {"r": 0.84, "alpha": 21.6, "a": 300.0, "b": 1_500.0}
    x, T = np.array([0.0, 3, 12, 40]), np.array([30.0, 40, 70, 70])
    assert np.array_equal(bgnbd._expected_if_alive(params, x, T, 52.0),
                          bgnbd._expected_if_alive_direct(params, x, T, 52.0))
    # ...and just above the direct range the interpolation joins it smoothly.
    above = dict(params, a=300.0 * 2_100 / 1_800, b=1_500.0 * 2_100 / 1_800)
    assert bgnbd._expected_if_alive(above, x, T, 52.0) == pytest.approx(
        bgnbd._expected_if_alive_direct(above, x, T, 52.0), rel=1e-3)
