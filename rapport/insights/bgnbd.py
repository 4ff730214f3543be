"""The BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

While active, a customer buys at rate lambda ~ Gamma(r, alpha); after each repeat purchase they
leave for good with probability p ~ Beta(a, b). For a customer with x repeat purchases, the last
at t_x, observed for T periods:

    L = B(a, b+x)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+T)^(r+x))
        + [x > 0] B(a+1, b+x-1)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+t_x)^(r+x))

computed on the log scale (log-sum-exp of the two terms), with its analytic gradient, once per
distinct (x, t_x, T) and weighted by how many customers share it.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, expit, gammaln, hyp2f1

from rapport.insights._checks import check_customers, check_horizon
from rapport.insights.fitting import FitFailed, ModelFit, maximise, unique_rows

NAMES = ("r", "alpha", "a", "b")


class BGNBDFit(ModelFit):
    """A fitted BG/NBD model; times are in the periods of the data it was fitted on."""

    def probability_alive(self, frequency, recency, T) -> np.ndarray:
        """Chance the customer has not left: exactly 1 without a repeat purchase (they cannot
        have left before buying again, by the model's construction)."""
        x, t_x, T = check_customers(frequency, recency, T, minimum=1)
        return expit(-_log_odds_dead(self.params, x, t_x, T))

    def expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """Expected repeat purchases in the next t periods, given each customer's history."""
        t = check_horizon("t", t)
        x, t_x, T = check_customers(frequency, recency, T, minimum=1)
        (ux, ut_x, uT), _, inverse = unique_rows(x, t_x, T)
        alive = expit(-_log_odds_dead(self.params, ux, ut_x, uT))
        return (_expected_if_alive(self.params, ux, uT, t[..., None] if t.ndim else t) * alive)[..., inverse]

    def expected_purchases_new_customer(self, t) -> np.ndarray:
        """Expected repeat purchases in the first t periods after a customer's first purchase."""
        t = check_horizon("t", t)
        zero = np.zeros(1)
        return _expected_if_alive(self.params, zero, zero, t[..., None] if t.ndim else t)[..., 0]


def _log_odds_dead(params, x, t_x, T) -> np.ndarray:
    r, alpha, a, b = (params[n] for n in NAMES)
    odds = np.full(x.shape, -np.inf)
    some = x > 0
    xs = x[some]
    odds[some] = (np.log(a) - np.log(b + xs - 1)
                  + (r + xs) * (np.log(alpha + T[some]) - np.log(alpha + t_x[some])))
    return odds


def _expected_if_alive(params, x, T, t) -> np.ndarray:
    """E[purchases in (T, T+t] | alive at T]; the hypergeometric factor is taken in the form
    (Euler's transformation) that stays bounded for large x, so nothing overflows."""
    r, alpha, a, b = (params[n] for n in NAMES)
    if abs(a - 1) < 1e-4:  # removable singularity at a = 1: average the two sides
        below = dict(params, a=a - 1e-4)
        above = dict(params, a=a + 1e-4)
        return (_expected_if_alive(below, x, T, t) + _expected_if_alive(above, x, T, t)) / 2
    z = t / (alpha + T + t)
    ratio = (alpha + T) / (alpha + T + t)
    tail = ratio ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
    return (a + b + x - 1) / (a - 1) * (1 - tail)


def log_likelihood(params: np.ndarray, x, t_x, T, weights) -> float:
    r, alpha, a, b = params
    return float(np.sum(weights * _row_log_likelihood(r, alpha, a, b, x, t_x, T)[0]))


def _row_log_likelihood(r, alpha, a, b, x, t_x, T):
    common = (gammaln(r + x) - gammaln(r) + r * np.log(alpha)
              + gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x))
    stays = -(r + x) * np.log(alpha + T)
    leaves = np.full(x.shape, -np.inf)
    some = x > 0
    leaves[some] = np.log(a) - np.log(b + x[some] - 1) - (r + x[some]) * np.log(alpha + t_x[some])
    total = np.logaddexp(stays, leaves)
    share_left = np.exp(leaves - total)  # weight of the "left after the last purchase" term
    return common + total, share_left


def gradient(params: np.ndarray, x, t_x, T, weights) -> np.ndarray:
    r, alpha, a, b = params
    _, left = _row_log_likelihood(r, alpha, a, b, x, t_x, T)
    stayed = 1 - left
    log_alpha_T, log_alpha_tx = np.log(alpha + T), np.log(alpha + t_x)
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - stayed * log_alpha_T - left * log_alpha_tx
    d_alpha = r / alpha - (r + x) * (stayed / (alpha + T) + left / (alpha + t_x))
    shared = digamma(a + b) - digamma(a + b + x)
    d_a = shared + left / a
    with np.errstate(divide="ignore", invalid="ignore"):
        d_b = shared + digamma(b + x) - digamma(b) - np.where(x > 0, left / (b + x - 1), 0.0)
    return np.array([np.sum(weights * g) for g in (d_r, d_alpha, d_a, d_b)])


def fit_bgnbd(frequency, recency, T, *, start=(1.0, 1.0, 1.0, 1.0)) -> BGNBDFit:
    """Maximum likelihood BG/NBD parameters r, alpha, a, b with standard errors."""
    x, t_x, T = check_customers(frequency, recency, T)
    if not (x > 0).any():
        raise ValueError("frequency: every customer has zero repeat purchases, so there is nothing to learn "
                         "about repeat buying yet")
    (ux, ut_x, uT), weights, _ = unique_rows(x, t_x, T)
    start = np.asarray(start, dtype=np.float64)
    start[1] = max(start[1], float(np.mean(T)) or 1.0)  # alpha is on the scale of the time unit
    fit = maximise(NAMES, lambda p: log_likelihood(p, ux, ut_x, uT, weights),
                   lambda p: gradient(p, ux, ut_x, uT, weights), start, len(x), "bg_nbd", BGNBDFit)
    if not np.isfinite(fit.log_likelihood):
        raise FitFailed("bg_nbd: the log-likelihood is not finite at the estimate")
    return fit
