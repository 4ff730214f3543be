"""Maximum likelihood machinery shared by the models.

Every model parameter is positive, so the optimiser works on log-parameters (no bounds to hit,
better conditioning) and the log-likelihood is divided by the number of customers so that the
same tolerances suit 2,000 customers and 1,000,000. After the quasi-Newton search a few Newton
steps with the Hessian polish the optimum, so two correct implementations agree to many digits,
and the same Hessian gives the standard errors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

# exp(±LOG_BOUND) are the extreme parameter values the search may try; an optimum there means the
# data cannot pin the parameter down (e.g. no repeat purchases), which is reported, not returned.
LOG_BOUND = 18.0


class FitFailed(ValueError):
    """The data do not determine the model (the likelihood has no interior maximum)."""


@dataclass(frozen=True)
class ModelFit:
    """Parameters, their standard errors and the maximised log-likelihood of one model."""

    params: dict[str, float]
    standard_errors: dict[str, float]
    log_likelihood: float
    covariance: np.ndarray = field(repr=False)  # of the parameters, from the inverse Hessian
    n_customers: int = 0
    iterations: int = 0
    model: str = ""

    def __getattr__(self, name: str) -> float:
        params = self.__dict__.get("params", {})
        if name in params:
            return params[name]
        raise AttributeError(name)

    def as_dict(self) -> dict:
        return {"model": self.model, "params": dict(self.params),
                "standard_errors": dict(self.standard_errors),
                "log_likelihood": self.log_likelihood, "n_customers": self.n_customers}

    def with_params(self, values) -> ModelFit:
        """The same model with other parameter values (used to propagate parameter uncertainty)."""
        params = dict(zip(self.params, (float(v) for v in values), strict=True))
        return type(self)(params=params, standard_errors=self.standard_errors,
                          log_likelihood=float("nan"), covariance=self.covariance,
                          n_customers=self.n_customers, model=self.model)

    def sample_params(self, draws: int, rng: np.random.Generator) -> np.ndarray:
        """Parameter vectors from the estimate's asymptotic normal distribution.

        Drawn on the log scale (the same normal approximation, by the delta method) so that every
        draw is a valid, positive parameter vector.
        """
        theta = np.array(list(self.params.values()))
        scale = np.diag(1.0 / theta)
        covariance = scale @ self.covariance @ scale
        if not np.all(np.isfinite(covariance)):
            raise FitFailed("standard errors are not available for this fit, so no interval can be given")
        return np.exp(rng.multivariate_normal(np.log(theta), covariance, size=draws, method="cholesky"))


def unique_rows(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Distinct rows of the given columns, how often each occurs, and the row of each input.

    Customers with the same history have the same likelihood: computing it once per distinct
    history and weighting by the count is exact and, on day-level data, many times faster.
    """
    order = np.lexsort(columns[::-1])
    changed = np.zeros(len(order), dtype=bool)
    if len(order):
        changed[0] = True
    for column in columns:
        sorted_column = column[order]
        changed[1:] |= sorted_column[1:] != sorted_column[:-1]
    group = np.cumsum(changed) - 1
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[order] = group
    starts = order[changed]
    counts = np.bincount(group).astype(np.float64)
    return [column[starts] for column in columns], counts, inverse


def maximise(
    names: tuple[str, ...],
    log_likelihood: Callable[[np.ndarray], float],
    gradient: Callable[[np.ndarray], np.ndarray] | None,
    start: np.ndarray,
    n_customers: int,
    model: str,
    fit_type: type[ModelFit] = ModelFit,
) -> ModelFit:
    """Maximise a log-likelihood over positive parameters; `gradient` is d LL / d theta.

    Without an analytic gradient, central differences on the log scale are used (Pareto/NBD).
    """
    scale = 1.0 / max(n_customers, 1)

    def grad_theta(theta: np.ndarray) -> np.ndarray:
        if gradient is not None:
            return gradient(theta)
        return numeric_gradient(log_likelihood, theta)

    def objective(phi: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.exp(phi)
        value = log_likelihood(theta)
        if not np.isfinite(value):
            return 1e300, np.zeros_like(phi)
        return -value * scale, -grad_theta(theta) * theta * scale

    phi = np.log(np.asarray(start, dtype=np.float64))
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(names)
    result = minimize(objective, phi, jac=True, method="L-BFGS-B", bounds=bounds,
                      options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-10})
    phi = result.x
    iterations = int(result.nit)
    phi = _newton_polish(objective, phi, grad_theta, log_likelihood)
    theta = np.exp(phi)
    at_bound = np.abs(phi) > LOG_BOUND - 1e-3
    if at_bound.any():
        which = ", ".join(name for name, hit in zip(names, at_bound, strict=True) if hit)
        raise FitFailed(f"{model}: the data do not determine {which} (the estimate runs off to "
                        f"{'0' if phi[at_bound][0] < 0 else 'infinity'}); more customers or repeat "
                        "purchases are needed")
    value = float(log_likelihood(theta))
    if not np.isfinite(value):
        raise FitFailed(f"{model}: the log-likelihood is not finite at the estimate")
    hessian = numeric_hessian(log_likelihood, grad_theta if gradient is not None else None, theta)
    covariance, errors = _standard_errors(hessian)
    return fit_type(
        params=dict(zip(names, (float(t) for t in theta), strict=True)),
        standard_errors=dict(zip(names, (float(e) for e in errors), strict=True)),
        log_likelihood=value,
        covariance=covariance,
        n_customers=int(n_customers),
        iterations=iterations,
        model=model,
    )


def _newton_polish(objective, phi, grad_theta, log_likelihood, steps: int = 8) -> np.ndarray:
    """A few safeguarded Newton steps on the log scale, from where the quasi-Newton search stopped."""
    value, grad = objective(phi)
    for _ in range(steps):
        hessian = numeric_hessian_phi(objective, phi)
        try:
            step = -np.linalg.solve(hessian, grad)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)) or grad @ step >= 0:
            break  # not a descent direction: the Hessian is not positive definite here
        for shrink in (1.0, 0.5, 0.25, 0.1):
            trial = np.clip(phi + shrink * step, -LOG_BOUND, LOG_BOUND)
            trial_value, trial_grad = objective(trial)
            if trial_value <= value:
                break
        else:
            break
        phi, value, grad = trial, trial_value, trial_grad
        if np.max(np.abs(shrink * step)) < 1e-10:
            break
    return phi


def numeric_gradient(log_likelihood, theta: np.ndarray, relative_step: float = 1e-6) -> np.ndarray:
    """Central differences of the log-likelihood, with steps relative to each parameter."""
    gradient = np.empty_like(theta)
    for i in range(len(theta)):
        h = relative_step * theta[i]
        up, down = theta.copy(), theta.copy()
        up[i] += h
        down[i] -= h
        gradient[i] = (log_likelihood(up) - log_likelihood(down)) / (2 * h)
    return gradient


def numeric_hessian_phi(objective, phi: np.ndarray, step: float = 1e-5) -> np.ndarray:
    """Hessian of the (scaled, negated) objective on the log scale, from its gradient."""
    k = len(phi)
    hessian = np.empty((k, k))
    for i in range(k):
        up, down = phi.copy(), phi.copy()
        up[i] += step
        down[i] -= step
        hessian[:, i] = (objective(up)[1] - objective(down)[1]) / (2 * step)
    return (hessian + hessian.T) / 2


def numeric_hessian(log_likelihood, grad_theta, theta: np.ndarray) -> np.ndarray:
    """Hessian of the log-likelihood in the natural parameters.

    From central differences of the analytic gradient when there is one (accurate to about 1e-8
    relative); otherwise from second differences of the log-likelihood itself.
    """
    k = len(theta)
    hessian = np.empty((k, k))
    if grad_theta is not None:
        for i in range(k):
            h = 1e-5 * theta[i]
            up, down = theta.copy(), theta.copy()
            up[i] += h
            down[i] -= h
            hessian[:, i] = (grad_theta(up) - grad_theta(down)) / (2 * h)
        return (hessian + hessian.T) / 2
    steps = 1e-4 * theta
    centre = log_likelihood(theta)
    for i in range(k):
        for j in range(i, k):
            if i == j:
                up, down = theta.copy(), theta.copy()
                up[i] += steps[i]
                down[i] -= steps[i]
                hessian[i, i] = (log_likelihood(up) - 2 * centre + log_likelihood(down)) / steps[i] ** 2
                continue
            values = []
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                point = theta.copy()
                point[i] += si * steps[i]
                point[j] += sj * steps[j]
                values.append(log_likelihood(point))
            hessian[i, j] = hessian[j, i] = (values[0] - values[1] - values[2] + values[3]) / (
                4 * steps[i] * steps[j])
    return hessian


def _standard_errors(hessian: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    information = -hessian
    try:
        np.linalg.cholesky(information)
    except np.linalg.LinAlgError:
        # Not a proper maximum in every direction: no honest standard error exists.
        k = len(hessian)
        return np.full((k, k), np.inf), np.full(k, np.inf)
    covariance = np.linalg.inv(information)
    return covariance, np.sqrt(np.diag(covariance))
