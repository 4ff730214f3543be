"""Choosing between BG/NBD and Pareto/NBD by how well each predicts a holdout window.

Both are fitted on the calibration window; each predicts every customer's repeat purchases in
the holdout window. The model with the lower mean absolute error per customer wins, because the
scores are used per customer (who to call, who is at risk). When the two are within 1% of each
other on that, the one that tracks the holdout's per-period totals more closely wins instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rapport.insights._collapse import unique_rows
from rapport.insights.bgnbd import fit_bgnbd
from rapport.insights.fitting import FitFailed, ModelFit
from rapport.insights.pareto_nbd import fit_pareto_nbd
from rapport.insights.rfm import Holdout, RFMTable

FITTERS = {"bg_nbd": fit_bgnbd, "pareto_nbd": fit_pareto_nbd}
TIE = 0.01


@dataclass(frozen=True)
class HoldoutScore:
    actual_total: float
    predicted_total: float
    mae_per_customer: float
    tracking_mae: float  # mean absolute error of the per-period totals
    tracking_actual: np.ndarray = field(repr=False)
    tracking_predicted: np.ndarray = field(repr=False)

    def as_dict(self) -> dict:
        return {"actual_total": self.actual_total, "predicted_total": self.predicted_total,
                "mae_per_customer": self.mae_per_customer, "tracking_mae": self.tracking_mae,
                "tracking_actual": self.tracking_actual.tolist(),
                "tracking_predicted": self.tracking_predicted.tolist()}


@dataclass(frozen=True)
class ModelChoice:
    chosen: str
    reason: str
    fits: dict[str, ModelFit]
    scores: dict[str, HoldoutScore]
    failures: dict[str, str]

    @property
    def fit(self) -> ModelFit:
        return self.fits[self.chosen]


def score_holdout(fit: ModelFit, calibration: RFMTable, holdout: Holdout) -> HoldoutScore:
    if len(holdout.frequency) != len(calibration):
        raise ValueError(f"holdout: has {len(holdout.frequency)} customers, the calibration {len(calibration)}")
    if holdout.duration <= 0:
        raise ValueError("holdout: the holdout window is empty")
    periods = len(holdout.by_period)
    times = np.minimum(np.arange(1, periods + 1, dtype=np.float64), holdout.duration)
    (ux, ut_x, uT), weights, inverse = unique_rows(calibration.frequency, calibration.recency, calibration.T)
    cumulative = fit.expected_purchases(times, ux, ut_x, uT)  # periods x distinct histories
    per_customer = cumulative[-1][inverse]
    tracking = np.diff(cumulative @ weights, prepend=0.0)
    return HoldoutScore(
        actual_total=float(holdout.frequency.sum()),
        predicted_total=float(per_customer.sum()),
        mae_per_customer=float(np.mean(np.abs(per_customer - holdout.frequency))),
        tracking_mae=float(np.mean(np.abs(tracking - holdout.by_period))),
        tracking_actual=holdout.by_period.copy(),
        tracking_predicted=tracking,
    )


def choose_model(calibration: RFMTable, holdout: Holdout | None = None) -> ModelChoice:
    """Fit both models on the calibration table, score them on the holdout, keep the better."""
    holdout = holdout if holdout is not None else calibration.holdout
    if holdout is None:
        raise ValueError("holdout: needed to compare the models (summarise with a calibration_end)")
    fits, scores, failures = {}, {}, {}
    for name, fitter in FITTERS.items():
        try:
            fits[name] = fitter(calibration.frequency, calibration.recency, calibration.T)
        except FitFailed as error:
            failures[name] = str(error)
            continue
        scores[name] = score_holdout(fits[name], calibration, holdout)
    if not fits:
        raise FitFailed("neither model could be fitted: " + "; ".join(failures.values()))
    if len(fits) == 1:
        chosen = next(iter(fits))
        other = next(iter(failures))
        return ModelChoice(chosen, f"{chosen}: the only model that could be fitted ({other}: {failures[other]})",
                           fits, scores, failures)
    bg, pareto = scores["bg_nbd"], scores["pareto_nbd"]
    gap = abs(bg.mae_per_customer - pareto.mae_per_customer) / max(bg.mae_per_customer, pareto.mae_per_customer,
                                                                     1e-12)
    if gap >= TIE:
        chosen = "bg_nbd" if bg.mae_per_customer < pareto.mae_per_customer else "pareto_nbd"
        basis = "lower mean absolute error per customer on the holdout"
    else:
        chosen = "bg_nbd" if bg.tracking_mae <= pareto.tracking_mae else "pareto_nbd"
        basis = (f"errors per customer within {TIE:.0%} of each other, so the closer tracking of the holdout's "
                 "per-period totals decides")
    other = "pareto_nbd" if chosen == "bg_nbd" else "bg_nbd"
    mine, theirs = scores[chosen], scores[other]
    reason = (f"{chosen}: {basis} (per customer {mine.mae_per_customer:.4f} against {theirs.mae_per_customer:.4f}; "
              f"per-period tracking {mine.tracking_mae:.2f} against {theirs.tracking_mae:.2f}; holdout total "
              f"predicted {mine.predicted_total:,.0f} against {theirs.predicted_total:,.0f}, actual "
              f"{mine.actual_total:,.0f})")
    return ModelChoice(chosen, reason, fits, scores, failures)
