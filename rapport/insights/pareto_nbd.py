"""The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987; Fader & Hardie 2005 note).

While active, a customer buys at rate lambda ~ Gamma(r, alpha) and leaves at a random time with
rate mu ~ Gamma(s, beta). For x repeat purchases, the last at t_x, observed for T periods:

    L = G(r+x) alpha^r beta^s / G(r) * [ (alpha+T)^-(r+x) (beta+T)^-s
                                         + s * J(t_x, T) ],
    J = integral from t_x to T of (alpha+u)^-(r+x) (beta+u)^-(s+1) du = (I(t_x) - I(T)) / (r+s+x),

where I(y) is the Gauss hypergeometric expression of the note. Written directly, I(y) divides a
huge hypergeometric value by a huge power and overflows for large x or T. Euler's transformation
2F1(a, b; a+1; z) = (1-z)^(1-b) 2F1(1, a+1-b; a+1; z) moves the growth into powers that are
taken as logarithms and leaves a 2F1(1, .; .; z) that lies between 1 and 1/(1-z); so log I(y) is
a sum of ordinary logarithms and the likelihood stays finite (x = 200 is in the tests). The two
terms are combined by log-sum-exp.

The gradient is taken by central differences of this log-likelihood (it has no convenient closed
form in r and s); the fit runs on distinct (x, t_x, T) rows, so this stays cheap.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, gammaln, hyp2f1

from rapport.insights._checks import check_customers, check_horizon
from rapport.insights.fitting import ModelFit, maximise, unique_rows

NAMES = ("r", "alpha", "s", "beta")


class ParetoNBDFit(ModelFit):
    """A fitted Pareto/NBD model; times are in the periods of the data it was fitted on."""

    def probability_alive(self, frequency, recency, T) -> np.ndarray:
        x, t_x, T = check_customers(frequency, recency, T, minimum=1)
        (ux, ut_x, uT), _, inverse = unique_rows(x, t_x, T)
        return _probability_alive(self.params, ux, ut_x, uT)[inverse]

    def expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """Expected repeat purchases in the next t periods, given each customer's history."""
        t = check_horizon("t", t)
        x, t_x, T = check_customers(frequency, recency, T, minimum=1)
        (ux, ut_x, uT), _, inverse = unique_rows(x, t_x, T)
        r, alpha, s, beta = (self.params[n] for n in NAMES)
        alive = _probability_alive(self.params, ux, ut_x, uT)
        horizon = t[..., None] if t.ndim else t
        rate = (r + ux) * (beta + uT) / (alpha + uT)
        expected = rate * _lifetime_share(s, beta + uT, horizon) * alive
        return expected[..., inverse]

    def expected_purchases_new_customer(self, t) -> np.ndarray:
        t = check_horizon("t", t)
        r, alpha, s, beta = (self.params[n] for n in NAMES)
        return r * beta / alpha * _lifetime_share(s, beta, t)


def _lifetime_share(s, beta_T, t):
    """[1 - (beta_T / (beta_T + t))^(s-1)] / (s-1), taken to its limit log(1 + t/beta_T) at s = 1."""
    span = np.log1p(t / beta_T)
    if abs(s - 1) < 1e-12:
        return span
    return -np.expm1(-(s - 1) * span) / (s - 1)


def _log_terms(params, x, t_x, T):
    """log of the 'still active at T' term and of the 'left between t_x and T' term."""
    r, alpha, s, beta = params
    stays = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    log_upper, log_lower = _log_I(r, alpha, s, beta, x, t_x), _log_I(r, alpha, s, beta, x, T)
    with np.errstate(divide="ignore"):
        log_a0 = log_upper + np.log(-np.expm1(np.minimum(log_lower - log_upper, 0.0)))
    leaves = np.log(s) - np.log(r + s + x) + log_a0
    return stays, leaves


def _log_I(r, alpha, s, beta, x, y):
    if alpha >= beta:
        z = (alpha - beta) / (alpha + y)
        return (-(r + x) * np.log(alpha + y) - s * np.log(beta + y)
                + np.log(hyp2f1(1.0, r + x, r + s + x + 1, z)))
    z = (beta - alpha) / (beta + y)
    return (-(r + x - 1) * np.log(alpha + y) - (s + 1) * np.log(beta + y)
            + np.log(hyp2f1(1.0, s + 1, r + s + x + 1, z)))


def _probability_alive(params, x, t_x, T) -> np.ndarray:
    stays, leaves = _log_terms(tuple(params[n] for n in NAMES), x, t_x, T)
    return expit(stays - leaves)


def row_log_likelihood(params, x, t_x, T) -> np.ndarray:
    r, alpha, s, beta = params
    stays, leaves = _log_terms(params, x, t_x, T)
    return (gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
            + np.logaddexp(stays, leaves))


def log_likelihood(params, x, t_x, T, weights) -> float:
    return float(np.sum(weights * row_log_likelihood(params, x, t_x, T)))


def fit_pareto_nbd(frequency, recency, T, *, start=(1.0, 1.0, 1.0, 1.0)) -> ParetoNBDFit:
    """Maximum likelihood Pareto/NBD parameters r, alpha, s, beta with standard errors."""
    x, t_x, T = check_customers(frequency, recency, T)
    if not (x > 0).any():
        raise ValueError("frequency: every customer has zero repeat purchases, so there is nothing to learn "
                         "about repeat buying yet")
    (ux, ut_x, uT), weights, _ = unique_rows(x, t_x, T)
    start = np.asarray(start, dtype=np.float64)
    scale = float(np.mean(T)) or 1.0
    start[1], start[3] = max(start[1], scale), max(start[3], scale)
    return maximise(NAMES, lambda p: log_likelihood(p, ux, ut_x, uT, weights), None, start, len(x),
                    "pareto_nbd", ParetoNBDFit)
