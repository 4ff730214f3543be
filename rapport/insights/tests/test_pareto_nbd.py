"""Pareto/NBD against the published CDNOW fit, its likelihood against direct integration in every
regime (including those where the hypergeometric function fails), and score properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.special import gammaln

from rapport.insights import ParetoNBDFit
from rapport.insights.pareto_nbd import _log_J_numeric, _log_terms, row_log_likelihood

PUBLISHED = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}


def test_cdnow_parameters_and_log_likelihood_match_the_published_fit(pareto_cdnow):
    for name, value in PUBLISHED.items():
        assert round(pareto_cdnow.params[name], 3) == value, name
    assert round(pareto_cdnow.log_likelihood, 1) == -9595.0
    assert all(np.isfinite(e) and e > 0 for e in pareto_cdnow.standard_errors.values())


def test_cumulative_forecast_to_week_78(cdnow, pareto_cdnow):
    forecast = pareto_cdnow.expected_purchases_new_customer(78 - cdnow.birth_times("1997-01-01")).sum()
    assert abs(forecast / 4339 - 1) < 0.04


def direct_log_likelihood(r, alpha, s, beta, x, t_x, T):
    """The likelihood straight from its definition, integrating over the dropout time."""
    def integrand(u):
        return s * beta**s * (alpha + u) ** -(r + x) * (beta + u) ** -(s + 1)
    scale = np.exp(gammaln(r + x) - gammaln(r) + r * np.log(alpha))
    points = np.linspace(t_x, T, 50)[1:-1]
    dead = quad(integrand, t_x, T, limit=500, epsabs=0, epsrel=1e-12, points=points)[0] if T > t_x else 0.0
    alive = beta**s * (alpha + T) ** -(r + x) * (beta + T) ** -s
    return np.log(scale) + np.log(alive + dead)


@pytest.mark.parametrize(("params", "x", "t_x", "T"), [
    ((0.553, 10.578, 0.606, 11.669), 2, 30.43, 38.86),   # CDNOW-like, alpha < beta
    ((0.553, 10.578, 0.606, 11.669), 0, 0.0, 38.86),
    ((1.2, 20.0, 0.8, 3.0), 7, 12.0, 40.0),              # alpha > beta
    ((0.5, 5.0, 0.5, 5.0), 3, 10.0, 30.0),                # alpha = beta
    ((0.08, 372.0, 0.05, 0.27), 12, 0.05, 0.4),           # z close to 1, where 2F1 fails
    ((0.3, 2.0, 1.5, 150.0), 9, 1.0, 80.0),
])
def test_log_likelihood_matches_direct_integration(params, x, t_x, T):
    ours = row_log_likelihood(params, np.array([float(x)]), np.array([t_x]), np.array([T]))[0]
    assert ours == pytest.approx(direct_log_likelihood(*params, x, t_x, T), rel=1e-9, abs=1e-9)


def test_numeric_integral_agrees_with_the_hypergeometric_form_where_both_work():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 60, 300).astype(float)
    T = rng.uniform(1, 100, 300)
    t_x = np.where(x > 0, T * rng.uniform(0, 0.95, 300), 0.0)
    for params in ((0.553, 10.578, 0.606, 11.669), (1.2, 20.0, 0.8, 14.0)):
        _, leaves = _log_terms(params, x, t_x, T)
        numeric = np.log(params[2]) + _log_J_numeric(*params, x, t_x, T)
        assert np.allclose(leaves, numeric, rtol=0, atol=1e-9)


def test_log_likelihood_is_finite_for_200_repeat_purchases(pareto_cdnow):
    params = tuple(pareto_cdnow.params.values())
    x = np.array([200.0, 200.0, 200.0, 1000.0])
    t_x = np.array([38.0, 1.0, 0.01, 500.0])
    T = np.array([39.0, 39.0, 3900.0, 5000.0])
    assert np.all(np.isfinite(row_log_likelihood(params, x, t_x, T)))
    for extreme in ((0.08, 372.0, 0.05, 0.27), (0.5, 0.05, 3.0, 900.0), (20.0, 500.0, 20.0, 0.05)):
        assert np.all(np.isfinite(row_log_likelihood(extreme, x, t_x, T))), extreme
    alive = pareto_cdnow.probability_alive(x, t_x, T)
    assert np.all(np.isfinite(alive)) and np.all((alive >= 0) & (alive <= 1))


def test_s_equal_to_one_is_continuous():
    base = {"r": 0.5, "alpha": 10.0, "beta": 12.0}
    values = [ParetoNBDFit.from_params(dict(base, s=s)).expected_purchases(20.0, [3], [15.0], [30.0])[0]
              for s in (1 - 1e-6, 1.0, 1 + 1e-6)]
    assert values[0] == pytest.approx(values[1], rel=1e-5)
    assert values[2] == pytest.approx(values[1], rel=1e-5)


parameters = st.fixed_dictionaries({
    "r": st.floats(0.02, 20), "alpha": st.floats(0.05, 500), "s": st.floats(0.02, 20), "beta": st.floats(0.05, 500)})
histories = st.lists(st.tuples(st.integers(0, 400), st.floats(0.01, 2000), st.floats(0, 1)), min_size=1,
                     max_size=20)


@settings(max_examples=200, deadline=None)
@given(parameters, histories)
def test_scores_are_finite_bounded_and_grow_with_the_horizon(params, rows):
    model = ParetoNBDFit.from_params(params)
    x = np.array([row[0] for row in rows], dtype=float)
    T = np.array([row[1] for row in rows])
    t_x = np.where(x > 0, T * np.array([row[2] for row in rows]), 0.0)
    alive = model.probability_alive(x, t_x, T)
    assert np.all(np.isfinite(alive)) and np.all((alive >= 0) & (alive <= 1))
    horizons = np.array([0.0, 1.0, 10.0, 52.0, 520.0])
    expected = model.expected_purchases(horizons, x, t_x, T)
    assert np.all(np.isfinite(expected)) and np.all(expected >= 0)
    assert np.all(np.diff(expected, axis=0) >= -1e-9 * (1 + expected[1:]))
