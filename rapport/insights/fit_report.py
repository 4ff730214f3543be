"""Both purchase models fitted on an analyst's transactions, as one JSON-ready document.

With a holdout window the model that predicts it better per customer is chosen (`choose_model`);
without one, the model with the higher log-likelihood (both have four parameters, so this is also
the lower AIC and BIC).
"""

from __future__ import annotations

import numpy as np

from rapport.insights.fitting import FitFailed
from rapport.insights.gamma_gamma import fit_gamma_gamma
from rapport.insights.model_choice import FITTERS, choose_model
from rapport.insights.rfm import rfm_summary
from rapport.insights.transactions_file import Transactions


def _day(name: str, value) -> np.datetime64:
    try:
        day = np.datetime64(value, "D")
    except (TypeError, ValueError):
        raise ValueError(f"{name}: {value!r} is not a date; write it as YYYY-MM-DD") from None
    if np.isnat(day):
        raise ValueError(f"{name}: missing")
    return day


def _model(fit) -> dict:
    return {"params": dict(fit.params), "standard_errors": dict(fit.standard_errors),
            "log_likelihood": fit.log_likelihood}


def fit_report(transactions: Transactions, *, calibration_end, holdout_end=None, period: str = "W",
               fractional: bool = True, with_values: bool = True) -> dict:
    first, last = transactions.date.min(), transactions.date.max()
    cal = _day("calibration_end", calibration_end)
    if not first <= cal <= last:
        raise ValueError(f"calibration_end: {cal} is outside the data, which runs from {first} to {last}")
    end = cal
    if holdout_end is not None:
        end = _day("holdout_end", holdout_end)
        if end <= cal:
            raise ValueError(f"holdout_end: {end} must be after the calibration end {cal}")
        if end > last:
            raise ValueError(f"holdout_end: {end} is after the last transaction ({last}); the holdout would count "
                             "purchases the file cannot contain")
    summary = rfm_summary(transactions.customer_id, transactions.date, transactions.value, end, period,
                          cal if holdout_end is not None else None, fractional=fractional)
    document: dict = {
        "transactions": int(len(transactions.customer_id)),
        "customers": int(len(summary)),
        "repeat_buyers": int((summary.frequency > 0).sum()),
        "period": period,
        "fractional_periods": fractional,
        "calibration_end": str(cal),
        "holdout_end": str(end) if holdout_end is not None else None,
        "models": {},
        "failures": {},
    }
    if holdout_end is not None:
        choice = choose_model(summary)
        document["models"] = {name: _model(fit) for name, fit in choice.fits.items()}
        document["failures"] = dict(choice.failures)
        document["chosen"], document["reason"] = choice.chosen, choice.reason
        document["holdout"] = {
            "duration_periods": summary.holdout.duration,
            "actual_repeat_transactions": float(summary.holdout.frequency.sum()),
            "predicted": {name: {"repeat_transactions": score.predicted_total,
                                 "mean_absolute_error_per_customer": score.mae_per_customer}
                          for name, score in choice.scores.items()},
        }
    else:
        for name, fitter in FITTERS.items():
            try:
                document["models"][name] = _model(fitter(summary.frequency, summary.recency, summary.T))
            except FitFailed as error:
                document["failures"][name] = str(error)
        if not document["models"]:
            raise FitFailed("neither model could be fitted: " + "; ".join(document["failures"].values()))
        chosen = max(document["models"], key=lambda name: document["models"][name]["log_likelihood"])
        document["chosen"] = chosen
        document["reason"] = (f"{chosen}: the higher log-likelihood on the calibration data (no holdout given; "
                              "pass --holdout-end to choose by forecast accuracy instead)")
    repeat = summary.frequency > 0
    if not with_values:
        document["failures"]["gamma_gamma"] = "no value column given, so spend per purchase is not modelled"
    elif (summary.monetary_value[repeat] <= 0).any():
        document["failures"]["gamma_gamma"] = (
            f"{int((summary.monetary_value[repeat] <= 0).sum())} repeat buyer(s) spent nothing on their repeat "
            "purchases; the spend model needs a positive mean spend for every repeat buyer")
    else:
        try:
            document["models"]["gamma_gamma"] = _model(
                fit_gamma_gamma(summary.frequency[repeat], summary.monetary_value[repeat]))
        except (FitFailed, ValueError) as error:
            document["failures"]["gamma_gamma"] = str(error)
    return document
