"""What the predictive model sees of a lead, and how each feature group reads as a reason.

Features are grouped (all source columns are one group, etc.) so a reason speaks of "Source:
referral", not of a column. Each group also maps a lead's value to a small code, so reasons can
be written once per distinct (group, value, direction) and shared by many leads.

The model is fed only what is known within the first week of a lead: engagement is counted up
to seven days after the lead arrived, and the response speed of a lead nobody has answered yet
is the time it has waited so far (its score is the chance if a seller answers now).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rapport.leads.models import Authority, LeadSource, PurchaseTimeline
from rapport.people.models import SizeBand

DAY = 86_400.0
INTAKE_SECONDS = 7 * DAY
SOURCES = [s.value for s in LeadSource]
SIZES = [s.value for s in SizeBand]
AUTHORITIES = [a.value for a in Authority if a.value]
TIMELINES = [t.value for t in PurchaseTimeline if t.value]
# Response speed buckets (upper bounds, hours): within an hour, a day, three days; slower or never.
RESPONSE_HOURS = [1.0, 24.0, 72.0]
RESPONSE_TEXT = ["Answered within an hour", "Answered within a day", "Answered within three days",
                 "Not answered within three days"]
BUDGET_STEPS = [1_000, 10_000, 50_000, 250_000]
BUDGET_TEXT = ["No budget given", "Budget under 1,000", "Budget 1,000–10,000", "Budget 10,000–50,000",
               "Budget 50,000–250,000", "Budget over 250,000"]
ENGAGEMENT_STEPS = [1.0, 10.0, 30.0]
ENGAGEMENT_TEXT = ["No activity in its first week", "Little activity in its first week",
                   "Some activity in its first week", "Busy first week (pages, forms, meetings)"]
SOURCE_LABEL = dict(LeadSource.choices)
SIZE_LABEL = dict(SizeBand.choices)
AUTHORITY_LABEL = dict(Authority.choices)
TIMELINE_LABEL = dict(PurchaseTimeline.choices)


@dataclass
class Group:
    name: str
    columns: list[str]


def groups() -> list[Group]:
    return [
        Group("source", [f"source={s}" for s in SOURCES]),
        Group("fit", ["fit_score"]),
        Group("size", [f"size={s}" for s in SIZES]),
        Group("budget", ["budget_given", "budget_log10"]),
        Group("authority", [f"authority={a}" for a in AUTHORITIES]),
        Group("timeline", [f"timeline={t}" for t in TIMELINES]),
        Group("need", ["need_categories", "need_text"]),
        Group("engagement", ["engagement_log"]),
        Group("response", [f"response<={int(h)}h" for h in RESPONSE_HOURS]),
    ]


def feature_names() -> list[str]:
    return [c for g in groups() for c in g.columns]


def _level_codes(leads, name: str, levels: list[str]) -> np.ndarray:
    """Each lead's index into `levels` (len(levels) for a value not among them)."""
    seen, codes = leads.factor(name)
    index = {v: i for i, v in enumerate(levels)}
    mapping = np.array([index.get(v, len(levels)) for v in seen], dtype=np.int64)
    return mapping[codes] if len(seen) else np.zeros(0, dtype=np.int64)


def _one_hot(leads, name: str, levels: list[str]) -> np.ndarray:
    codes = _level_codes(leads, name, levels)
    out = np.zeros((len(codes), len(levels) + 1), dtype=np.float32)
    out[np.arange(len(codes)), codes] = 1.0
    return out[:, :len(levels)]


def response_hours(leads, now: float) -> np.ndarray:
    """Hours from arrival to the first answer; for a lead not answered yet, the hours so far."""
    answered = np.where(np.isnan(leads.first_response), now, leads.first_response)
    return np.maximum(answered - leads.created, 0.0) / 3600.0


def budget_in_base(leads, rates: dict[str, float]) -> np.ndarray:
    """Budget amounts in the base currency (NaN: none given or no rate); a band counts as its middle."""
    from .rules import BAND_RANGE

    base = next(iter(rates))  # a budget without a currency is taken to be in the base currency
    levels, codes = leads.factor("budget_currency")
    per_level = np.array([rates.get(c or base, np.nan) for c in levels], dtype=float)
    factor = per_level[codes] if len(levels) else np.zeros(0)
    amount = leads.budget_amount * factor
    band_levels, band_codes = leads.factor("budget_band")
    for band, (low, high) in BAND_RANGE.items():
        if band not in band_levels:
            continue
        mid = (low + (high if np.isfinite(high) else low * 2)) / 2
        rows = np.isnan(amount) & (band_codes == band_levels.index(band))
        amount[rows] = mid * np.nan_to_num(factor[rows], nan=1.0)
    return amount


def matrix(leads, *, fit: np.ndarray, intake_engagement: np.ndarray, now: float,
           rates: dict[str, float]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The (leads x features) matrix, and per group each lead's value code (for reasons)."""
    n = len(leads)
    budget = budget_in_base(leads, rates)
    given = ~np.isnan(budget)
    need_count = np.bincount(leads.need_lead, minlength=n)[:n] if len(leads.need_lead) else np.zeros(n)
    hours = response_hours(leads, now)
    response_code = np.searchsorted(np.array(RESPONSE_HOURS), hours, side="left")
    fit_value = np.nan_to_num(fit, nan=50.0) / 100.0
    parts = [
        _one_hot(leads, "source", SOURCES),
        fit_value[:, None],
        _one_hot(leads, "size_band", SIZES),
        given[:, None].astype(np.float32),
        np.where(given, np.log10(np.maximum(np.nan_to_num(budget), 1.0)), 0.0)[:, None],
        _one_hot(leads, "authority", AUTHORITIES),
        _one_hot(leads, "timeline", TIMELINES),
        np.minimum(need_count, 3)[:, None],
        leads.need_text[:, None].astype(np.float32),
        np.log1p(intake_engagement)[:, None],
        np.stack([response_code == k for k in range(len(RESPONSE_HOURS))], axis=1).astype(np.float32),
    ]
    X = np.hstack(parts).astype(np.float32)
    codes = {
        "source": _level_codes(leads, "source", SOURCES),
        "fit": np.where(np.isnan(fit), 10, np.clip(fit // 10, 0, 9)).astype(np.int64),
        "size": _level_codes(leads, "size_band", SIZES),
        "budget": np.where(given, np.searchsorted(np.array(BUDGET_STEPS), np.nan_to_num(budget), side="right") + 1,
                           0),
        "authority": _level_codes(leads, "authority", AUTHORITIES),
        "timeline": _level_codes(leads, "timeline", TIMELINES),
        "need": np.minimum(need_count, 3).astype(np.int64) + 4 * leads.need_text.astype(np.int64),
        "engagement": np.searchsorted(np.array(ENGAGEMENT_STEPS), intake_engagement, side="right"),
        "response": response_code,
    }
    return X, codes


def reason_text(group: str, code: int) -> str:
    """A reason in words, from a group and a lead's value code."""
    if group == "source":
        return f"Source: {SOURCE_LABEL.get(SOURCES[code], 'other') if code < len(SOURCES) else 'other'}"
    if group == "fit":
        return "Fit unknown (no fit rules)" if code == 10 else f"Fit {code * 10}–{min(code * 10 + 9, 100)}"
    if group == "size":
        return f"Company size {SIZE_LABEL[SIZES[code]]}" if code < len(SIZES) else "Company size unknown"
    if group == "budget":
        return BUDGET_TEXT[code]
    if group == "authority":
        return (f"Authority: {AUTHORITY_LABEL[AUTHORITIES[code]]}" if code < len(AUTHORITIES)
                else "Buying role unknown")
    if group == "timeline":
        return f"Buying {TIMELINE_LABEL[TIMELINES[code]].lower()}" if code < len(TIMELINES) else "Timeline unknown"
    if group == "need":
        count, text = code % 4, code >= 4
        if not count and not text:
            return "No need stated"
        what = f"{count}{'+' if count == 3 else ''} product categor{'y' if count == 1 else 'ies'}" if count else ""
        return "Need: " + (what + (" and their own words" if text else "") if what else "in their own words")
    if group == "engagement":
        return ENGAGEMENT_TEXT[code]
    if group == "response":
        return RESPONSE_TEXT[code]
    raise KeyError(group)
