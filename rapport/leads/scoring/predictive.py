"""The predictive score: a logistic model of "this lead becomes a won deal", learned from closed leads.

Why logistic regression: its probabilities are calibrated by the way it is fitted (it minimises
log loss), its per-feature contributions are exact reasons (coefficient x distance from the
average lead), it trains in a second on a hundred thousand leads and scores a million in
well under a second. The holdout's calibration table shows whether the probabilities hold.

Outcomes: a converted lead whose deal was won is a win; a converted lead whose deal was lost,
and a disqualified lead, are not. Open leads, leads in nurture and converted leads whose deal is
still open have no outcome yet and are left out.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import joblib
import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegressionCV
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from . import features as F

HOLDOUT_SHARE = 0.25
CALIBRATION_BINS = 10
REGULARISATION = [0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0]


@dataclass
class Fitted:
    pipeline: object
    means: np.ndarray  # the training leads' average of each feature
    effects: np.ndarray  # per feature, change in log-odds per unit (coefficient / scale)
    names: list[str]

    def chance(self, X: np.ndarray) -> np.ndarray:
        return self.pipeline.predict_proba(X)[:, 1]


def fit(X: np.ndarray, y: np.ndarray) -> Fitted:
    # The regularisation is chosen by cross-validated log loss: with a few hundred leads a loose
    # model is overconfident, with a hundred thousand a tight one wastes the data.
    folds = max(2, min(5, int(min(y.sum(), len(y) - y.sum()))))
    pipeline = make_pipeline(StandardScaler(), LogisticRegressionCV(Cs=REGULARISATION, cv=folds,
                                                                     scoring="neg_log_loss", max_iter=2000,
                                                                     l1_ratios=(0,), use_legacy_attributes=False))
    pipeline.fit(X, y)
    scaler, model = pipeline[0], pipeline[-1]
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    return Fitted(pipeline=pipeline, means=scaler.mean_.astype(float), effects=model.coef_[0] / scale,
                  names=F.feature_names())


def calibration_table(p: np.ndarray, y: np.ndarray, bins: int = CALIBRATION_BINS) -> list[dict]:
    """Leads sorted by predicted chance and cut into equal-sized groups: in each, the average
    predicted chance beside the share that actually won."""
    if not len(p):
        return []
    order = np.argsort(p, kind="stable")
    table = []
    for part in np.array_split(order, min(bins, len(p))):
        if not len(part):
            continue
        table.append({"leads": int(len(part)), "from": round(float(p[part].min()), 4),
                      "to": round(float(p[part].max()), 4), "predicted": round(float(p[part].mean()), 4),
                      "observed": round(float(y[part].mean()), 4), "wins": int(y[part].sum())})
    return table


def metrics(p: np.ndarray, y: np.ndarray) -> dict:
    both = len(set(y.tolist())) == 2
    return {"roc_auc": round(float(roc_auc_score(y, p)), 4) if both else None,
            "brier": round(float(brier_score_loss(y, p)), 4),
            # The Brier score of always predicting the base rate: the bar a useful model clears.
            "brier_base_rate": round(float(np.mean((y.mean() - y) ** 2)), 4),
            "base_rate": round(float(y.mean()), 4), "calibration": calibration_table(p, y)}


def time_split(decided: np.ndarray, share: float = HOLDOUT_SHARE) -> tuple[np.ndarray, np.ndarray]:
    """Train on the leads decided first, test on the newest `share` of outcomes: the model is
    judged on outcomes that came after everything it learned from, as in use. (Ordering by
    when the outcome became known, not when the lead arrived: the newest arrivals that have an
    outcome are mostly the quickly dropped ones, since their won deals are still open.)"""
    order = np.argsort(decided, kind="stable")
    cut = int(round(len(order) * (1 - share)))
    return order[:cut], order[cut:]


def dump(fitted: Fitted) -> tuple[bytes, str]:
    buffer = io.BytesIO()
    joblib.dump({"pipeline": fitted.pipeline, "means": fitted.means, "effects": fitted.effects,
                 "names": fitted.names}, buffer, compress=3)
    data = buffer.getvalue()
    return data, hashlib.sha256(data).hexdigest()


class ModelUnusable(Exception):
    """A stored model that cannot be used here (damaged, or from another scikit-learn)."""


def load(data: bytes, sha256: str, version: str) -> Fitted:
    data = bytes(data)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ModelUnusable("the stored model is damaged (checksum mismatch); run `rapport leads train`")
    if version != sklearn.__version__:
        raise ModelUnusable(f"the model was trained with scikit-learn {version}, this is {sklearn.__version__}; "
                            "run `rapport leads train`")
    stored = joblib.load(io.BytesIO(data))
    if stored["names"] != F.feature_names():
        raise ModelUnusable("the model was trained on other features; run `rapport leads train`")
    return Fitted(**stored)


# --- reasons -------------------------------------------------------------------------------------

def group_contributions(fitted: Fitted, X: np.ndarray) -> np.ndarray:
    """(leads x groups): how far each feature group moves a lead's log-odds from the average lead's."""
    contributions = (X - fitted.means.astype(np.float32)) * fitted.effects.astype(np.float32)
    sums = []
    start = 0
    for g in F.groups():
        width = len(g.columns)
        sums.append(contributions[:, start:start + width].sum(axis=1))
        start += width
    return np.stack(sums, axis=1)


def top_reasons(contributions: np.ndarray, codes: dict[str, np.ndarray], k: int = 3) -> tuple[np.ndarray, list]:
    """Each lead's three strongest reasons, as an index into a list of distinct reason lists.

    Returns (index per lead, the distinct lists): a million leads share a few thousand lists, so
    each is built (and turned into JSON) once.
    """
    names = [g.name for g in F.groups()]
    n, g = contributions.shape
    k = min(k, g)
    top = np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :k]
    rows = np.arange(n)[:, None]
    up = contributions[rows, top] > 0
    code_matrix = np.stack([codes[name] for name in names], axis=1)  # (n, groups)
    value = code_matrix[rows, top]
    # one integer per (group, value, direction) triple: 16 groups x 64 values x 2 directions
    parts = (top * 64 + np.minimum(value, 63)) * 2 + up
    key = parts[:, 0].astype(np.int64)
    for j in range(1, k):
        key = key * 2048 + parts[:, j]
    distinct, inverse = np.unique(key, return_inverse=True)
    # the first lead with each distinct key stands for all of them
    first = np.full(len(distinct), -1)
    first[inverse[::-1]] = np.arange(n)[::-1]
    lists = [[{"text": F.reason_text(names[top[lead, j]], int(value[lead, j])),
               "direction": "up" if up[lead, j] else "down"} for j in range(k)] for lead in first.tolist()]
    return inverse, lists


@dataclass
class Training:
    status: str  # "ready" or "too_few"
    note: str
    outcomes: int
    wins: int
    metrics: dict
    fitted: Fitted | None


def train(X: np.ndarray, y: np.ndarray, decided: np.ndarray, *, min_outcomes: int) -> Training:
    """Fit on the older 75 % of closed leads, judge on the newest 25 %, then refit on them all.

    Refuses (status "too_few", with the reason) with fewer outcomes than `min_outcomes`, or fewer
    than a tenth of that on either side: a model learned from a handful of wins only repeats them.
    """
    outcomes, wins = int(len(y)), int(y.sum())
    side = max(1, min_outcomes // 10)
    if outcomes < min_outcomes or wins < side or outcomes - wins < side:
        note = (f"{outcomes} closed leads ({wins} won, {outcomes - wins} not); training needs at least "
                f"{min_outcomes}, with at least {side} on each side. The rule scores (fit and engagement) "
                "stay in use.")
        return Training("too_few", note, outcomes, wins, {}, None)
    train_rows, test_rows = time_split(decided)
    y_train, y_test = y[train_rows], y[test_rows]
    if len(set(y_train.tolist())) < 2:
        return Training("too_few", "the older leads are all wins or all losses; nothing to learn from yet",
                        outcomes, wins, {}, None)
    judged = fit(X[train_rows], y_train)
    p_test = judged.chance(X[test_rows])
    result = metrics(p_test, y_test) | {
        "train": int(len(train_rows)), "holdout": int(len(test_rows)),
        "holdout_from": float(decided[test_rows].min()) if len(test_rows) else None,
        "holdout_to": float(decided[test_rows].max()) if len(test_rows) else None,
    }
    final = fit(X, y)
    # The weights of the model in use, in words, for the evaluation page.
    result["effects"] = {name: round(float(e), 4) for name, e in zip(final.names, final.effects, strict=True)}
    return Training("ready", "", outcomes, wins, result, final)
