"""Engagement: recent events, each worth its kind's points, halving every half-life.

An event worth w points that happened d days before the moment of scoring adds
w x 0.5^(d / half_life). Events older than `HORIZON_HALF_LIVES` half-lives add under 0.4 % of
their points and are not read. The score is the sum, capped at 100.
"""

from __future__ import annotations

import numpy as np

DAY = 86_400.0
HORIZON_HALF_LIVES = 8
CAP = 100.0


def decay(weights: np.ndarray, age_days: np.ndarray, half_life_days: float) -> np.ndarray:
    """Each event's points at the moment of scoring. Events in the future count nothing."""
    if half_life_days <= 0:
        raise ValueError("the half-life must be above zero days")
    age = np.asarray(age_days, dtype=float)
    return np.where(age >= 0, np.asarray(weights, dtype=float) * np.exp2(-np.maximum(age, 0) / half_life_days), 0.0)


def window_seconds(half_life_days: float) -> float:
    return HORIZON_HALF_LIVES * half_life_days * DAY


def pair_events_with_leads(event_contact: np.ndarray, lead_contact: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(event index, lead index) for every event and every lead of the event's contact.

    A contact can have several leads; each of them counts the contact's events (each against
    its own moment of scoring).
    """
    order = np.argsort(lead_contact, kind="stable")
    sorted_contacts = lead_contact[order]
    lo = np.searchsorted(sorted_contacts, event_contact, side="left")
    hi = np.searchsorted(sorted_contacts, event_contact, side="right")
    counts = hi - lo
    event_index = np.repeat(np.arange(len(event_contact)), counts)
    # position within each event's run of leads: 0, 1, ... counts-1
    starts = np.repeat(lo, counts)
    offsets = np.arange(len(event_index)) - np.repeat(np.cumsum(counts) - counts, counts)
    return event_index, order[starts + offsets]


def engagement(*, event_contact: np.ndarray, event_time: np.ndarray, event_weight: np.ndarray,
               lead_contact: np.ndarray, lead_at: np.ndarray, half_life_days: float) -> np.ndarray:
    """Per lead, the decayed points of its contact's events up to `lead_at` (epoch seconds,
    one moment per lead), capped at 100."""
    n = len(lead_contact)
    if n == 0 or len(event_contact) == 0:
        return np.zeros(n)
    e, lead = pair_events_with_leads(np.asarray(event_contact), np.asarray(lead_contact))
    age_days = (lead_at[lead] - event_time[e]) / DAY
    keep = (age_days >= 0) & (age_days * DAY <= window_seconds(half_life_days))
    points = decay(event_weight[e][keep], age_days[keep], half_life_days)
    total = np.bincount(lead[keep], weights=points, minlength=n)
    return np.minimum(total, CAP)
