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
from typing import ClassVar

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

    names: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_params(cls, params: dict[str, float], *, covariance=None, log_likelihood: float = float("nan"),
                    n_customers: int = 0) -> ModelFit:
        """A model from known parameters (stored scores, or values from the literature)."""
        if cls.names and set(params) != set(cls.names):
            raise ValueError(f"params: expected {', '.join(cls.names)}, got {', '.join(params) or 'none'}")
        values = {name: float(params[name]) for name in (cls.names or tuple(params))}
        if not all(np.isfinite(v) and v > 0 for v in values.values()):
            raise ValueError("params: every parameter must be a finite number above 0")
        k = len(values)
        covariance = np.full((k, k), np.inf) if covariance is None else np.asarray(covariance, dtype=np.float64)
        errors = np.sqrt(np.diag(covariance))
        return cls(params=values, standard_errors=dict(zip(values, (float(e) for e in errors), strict=True)),
                   log_likelihood=log_likelihood, covariance=covariance, n_customers=n_customers,
                   model=getattr(cls, "model_name", ""))

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
        if not np.all(np.isfinite(self.covariance)):
            raise FitFailed("standard errors are not available for this fit, so no interval can be given")
        scale = np.diag(1.0 / theta)
        covariance = scale @ self.covariance @ scale
        return np.exp(rng.multivariate_normal(np.log(theta), covariance, size=draws, method="cholesky"))


# Above this many customers a search starts from a fit on a random subsample of this size, so the
# full table is only needed for the last few steps.
PILOT_CUSTOMERS = 50_000


def pilot_start(fitter, columns: tuple[np.ndarray, ...], default: np.ndarray):
    """Starting values and, on big tables, the Hessian a subsample suggests for the full table.

    Returns (start, hessian or None): the defaults, or the estimate from a random subsample with
    its Hessian scaled up to the full number of customers.
    """
    customers = len(columns[0])
    if customers <= PILOT_CUSTOMERS:
        return default, None
    pick = np.random.default_rng(0).integers(0, customers, PILOT_CUSTOMERS)
    try:
        pilot = fitter(*(column[pick] for column in columns))
    except ValueError:
        return default, None  # a subsample the model cannot be fitted on: start from the defaults
    hessian = -np.linalg.inv(pilot.covariance) * (customers / PILOT_CUSTOMERS)
    return np.array(list(pilot.params.values())), hessian


def maximise(
    names: tuple[str, ...],
    log_likelihood: Callable[[np.ndarray], float],
    value_and_gradient: Callable[[np.ndarray], tuple[float, np.ndarray]] | None,
    start: np.ndarray,
    n_customers: int,
    model: str,
    fit_type: type[ModelFit] = ModelFit,
    value_gradient_hessian: Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]] | None = None,
    hessian_hint: np.ndarray | None = None,
) -> ModelFit:
    """Maximise a log-likelihood over positive parameters.

    `value_and_gradient` returns the log-likelihood and d LL / d theta together (they share most
    of their work); without it, central differences on the log-likelihood are used (Pareto/NBD).
    With `value_gradient_hessian`, Newton's method runs first (a handful of evaluations from a good
    start); the quasi-Newton search is the fallback when the Hessian is not negative definite.
    With `hessian_hint` (a subsample's Hessian, scaled), Newton steps with that fixed Hessian run
    first, which from a subsample's estimate converges in a few steps.
    """
    scale = 1.0 / max(n_customers, 1)
    # Differenced gradients carry noise of about 1e-9; an analytic one lets Newton go further.
    tolerance = 1e-9 if value_and_gradient is not None else 1e-6

    def value_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        if value_and_gradient is not None:
            return value_and_gradient(theta)
        return log_likelihood(theta), numeric_gradient(log_likelihood, theta)

    def objective(phi: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.exp(phi)
        value, grad = value_grad(theta)
        if not np.isfinite(value) or not np.all(np.isfinite(grad)):
            return 1e300, np.zeros_like(phi)
        return -value * scale, -grad * theta * scale

    phi = np.log(np.asarray(start, dtype=np.float64))
    iterations, newton, hinted = 0, None, False
    if value_gradient_hessian is not None:
        newton = _newton(value_gradient_hessian, phi, scale)
    elif hessian_hint is not None:
        phi, _, hinted = _newton_polish(objective, phi, hessian_hint, scale, steps=30, tolerance=tolerance)
    if newton is None and not hinted:
        bounds = [(-LOG_BOUND, LOG_BOUND)] * len(names)
        result = minimize(objective, phi, jac=True, method="L-BFGS-B", bounds=bounds,
                          options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-10})
        phi, iterations = result.x, int(result.nit)
        _check_interior(names, phi, model)
        if value_gradient_hessian is not None:
            newton = _newton(value_gradient_hessian, phi, scale)
    if newton is not None:
        phi, value, hessian, steps = newton
        iterations += steps
    else:
        gradient_only = None if value_and_gradient is None else (lambda theta: value_grad(theta)[1])
        hessian = numeric_hessian(log_likelihood, gradient_only, np.exp(phi))
        if not hinted:
            phi, moved, _ = _newton_polish(objective, phi, hessian, scale, tolerance=tolerance)
            if moved > 1e-4:
                hessian = numeric_hessian(log_likelihood, gradient_only, np.exp(phi))
        value = float(log_likelihood(np.exp(phi)))
    _check_interior(names, phi, model)
    theta = np.exp(phi)
    if not np.isfinite(value):
        raise FitFailed(f"{model}: the log-likelihood is not finite at the estimate")
    covariance, errors = _standard_errors(hessian)
    if not np.all(np.isfinite(errors)):
        loose = [name for name, p in zip(names, phi, strict=True) if abs(p) > LOG_BOUND - 4]
        which = ", ".join(loose) if loose else "the parameters"
        raise FitFailed(f"{model}: the data do not determine {which} (the likelihood has no clear maximum); "
                        "more customers or repeat purchases are needed")
    return fit_type(
        params=dict(zip(names, (float(t) for t in theta), strict=True)),
        standard_errors=dict(zip(names, (float(e) for e in errors), strict=True)),
        log_likelihood=float(value),
        covariance=covariance,
        n_customers=int(n_customers),
        iterations=iterations,
        model=model,
    )


def _check_interior(names, phi, model) -> None:
    at_bound = np.abs(phi) > LOG_BOUND - 1e-3
    if at_bound.any():
        which = ", ".join(name for name, hit in zip(names, at_bound, strict=True) if hit)
        raise FitFailed(f"{model}: the data do not determine {which} (the estimate runs off to "
                        f"{'0' if phi[at_bound][0] < 0 else 'infinity'}); more customers or repeat "
                        "purchases are needed")


def _newton(value_gradient_hessian, phi, scale, max_steps: int = 50):
    """Newton's method on the log scale with step halving.

    Returns (phi, log-likelihood, Hessian in theta, steps) at convergence, or None when the Hessian
    stops being negative definite or no step improves (the caller then searches another way).
    """

    def evaluate(phi):
        theta = np.exp(phi)
        value, grad, hess = value_gradient_hessian(theta)
        if not (np.isfinite(value) and np.all(np.isfinite(grad)) and np.all(np.isfinite(hess))):
            return None
        objective_grad = -grad * theta * scale
        objective_hess = -(theta[:, None] * hess * theta[None, :]) * scale + np.diag(objective_grad)
        return -value * scale, objective_grad, objective_hess, value, hess

    current = evaluate(phi)
    if current is None:
        return None
    for step_count in range(1, max_steps + 1):
        objective, grad, hess, _, _ = current
        # Far from the optimum the Hessian may not be positive definite; shifting its spectrum
        # (Levenberg-Marquardt) still gives a descent direction, and exact Newton takes over near it.
        lowest = np.linalg.eigvalsh(hess)[0]
        shift = 0.0 if lowest > 1e-8 * max(abs(lowest), 1.0) else abs(lowest) + 1e-3
        step = -np.linalg.solve(hess + shift * np.eye(len(phi)), grad)
        step *= min(1.0, 2.0 / max(np.max(np.abs(step)), 1e-300))  # at most a factor e^2 per step
        for _ in range(30):
            trial_phi = np.clip(phi + step, -LOG_BOUND, LOG_BOUND)
            trial = evaluate(trial_phi)
            if trial is not None and trial[0] <= objective + 1e-14 * abs(objective):
                break
            step /= 2
        else:
            return None
        phi, current = trial_phi, trial
        if shift == 0.0 and np.max(np.abs(step)) < 1e-9:
            try:
                np.linalg.cholesky(current[2])
            except np.linalg.LinAlgError:
                return None  # a saddle or a ridge, not a maximum
            return phi, current[3], current[4], step_count
    return None


def _newton_polish(objective, phi, hessian_theta, scale, steps: int = 10,
                   tolerance: float = 1e-9) -> tuple[np.ndarray, float, bool]:
    """Newton steps on the log scale with a fixed Hessian (of the log-likelihood, in theta).

    From where a search stopped, or from a subsample's estimate, these take the estimate to the
    optimum itself (to `tolerance` on the log scale), so correct implementations agree to many
    digits. Returns the point, how far it moved and whether the steps converged.
    """
    origin = phi.copy()
    value, grad = objective(phi)
    theta = np.exp(phi)
    # Chain rule from d2 LL / d theta2 to the scaled, negated objective on the log scale.
    hessian = -(theta[:, None] * hessian_theta * theta[None, :]) * scale + np.diag(grad)
    converged = False
    for _ in range(steps):
        try:
            step = -np.linalg.solve(hessian, grad)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)) or grad @ step > 0:
            break  # not a descent direction: the Hessian is not positive definite here
        trial = np.clip(phi + step, -LOG_BOUND, LOG_BOUND)
        trial_value, trial_grad = objective(trial)
        if trial_value > value + 1e-15 * abs(value):
            break
        phi, value, grad = trial, trial_value, trial_grad
        if np.max(np.abs(step)) < tolerance:
            converged = True
            break
    return phi, float(np.max(np.abs(phi - origin))) if len(phi) else 0.0, converged


def numeric_gradient(log_likelihood, theta: np.ndarray, relative_step: float = 2e-5) -> np.ndarray:
    """Central differences of the log-likelihood, with steps relative to each parameter."""
    gradient = np.empty_like(theta)
    for i in range(len(theta)):
        h = relative_step * theta[i]
        up, down = theta.copy(), theta.copy()
        up[i] += h
        down[i] -= h
        gradient[i] = (log_likelihood(up) - log_likelihood(down)) / (2 * h)
    return gradient


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
