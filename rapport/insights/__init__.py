"""Rapport's analytics engine: pure functions over tables (NumPy), no Django.

What a relationship is worth and whether it is alive, from the buy-till-you-die models:

- `rfm_summary`: transactions -> frequency, recency, T and mean repeat spend per customer;
- `fit_bgnbd`, `fit_pareto_nbd`: how often customers buy and when they quietly leave;
- `fit_gamma_gamma`: how much they spend per purchase;
- `fit_sbg`: renewals of contracts and subscriptions;
- `customer_lifetime_value`, `segment_interval`: value per customer and its uncertainty;
- `choose_model`: the purchase model that predicts a holdout window better.

Every fit returns parameters, standard errors (from the Hessian) and the log-likelihood. The
`reports` app loads the inputs from the database, runs the engine and stores the scores.
"""

from rapport.insights.bgnbd import BGNBDFit, fit_bgnbd
from rapport.insights.fitting import FitFailed, ModelFit
from rapport.insights.gamma_gamma import GammaGammaFit, fit_gamma_gamma
from rapport.insights.model_choice import HoldoutScore, ModelChoice, choose_model, score_holdout
from rapport.insights.pareto_nbd import ParetoNBDFit, fit_pareto_nbd
from rapport.insights.rfm import DAYS_PER_PERIOD, Holdout, RFMTable, rfm_summary
from rapport.insights.sbg import SBGFit, fit_sbg
from rapport.insights.value import (
    Interval,
    customer_lifetime_value,
    discounted_expected_purchases,
    per_period_rate,
    segment_interval,
)

MODEL_VERSION = "1"  # stored beside every score; bump when a formula or convention changes

__all__ = [
    "BGNBDFit", "DAYS_PER_PERIOD", "FitFailed", "GammaGammaFit", "Holdout", "HoldoutScore", "Interval",
    "MODEL_VERSION", "ModelChoice", "ModelFit", "ParetoNBDFit", "RFMTable", "SBGFit", "choose_model",
    "customer_lifetime_value", "discounted_expected_purchases", "fit_bgnbd", "fit_gamma_gamma",
    "fit_pareto_nbd", "fit_sbg", "per_period_rate", "rfm_summary", "score_holdout", "segment_interval",
]
