"""Customer lifetime value and intervals from parameter uncertainty.

Lifetime value over a horizon = sum over future periods k of
    (expected purchases in period k) / (1 + discount_rate)^(end of period k)  x  expected order value,
with the purchase model (BG/NBD or Pareto/NBD) giving the expected purchases from each customer's
history and the Gamma-Gamma model the expected value per purchase. The discount rate is per model
period (weeks for weekly data): an annual rate converts with `per_period_rate`.

For a segment, the 80% interval reflects how sure the estimates are: parameter vectors are drawn
from the fits' asymptotic normal distributions (the inverse-Hessian covariances), the segment's
figure is recomputed for each draw, and the 10th and 90th percentiles are reported. It does not
include the chance variation of what individual customers will do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rapport.insights._checks import as_float_array, check_customers, require_same_length
from rapport.insights._collapse import unique_rows
from rapport.insights.fitting import ModelFit

BLOCK = 50_000  # distinct customer histories per block: bounds memory to horizon-steps x BLOCK floats


def per_period_rate(annual_rate: float, periods_per_year: float) -> float:
    """The per-period discount rate equivalent to an annual one (e.g. 52 periods for weeks)."""
    if not np.isfinite(annual_rate) or annual_rate < 0 or periods_per_year <= 0:
        raise ValueError("annual_rate: must be a finite number >= 0, periods_per_year > 0")
    return (1.0 + annual_rate) ** (1.0 / periods_per_year) - 1.0


def discounted_expected_purchases(purchases_fit: ModelFit, frequency, recency, T, *, horizon: float,
                                  discount_rate: float, step: float = 1.0) -> np.ndarray:
    """Sum over the steps of the horizon of expected purchases in that step, discounted to today."""
    x, t_x, T = check_customers(frequency, recency, T, minimum=1)
    times = _steps(horizon, step)
    if not np.isfinite(discount_rate) or discount_rate < 0:
        raise ValueError("discount_rate: must be a finite number >= 0 (per period)")
    discount = (1.0 + discount_rate) ** -times
    (ux, ut_x, uT), _, inverse = unique_rows(x, t_x, T)
    result = np.empty(len(ux))
    for start in range(0, len(ux), BLOCK):
        part = slice(start, start + BLOCK)
        cumulative = purchases_fit.expected_purchases(times, ux[part], ut_x[part], uT[part])
        per_step = np.diff(cumulative, axis=0, prepend=0.0)
        result[part] = discount @ per_step
    return result[inverse]


def customer_lifetime_value(purchases_fit: ModelFit, value_fit: ModelFit, frequency, recency, T,
                            monetary_value, *, horizon: float, discount_rate: float,
                            step: float = 1.0) -> np.ndarray:
    """Discounted expected purchases over the horizon x expected value per purchase, per customer."""
    require_same_length(frequency=as_float_array("frequency", frequency),
                        monetary_value=as_float_array("monetary_value", monetary_value))
    purchases = discounted_expected_purchases(purchases_fit, frequency, recency, T, horizon=horizon,
                                              discount_rate=discount_rate, step=step)
    return purchases * value_fit.expected_order_value(frequency, monetary_value)


def _steps(horizon: float, step: float) -> np.ndarray:
    if not np.isfinite(horizon) or horizon <= 0:
        raise ValueError("horizon: must be a positive number of periods")
    if not np.isfinite(step) or step <= 0:
        raise ValueError("step: must be a positive number of periods")
    count = int(np.ceil(horizon / step - 1e-9))
    return np.minimum(np.arange(1, count + 1) * step, horizon)


@dataclass(frozen=True)
class Interval:
    estimate: float  # the figure at the fitted parameters
    low: float
    high: float
    level: float
    draws: int


def segment_interval(statistic: Callable[..., float], *fits: ModelFit, level: float = 0.8, draws: int = 500,
                     seed: int = 0) -> Interval:
    """Interval for a segment figure (e.g. its total lifetime value) from parameter uncertainty.

    `statistic` receives one fit per given fit (same order) and returns a number; it is evaluated
    at the estimates and at `draws` parameter vectors sampled from each fit's asymptotic normal.
    """
    if not 0 < level < 1:
        raise ValueError("level: must be between 0 and 1 (e.g. 0.8 for an 80% interval)")
    if draws < 10:
        raise ValueError("draws: at least 10 are needed for an interval")
    if not fits:
        raise ValueError("fits: at least one fitted model is needed")
    rng = np.random.default_rng(seed)
    samples = [fit.sample_params(draws, rng) for fit in fits]
    estimate = float(statistic(*fits))
    values = np.array([float(statistic(*(fit.with_params(sample[i]) for fit, sample in zip(fits, samples,
                                                                                               strict=True))))
                       for i in range(draws)])
    values = values[np.isfinite(values)]
    if len(values) < draws // 2:
        raise ValueError("statistic: not finite for most parameter draws, so no interval can be given")
    tail = (1 - level) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return Interval(estimate=estimate, low=float(low), high=float(high), level=level, draws=len(values))
