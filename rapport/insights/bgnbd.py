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
from scipy.integrate import quad_vec
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1, polygamma

from rapport.insights._checks import check_customers, check_horizon
from rapport.insights._collapse import collapse, dot, unique_rows
from rapport.insights.fitting import ModelFit, maximise, pilot_start

NAMES = ("r", "alpha", "a", "b")


class BGNBDFit(ModelFit):
    """A fitted BG/NBD model; times are in the periods of the data it was fitted on."""

    names = NAMES
    model_name = "bg_nbd"

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


# Concentrations a + b at which the hypergeometric form is quick for horizons up to ten years;
# above the largest it can give way to the numerical integral, which takes seconds per history.
QUICK_CONCENTRATIONS = (500.0, 1_000.0, 2_000.0)


def _expected_if_alive(params, x, T, t) -> np.ndarray:
    """E[purchases in (T, T+t] | alive at T].

    When the data say everyone has about the same chance p of leaving after a purchase, the
    estimate runs to large a and b (say 77,000 and 670,000) with p = a / (a + b). The expectation
    depends on a + b smoothly in 1 / (a + b) (through the spread of the dropout chance), so it is
    computed at a + b = 500, 1,000 and 2,000 with the same p and interpolated quadratically in
    1 / (a + b) to the estimate's value: against the slow exact values, within 0.2% per customer.
    """
    a, b = params["a"], params["b"]
    if a + b <= QUICK_CONCENTRATIONS[-1]:
        return _expected_if_alive_direct(params, x, T, t)
    p, target = a / (a + b), 1.0 / (a + b)
    u = [1.0 / c for c in QUICK_CONCENTRATIONS]
    total = 0.0
    for i, c in enumerate(QUICK_CONCENTRATIONS):
        weight = np.prod([(target - u[j]) / (u[i] - u[j]) for j in range(3) if j != i])  # Lagrange
        total = total + weight * _expected_if_alive_direct(dict(params, a=p * c, b=(1 - p) * c), x, T, t)
    return np.maximum(total, 0.0)


def _expected_if_alive_direct(params, x, T, t) -> np.ndarray:
    """E[purchases in (T, T+t] | alive at T]; the hypergeometric factor is taken in the form
    (Euler's transformation) that stays bounded for large x, so nothing overflows. Where the
    library's 2F1 still fails (it returns inf for some large parameters with z near 1), the value
    is integrated numerically instead."""
    r, alpha, a, b = (params[n] for n in NAMES)
    if abs(a - 1) < 5e-5:  # removable singularity at a = 1: interpolate between its two sides
        below = _expected_if_alive_direct(dict(params, a=1 - 1e-4), x, T, t)
        above = _expected_if_alive_direct(dict(params, a=1 + 1e-4), x, T, t)
        return below + (a - (1 - 1e-4)) / 2e-4 * (above - below)
    x, T, t = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(T, dtype=np.float64),
                                  np.asarray(t, dtype=np.float64))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        z = t / (alpha + T + t)
        ratio = (alpha + T) / (alpha + T + t)
        tail = ratio ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
        expected = (a + b + x - 1) / (a - 1) * (1 - tail)
    # Never more than the purchases of a customer who cannot leave: (r + x) t / (alpha + T).
    ceiling = (r + x) * t / (alpha + T)
    wrong = ~np.isfinite(expected) | (expected < -1e-12 * ceiling) | (expected > ceiling * (1 + 1e-9))
    if wrong.any():
        expected = np.array(expected, dtype=np.float64)
        expected[wrong] = _expected_if_alive_numeric(r, alpha, a, b, x[wrong], T[wrong], t[wrong])
    return np.clip(expected, 0.0, ceiling)


def _expected_if_alive_numeric(r, alpha, a, b, x, T, t) -> np.ndarray:
    """The same expectation as an integral over the chance p of leaving after a purchase:
    E[(1 - ((alpha+T) / (alpha+T+p t))^(r+x)) / p] with p ~ Beta(a, b+x), integrated adaptively
    (all rows at once) on log p below 1/2 and on log(1-p) above, where the Beta density's ends
    become smooth exponential tails."""
    k, b_x, u = r + x, b + x, t / (alpha + T)
    log_beta = betaln(a, b_x)

    def log_integrand(log_p, log_q):
        p = np.exp(log_p)
        grows = np.log(-np.expm1(-k * np.log1p(p * u))) - log_p  # log of (1 - (1+pu)^-k) / p
        return (a - 1) * log_p + (b_x - 1) * log_q + grows - log_beta

    def lower_half(v):  # v = log p
        return np.exp(log_integrand(v, np.log1p(-np.exp(v))) + v)

    def upper_half(w):  # w = log(1 - p)
        return np.exp(log_integrand(np.log1p(-np.exp(w)), w) + w)

    # Far out both ends are exact exponentials to within 1e-9 and are added in closed form:
    # below p0 the integrand is k u p^a / B(a, b+x) per unit of log p; above 1 - q0 it is
    # g(1) (1-p)^(b+x) / B(a, b+x) per unit of log(1-p), with g(1) = 1 - (1+u)^-k.
    log_p0 = np.minimum(np.log(1e-10) - np.log1p(k * u + np.abs(b_x - 1)), np.log(0.5))
    log_q0 = np.full_like(log_p0, np.log(1e-10) - np.log1p(abs(a - 1)))
    head = np.exp(np.log(k * u) + a * log_p0 - np.log(a) - log_beta)
    tail = np.exp(np.log(-np.expm1(-k * np.log1p(u))) + b_x * log_q0 - np.log(b_x) - log_beta)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        # Integrate each row over [its own start, log 1/2] by mapping [0, 1] onto it.
        def lower(s):
            v = log_p0 + s * (np.log(0.5) - log_p0)
            return lower_half(v) * (np.log(0.5) - log_p0)

        def upper(s):
            w = log_q0 + s * (np.log(0.5) - log_q0)
            return upper_half(w) * (np.log(0.5) - log_q0)

        low = quad_vec(lower, 0.0, 1.0, epsabs=0, epsrel=1e-10, norm="max")[0]
        high = quad_vec(upper, 0.0, 1.0, epsabs=0, epsrel=1e-10, norm="max")[0]
    return np.nan_to_num(low) + np.nan_to_num(high) + head + tail


class _Likelihood:
    """The BG/NBD log-likelihood and its gradient over distinct customer histories.

    Terms that depend on x alone, T alone or t_x alone are computed once per distinct value and
    gathered; only the log-sum-exp that joins the two terms runs per distinct (x, t_x, T) row, and
    customers without a repeat purchase (one term only) are summed per distinct T.
    """

    def __init__(self, x, t_x, T):
        rows = collapse(x, t_x, T)
        (self.x_values, self.tx_values, self.T_values) = rows.values
        x_code, tx_code, T_code = rows.codes
        weights = rows.counts
        self.n = weights.sum()
        self.x_weight = np.bincount(x_code, weights=weights, minlength=len(self.x_values))
        self.T_weight = np.bincount(T_code, weights=weights, minlength=len(self.T_values))
        self.T_weight_x = np.bincount(T_code, weights=weights * self.x_values[x_code], minlength=len(self.T_values))
        some = self.x_values[x_code] > 0  # only these have the "left after the last purchase" term
        self.x_code, self.tx_code, self.T_code = x_code[some], tx_code[some], T_code[some]
        self.weights = weights[some]
        self.x = self.x_values[self.x_code]

    def __call__(self, params: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient, _ = self.evaluate(params, hessian=False)
        return value, gradient

    def evaluate(self, params: np.ndarray, hessian: bool = True):
        """Log-likelihood, gradient and (optionally) Hessian in (r, alpha, a, b).

        Per customer, LL = C(x) + stay + softplus(d), where C gathers the gamma-function terms,
        stay = -(r+x) log(alpha+T) and d = log(a/(b+x-1)) + (r+x) log((alpha+T)/(alpha+t_x)) is the
        log-ratio of the "left after the last purchase" term to the "still active" one.
        """
        r, alpha, a, b = params
        xv = self.x_values
        log_aT, log_atx = np.log(alpha + self.T_values), np.log(alpha + self.tx_values)
        inv_aT, inv_atx = 1.0 / (alpha + self.T_values), 1.0 / (alpha + self.tx_values)
        # Per distinct x: log Gamma(r+x)/Gamma(r) + log B(a, b+x)/B(a, b).
        common = (gammaln(r + xv) - gammaln(r) + r * np.log(alpha)
                  + gammaln(a + b) + gammaln(b + xv) - gammaln(b) - gammaln(a + b + xv))
        with np.errstate(divide="ignore", invalid="ignore"):
            inv_b_x1 = np.where(xv > 0, 1.0 / (b + xv - 1), 0.0)  # only used where x > 0
            log_b_x1 = np.log(b + xv - 1)
        # Every customer has the "still active" term, summed per distinct T ...
        value = dot(self.x_weight, common) - r * dot(self.T_weight, log_aT) - dot(self.T_weight_x, log_aT)
        # ... and repeat buyers the "left" one, joined by log(e^stay + e^left) = stay + softplus(d).
        gap = log_aT[self.T_code] - log_atx[self.tx_code]  # d d / d r
        rx = r + self.x
        diff = np.log(a) - log_b_x1[self.x_code] + rx * gap
        softplus = np.logaddexp(0.0, diff)
        left = np.exp(diff - softplus)  # weight of the "left" term in each likelihood
        w_left = self.weights * left
        value += dot(self.weights, softplus)

        by_x_left = np.bincount(self.x_code, weights=w_left, minlength=len(xv))
        step_alpha = inv_aT[self.T_code] - inv_atx[self.tx_code]
        d_alpha_d = rx * step_alpha  # d d / d alpha
        shared = digamma(a + b) - digamma(a + b + xv)
        stay_alpha = r * self.T_weight + self.T_weight_x  # per T: sum of (r + x)
        left_total = by_x_left.sum()
        gradient = np.array([
            dot(self.x_weight, digamma(r + xv) - digamma(r)) + self.n * np.log(alpha)
            - dot(self.T_weight, log_aT) + dot(w_left, gap),
            self.n * r / alpha - dot(stay_alpha, inv_aT) + dot(w_left, d_alpha_d),
            dot(self.x_weight, shared) + left_total / a,
            dot(self.x_weight, shared + digamma(b + xv) - digamma(b)) - dot(by_x_left, inv_b_x1),
        ])
        if not hessian:
            return float(value), gradient, None

        # Second derivatives: softplus(d)'' = q d' d'^T + left d'', with q = left (1 - left).
        q = w_left * (1.0 - left)
        q_gap, q_alpha = q * gap, q * d_alpha_d
        by_x_q = np.bincount(self.x_code, weights=q, minlength=len(xv))
        by_x_q_gap = np.bincount(self.x_code, weights=q_gap, minlength=len(xv))
        by_x_q_alpha = np.bincount(self.x_code, weights=q_alpha, minlength=len(xv))
        q_total = by_x_q.sum()
        tri = polygamma(1, a + b) - polygamma(1, a + b + xv)
        h = np.empty((4, 4))
        h[0, 0] = dot(self.x_weight, polygamma(1, r + xv) - polygamma(1, r)) + dot(q_gap, gap)
        h[0, 1] = (self.n / alpha - dot(self.T_weight, inv_aT) + dot(q_gap, d_alpha_d)
                   + dot(w_left, step_alpha))
        h[1, 1] = (-self.n * r / alpha**2 + dot(stay_alpha, inv_aT**2) + dot(q_alpha, d_alpha_d)
                   + dot(w_left * rx, inv_atx[self.tx_code] ** 2 - inv_aT[self.T_code] ** 2))
        h[0, 2] = by_x_q_gap.sum() / a
        h[0, 3] = -dot(by_x_q_gap, inv_b_x1)
        h[1, 2] = by_x_q_alpha.sum() / a
        h[1, 3] = -dot(by_x_q_alpha, inv_b_x1)
        h[2, 2] = dot(self.x_weight, tri) + (q_total - left_total) / a**2
        h[2, 3] = dot(self.x_weight, tri) - dot(by_x_q, inv_b_x1) / a
        h[3, 3] = (dot(self.x_weight, tri + polygamma(1, b + xv) - polygamma(1, b))
                   + dot(by_x_q + by_x_left, inv_b_x1**2))
        h = np.triu(h) + np.triu(h, 1).T
        return float(value), gradient, h


def log_likelihood(params, frequency, recency, T) -> float:
    """The BG/NBD log-likelihood of customers' histories at the given (r, alpha, a, b)."""
    x, t_x, T = check_customers(frequency, recency, T, minimum=1)
    return _Likelihood(x, t_x, T)(np.asarray(params, dtype=np.float64))[0]


def fit_bgnbd(frequency, recency, T, *, start=None) -> BGNBDFit:
    """Maximum likelihood BG/NBD parameters r, alpha, a, b with standard errors."""
    x, t_x, T = check_customers(frequency, recency, T)
    if not (x > 0).any():
        raise ValueError("frequency: every customer has zero repeat purchases, so there is nothing to learn "
                         "about repeat buying yet")
    if start is None:
        default = np.array([1.0, float(np.mean(T)) or 1.0, 1.0, 1.0])  # alpha is on the scale of the time unit
        start, _ = pilot_start(fit_bgnbd, (x, t_x, T), default)
    likelihood = _Likelihood(x, t_x, T)
    return maximise(NAMES, lambda p: likelihood(p)[0], likelihood, np.asarray(start, dtype=np.float64), len(x),
                    "bg_nbd", BGNBDFit, value_gradient_hessian=likelihood.evaluate)
