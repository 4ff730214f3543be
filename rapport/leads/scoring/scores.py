"""Scoring leads as columns: fit, engagement, the predictive chance and each score's reasons.

`score_columns` is the one place scores are computed; a new lead (one row) and every open lead
(a million rows) go through it alike. It reads nothing and writes nothing: callers pass the
columns, events and model, and store what it returns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from . import features as F
from . import rules as R
from .columns import Events, LeadColumns
from .engagement import engagement
from .predictive import Fitted, group_contributions, top_reasons

ENGAGEMENT_BANDS = [1.0, 10.0, 30.0]
ENGAGEMENT_TEXT = ["No recent activity", "Little recent activity", "Some recent activity", "Very active lately"]
ENGAGEMENT_EFFECT = [0.0, 5.0, 20.0, 60.0]  # typical points per band, to rank against fit rules


@dataclass
class Scored:
    fit: np.ndarray  # 0-100, NaN without rules
    verdicts: np.ndarray  # leads x rules: MET / MISSED / UNKNOWN
    details_index: np.ndarray  # per lead, index into details_json
    details_json: list[str]
    engagement: np.ndarray  # 0-100, now
    chance: np.ndarray  # 0-1, NaN without a model
    score: np.ndarray  # 0-100, the queue's order
    reasons_index: np.ndarray
    reasons_json: list[str]


def _patterns(verdicts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct rows, index of each lead's row): leads with the same rules met share details."""
    if verdicts.shape[1] == 0:
        return np.zeros((1, 0), dtype=np.int8), np.zeros(len(verdicts), dtype=np.int64)
    if verdicts.shape[1] <= 39:
        code = ((verdicts.astype(np.int64) + 1) * (3 ** np.arange(verdicts.shape[1], dtype=np.int64))).sum(axis=1)
        distinct, first, inverse = np.unique(code, return_index=True, return_inverse=True)
        return verdicts[first], inverse
    distinct, inverse = np.unique(verdicts, axis=0, return_inverse=True)
    return distinct, inverse.ravel()


def rule_reasons(rules: list[R.CompiledRule], pattern: np.ndarray, band: int, fit_share: float) -> list[dict]:
    """Without a model, the three things that moved the rule score most."""
    candidates = []
    total = sum(r.weight for r in rules) or 1
    for rule, v in zip(rules, pattern.tolist(), strict=True):
        effect = fit_share * 100 * rule.weight / total
        if v == R.MET:
            candidates.append((effect, {"text": f"Fits: {rule.label}", "direction": "up"}))
        else:
            word = "Not known yet" if v == R.UNKNOWN else "Does not fit"
            candidates.append((effect, {"text": f"{word}: {rule.label}", "direction": "down"}))
    if fit_share < 1:
        candidates.append(((1 - fit_share) * max(ENGAGEMENT_EFFECT[band], 10.0),
                           {"text": ENGAGEMENT_TEXT[band], "direction": "up" if band >= 2 else "down"}))
    candidates.sort(key=lambda c: -c[0])
    return [c[1] for c in candidates[:3]]


def score_columns(leads: LeadColumns, *, rules: list[R.CompiledRule], events: Events, now: float,
                  half_life_days: float, fit_share_percent: int, rates: dict[str, float],
                  model: Fitted | None) -> Scored:
    n = len(leads)
    verdicts = R.evaluate(rules, leads, rates=rates)
    fit = R.fit_scores(rules, verdicts)
    patterns, pattern_of = _patterns(verdicts)
    pattern_fit = R.fit_scores(rules, patterns)
    details_json = [json.dumps(R.details(rules, patterns[i], pattern_fit[i]), ensure_ascii=False)
                    for i in range(len(patterns))]

    engaged = engagement(event_contact=events.contact, event_time=events.time, event_weight=events.weight,
                         lead_contact=leads.contact, lead_at=np.full(n, now), half_life_days=half_life_days)
    engaged = np.round(engaged, 1)
    share = min(max(fit_share_percent, 0), 100) / 100.0

    if model is not None:
        intake_at = np.minimum(leads.created + F.INTAKE_SECONDS, now)
        intake = engagement(event_contact=events.contact, event_time=events.time, event_weight=events.weight,
                            lead_contact=leads.contact, lead_at=intake_at, half_life_days=half_life_days)
        X, codes = F.matrix(leads, fit=fit, intake_engagement=intake, now=now, rates=rates)
        chance = model.chance(X) if n else np.zeros(0)
        score = np.rint(100 * chance)
        reasons_index, lists = top_reasons(group_contributions(model, X), codes) if n else (np.zeros(0, int), [])
        reasons_json = [json.dumps(r, ensure_ascii=False) for r in lists]
    else:
        chance = np.full(n, np.nan)
        rule_fit = np.where(np.isnan(fit), engaged, fit)  # no rules: engagement alone
        score = np.rint(share * rule_fit + (1 - share) * engaged) if rules else np.rint(engaged)
        band = np.searchsorted(np.array(ENGAGEMENT_BANDS), engaged, side="right")
        key = pattern_of * 4 + band
        distinct, reasons_index = np.unique(key, return_inverse=True)
        reasons_json = [json.dumps(rule_reasons(rules, patterns[k // 4], int(k % 4), share if rules else 0.0),
                                   ensure_ascii=False) for k in distinct.tolist()]
    return Scored(fit=fit, verdicts=verdicts, details_index=pattern_of, details_json=details_json,
                  engagement=engaged, chance=chance, score=np.clip(score, 0, 100), reasons_index=reasons_index,
                  reasons_json=reasons_json)
