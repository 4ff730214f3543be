"""Shifted-beta-geometric renewals against Fader & Hardie (2007)."""

from __future__ import annotations

import numpy as np
import pytest

from rapport.insights import fit_sbg

REGULAR = (1000, 631, 468, 382, 326, 289, 262, 241)
HIGH_END = (1000, 869, 743, 653, 593, 551, 517, 491)


@pytest.mark.parametrize(("survivors", "gamma", "delta"), [(REGULAR, 0.704, 1.182), (HIGH_END, 0.668, 3.806)])
def test_the_papers_cohorts_give_the_published_parameters(survivors, gamma, delta):
    fit = fit_sbg(survivors)
    assert round(fit.params["gamma"], 3) == gamma
    assert round(fit.params["delta"], 3) == delta
    assert all(np.isfinite(e) and e > 0 for e in fit.standard_errors.values())
    # The fitted curve follows the counts it came from.
    assert np.allclose(fit.survival(np.arange(len(survivors))) * 1000, survivors, atol=20)


def test_renewal_chance_rises_with_tenure():
    fit = fit_sbg(REGULAR)
    chances = fit.renewal_probability(np.arange(10))
    assert np.all(np.diff(chances) > 0)
    assert chances[0] == pytest.approx(1.182 / (0.704 + 1.182), rel=1e-3)  # first-year retention ~63%
    assert np.all((chances > 0) & (chances < 1))


def test_expected_remaining_lifetime():
    fit = fit_sbg(REGULAR)
    # Discounted: the closed form equals the sum over a long horizon.
    closed = fit.expected_remaining_lifetime([0, 3, 10], discount_rate=0.1)
    summed = fit.expected_remaining_lifetime([0, 3, 10], discount_rate=0.1, horizon=2000)
    assert np.allclose(closed, summed, rtol=1e-9)
    assert np.all(np.diff(closed) > 0)  # loyal customers are expected to stay longer
    within_five = fit.expected_remaining_lifetime([0], horizon=5)[0]
    assert 0 < within_five < 5
    # gamma < 1 here: some customers almost never leave, the plain mean is infinite.
    with pytest.raises(ValueError, match="infinite when gamma <= 1"):
        fit.expected_remaining_lifetime([0])


def test_undiscounted_mean_lifetime_when_it_is_finite():
    fit = fit_sbg((1000, 500, 260, 140, 80, 48))  # churny cohort, gamma > 1
    assert fit.params["gamma"] > 1
    mean = fit.expected_remaining_lifetime([2])[0]
    assert mean == pytest.approx(fit.expected_remaining_lifetime([2], horizon=20000)[0], rel=1e-3)


@pytest.mark.parametrize(("survivors", "message"), [
    ((1000, 600), "at least three counts"),
    ((1000, 600, 700), "must not rise"),
    ((1000, 1000, 1000), "nobody has left"),
    ((1000, 0, 0), "everybody left in the first period"),
    ((0, 0, 0), "period 0 is empty"),
    ((1000, 600.5, 300), "whole numbers"),
    ((1000, float("nan"), 300), "missing"),
])
def test_bad_counts_are_rejected_clearly(survivors, message):
    with pytest.raises(ValueError, match=message):
        fit_sbg(survivors)


def test_bad_tenure_is_rejected():
    fit = fit_sbg(REGULAR)
    with pytest.raises(ValueError, match="tenure"):
        fit.renewal_probability([-1])
    with pytest.raises(ValueError, match="discount_rate"):
        fit.expected_remaining_lifetime([1], discount_rate=-0.1)
