"""The shifted-beta-geometric model of contract renewals (Fader & Hardie 2007, "How to project
customer retention").

Each customer renews at the end of every period with their own probability 1 - theta, where
theta ~ Beta(gamma, delta) across customers. The chance of leaving in period t, and of being still
there after t periods, are

    P(T = t) = B(gamma + 1, delta + t - 1) / B(gamma, delta),  S(t) = B(gamma, delta + t) / B(gamma, delta).

Retention rises with tenure not because anyone changes but because the likely leavers go first;
that is why a customer's renewal chance and remaining lifetime depend on how long they have stayed.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, digamma, hyp2f1

from rapport.insights._checks import as_float_array
from rapport.insights.fitting import ModelFit, maximise

NAMES = ("gamma", "delta")


class SBGFit(ModelFit):
    names = NAMES
    model_name = "sbg"

    def survival(self, t) -> np.ndarray:
        """Share of a starting cohort still a customer after t periods."""
        gamma, delta = self.params["gamma"], self.params["delta"]
        t = _check_tenure("t", t)
        return np.exp(betaln(gamma, delta + t) - betaln(gamma, delta))

    def renewal_probability(self, tenure) -> np.ndarray:
        """Chance that a customer who has renewed `tenure` times renews once more."""
        gamma, delta = self.params["gamma"], self.params["delta"]
        tenure = _check_tenure("tenure", tenure)
        return (delta + tenure) / (gamma + delta + tenure)

    def expected_remaining_lifetime(self, tenure, *, discount_rate: float = 0.0, horizon: int | None = None):
        """Expected number of further renewals of a current customer with the given tenure.

        Each future period counts 1 / (1 + discount_rate)^k. Without a horizon and without
        discounting, the mean is infinite when gamma <= 1 (a heavy tail of customers who almost
        never leave), so then a horizon or a discount rate is required.
        """
        gamma, delta = self.params["gamma"], self.params["delta"]
        tenure = _check_tenure("tenure", tenure)
        if discount_rate < 0 or not np.isfinite(discount_rate):
            raise ValueError("discount_rate: must be a finite number >= 0")
        factor = 1.0 / (1.0 + discount_rate)
        if horizon is not None:
            if horizon < 0 or int(horizon) != horizon:
                raise ValueError("horizon: must be a whole number of periods >= 0")
            total = np.zeros_like(tenure, dtype=np.float64)
            staying = np.ones_like(total)
            for k in range(1, int(horizon) + 1):
                staying = staying * (delta + tenure + k - 1) / (gamma + delta + tenure + k - 1)
                total += staying * factor**k
            return total
        if discount_rate == 0:
            if gamma <= 1:
                raise ValueError(f"horizon: the expected lifetime is infinite when gamma <= 1 (here {gamma:.3f}); "
                                 "give a horizon or a discount rate")
            return (delta + tenure) / (gamma - 1)
        return hyp2f1(1.0, delta + tenure, gamma + delta + tenure, factor) - 1.0


def _check_tenure(name: str, values) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ValueError(f"{name}: must be a finite number of periods >= 0")
    return array


def _check_survivors(survivors) -> np.ndarray:
    counts = as_float_array("survivors", survivors)
    if len(counts) < 3:
        raise ValueError("survivors: at least three counts (periods 0, 1 and 2) are needed to tell the spread of "
                         "renewal chances from their mean")
    if np.any(counts < 0) or np.any(counts != np.round(counts)):
        raise ValueError("survivors: counts of customers must be whole numbers >= 0")
    if counts[0] <= 0:
        raise ValueError("survivors: the cohort at period 0 is empty")
    rising = np.diff(counts) > 0
    if rising.any():
        at = int(np.flatnonzero(rising)[0]) + 1
        raise ValueError(f"survivors: counts must not rise (period {at} has more customers than period {at - 1})")
    if counts[-1] == counts[0]:
        raise ValueError("survivors: nobody has left yet, so churn cannot be estimated")
    if counts[1] == 0:
        raise ValueError("survivors: everybody left in the first period, so renewal chances cannot be estimated")
    return counts


def log_likelihood(params, counts) -> float:
    gamma, delta = params
    periods = np.arange(1, len(counts))
    lost = counts[:-1] - counts[1:]
    base = betaln(gamma, delta)
    leave = betaln(gamma + 1, delta + periods - 1) - base
    stay = betaln(gamma, delta + periods[-1]) - base
    return float(np.sum(lost * leave) + counts[-1] * stay)


def gradient(params, counts) -> np.ndarray:
    gamma, delta = params
    periods = np.arange(1, len(counts))
    lost = counts[:-1] - counts[1:]
    n = periods[-1]
    base_g, base_d = digamma(gamma) - digamma(gamma + delta), digamma(delta) - digamma(gamma + delta)
    leave_g = digamma(gamma + 1) - digamma(gamma + delta + periods) - base_g
    leave_d = digamma(delta + periods - 1) - digamma(gamma + delta + periods) - base_d
    stay_g = digamma(gamma) - digamma(gamma + delta + n) - base_g
    stay_d = digamma(delta + n) - digamma(gamma + delta + n) - base_d
    return np.array([np.sum(lost * leave_g) + counts[-1] * stay_g,
                     np.sum(lost * leave_d) + counts[-1] * stay_d])


def fit_sbg(survivors) -> SBGFit:
    """Fit gamma and delta to the number of customers still active at periods 0, 1, ..., n."""
    counts = _check_survivors(survivors)
    return maximise(NAMES, lambda p: log_likelihood(p, counts),
                    lambda p: (log_likelihood(p, counts), gradient(p, counts)),
                    np.array([1.0, 1.0]), int(counts[0]), "sbg", SBGFit)
