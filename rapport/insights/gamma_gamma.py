"""The Gamma-Gamma model of spend per purchase (Fader, Hardie & Lee 2005 note; Colombo & Jiang 1999).

Each purchase's value is Gamma(p, nu) around a customer's own mean; nu ~ Gamma(q, gamma) across
customers. The mean z of a customer's x repeat purchases is then Gamma(px, nu x), and after
integrating nu out:

    f(z | x) = G(px+q) / (G(px) G(q)) * gamma^q x^(px) z^(px-1) / (gamma + x z)^(px+q)

Only repeat buyers (x > 0) carry information. The model assumes spend per purchase does not
depend on how often a customer buys; check that (the correlation of frequency and value among
repeat buyers should be near 0) before using it for lifetime value.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln

from rapport.insights._checks import as_float_array, require_non_negative, require_same_length
from rapport.insights.fitting import ModelFit, maximise

NAMES = ("p", "q", "gamma")


class GammaGammaFit(ModelFit):
    names = NAMES
    model_name = "gamma_gamma"

    def expected_order_value(self, frequency, monetary_value) -> np.ndarray:
        """Expected value of a customer's future purchases: a weighted mix of the population mean
        and their own mean, leaning to their own the more purchases it rests on."""
        x, z = _check(frequency, monetary_value, minimum=1)
        p, q, gamma = (self.params[n] for n in NAMES)
        if q <= 1 and (x == 0).any():
            raise ValueError("monetary_value: the fitted spread of spend (q <= 1) gives no finite average for "
                             "customers without a repeat purchase")
        if (p * x + q <= 1).any():
            raise ValueError("monetary_value: the fitted model gives no finite expected value for some customers "
                             "(p * frequency + q <= 1)")
        return p * (gamma + x * z) / (p * x + q - 1)

    def population_mean(self) -> float:
        p, q, gamma = (self.params[n] for n in NAMES)
        return p * gamma / (q - 1) if q > 1 else float("inf")


def _check(frequency, monetary_value, minimum: int):
    x = as_float_array("frequency", frequency)
    z = as_float_array("monetary_value", monetary_value)
    require_same_length(frequency=x, monetary_value=z)
    require_non_negative("frequency", x)
    require_non_negative("monetary_value", z)
    unspent = (x > 0) & (z <= 0)
    if unspent.any():
        first = int(np.flatnonzero(unspent)[0])
        raise ValueError(f"monetary_value: must be above 0 for customers with repeat purchases; position {first} "
                         "has 0")
    if len(x) < minimum:
        raise ValueError(f"customers: {len(x)} given, at least {minimum} are needed")
    return x, z


def _terms(params, x, z):
    p, q, gamma = params
    return p * x, np.log(gamma + x * z)


def log_likelihood(params, x, z) -> float:
    p, q, gamma = params
    px, log_total = _terms(params, x, z)
    rows = (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(gamma) + px * np.log(x)
            + (px - 1) * np.log(z) - (px + q) * log_total)
    return float(rows.sum())


def gradient(params, x, z) -> np.ndarray:
    p, q, gamma = params
    px, log_total = _terms(params, x, z)
    shared = digamma(px + q)
    d_p = x * (shared - digamma(px) + np.log(x) + np.log(z) - log_total)
    d_q = shared - digamma(q) + np.log(gamma) - log_total
    d_gamma = q / gamma - (px + q) / (gamma + x * z)
    return np.array([d_p.sum(), d_q.sum(), d_gamma.sum()])


def fit_gamma_gamma(frequency, monetary_value, *, start=(1.0, 1.0, 1.0)) -> GammaGammaFit:
    """Maximum likelihood p, q, gamma from the repeat buyers (frequency > 0) among the customers."""
    x, z = _check(frequency, monetary_value, minimum=1)
    repeat = x > 0
    if repeat.sum() < 2:
        raise ValueError(f"frequency: {int(repeat.sum())} customer(s) with repeat purchases, at least 2 are "
                         "needed to learn how spend varies")
    x, z = x[repeat], z[repeat]
    if np.ptp(z) == 0:
        raise ValueError("monetary_value: every repeat buyer has the same average spend, so its spread across "
                         "customers cannot be estimated")
    start = np.asarray(start, dtype=np.float64)
    start[2] = max(start[2], float(np.mean(z)))
    return maximise(NAMES, lambda p: log_likelihood(p, x, z),
                    lambda p: (log_likelihood(p, x, z), gradient(p, x, z)), start, len(x),
                    "gamma_gamma", GammaGammaFit)
