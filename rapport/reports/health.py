"""Health: one 0-100 figure per customer from weighted components, and its reasons in words.

Pure functions over NumPy arrays (no Django): the refresh computes every customer's components
at once, and a page asks `reasons` for the few words that explain one customer's figure.

Components, each 0-100 (NaN where it does not apply; its weight then goes to the others):

- alive: the purchase model's chance they are still a customer, x 100;
- recency: days since the last order against their own usual interval between purchases (the
  typical interval of all customers for those who bought once): 100 up to one interval, falling
  to 0 at four;
- engagement: timeline events in the last 90 days against the 90 before: 100 when activity held
  or grew, in proportion when it fell, 0 with no activity in 180 days;
- contact: days since a seller last called, met or e-mailed them, against the same interval
  (at least 30 days): 100 within one, 0 at four or never;
- deals: their open deals, each worth 100 when it changed stage in the last 30 days, 0 when
  stalled (no activity for its pipeline's stall days), 50 otherwise; not applicable without any.

Health is the weighted mean of the components that apply, with the weights from
`settings.RAPPORT_HEALTH_WEIGHTS` (passed in by the caller).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COMPONENTS = ("alive", "recency", "engagement", "contact", "deals")
DEFAULT_WEIGHTS = {"alive": 30, "recency": 25, "engagement": 15, "contact": 15, "deals": 15}
WINDOW_DAYS = 90
MINIMUM_CONTACT_INTERVAL = 30.0
GOOD = 70  # a component at or above this is a strength, below it a concern


@dataclass(frozen=True)
class HealthFacts:
    """One entry per customer; NaN marks what is unknown."""

    probability_alive: np.ndarray
    days_since_order: np.ndarray
    usual_interval_days: np.ndarray  # NaN for customers with one purchase so far
    typical_interval_days: float  # median of the usual intervals: the yardstick for one-time buyers
    events_recent: np.ndarray
    events_before: np.ndarray
    days_since_contact: np.ndarray  # NaN when no seller has talked to them
    open_deals: np.ndarray
    moving_deals: np.ndarray
    stalled_deals: np.ndarray


def check_weights(weights: dict) -> dict[str, float]:
    """The weights as floats, or ValueError naming what is wrong (unknown component, negative...)."""
    if not isinstance(weights, dict) or not weights:
        raise ValueError("RAPPORT_HEALTH_WEIGHTS: expected a mapping of component to weight, e.g. "
                         f"{DEFAULT_WEIGHTS}")
    unknown = sorted(set(weights) - set(COMPONENTS))
    if unknown:
        raise ValueError(f"RAPPORT_HEALTH_WEIGHTS: unknown component(s) {', '.join(unknown)}; "
                         f"choose from {', '.join(COMPONENTS)}")
    clean = {}
    for name, value in weights.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value) or value < 0:
            raise ValueError(f"RAPPORT_HEALTH_WEIGHTS: the weight of {name} must be a number >= 0")
        clean[name] = float(value)
    if sum(clean.values()) <= 0:
        raise ValueError("RAPPORT_HEALTH_WEIGHTS: at least one weight must be above 0")
    return clean


def _fading(ratio: np.ndarray) -> np.ndarray:
    """100 up to a ratio of 1, falling in a straight line to 0 at 4."""
    return np.clip(100.0 * (1.0 - (ratio - 1.0) / 3.0), 0.0, 100.0)


def reference_interval(usual: np.ndarray, typical: float) -> np.ndarray:
    """Each customer's own interval between purchases, or the typical one when they bought once."""
    usual = np.asarray(usual, dtype=np.float64)
    return np.where(np.isfinite(usual) & (usual > 0), usual, typical)


def component_scores(facts: HealthFacts) -> dict[str, np.ndarray]:
    interval = reference_interval(facts.usual_interval_days, facts.typical_interval_days)
    with np.errstate(divide="ignore", invalid="ignore"):
        alive = 100.0 * np.clip(np.asarray(facts.probability_alive, dtype=np.float64), 0.0, 1.0)
        recency = _fading(np.asarray(facts.days_since_order, dtype=np.float64) / interval)
        recent = np.asarray(facts.events_recent, dtype=np.float64)
        before = np.asarray(facts.events_before, dtype=np.float64)
        engagement = np.where(before > 0, 100.0 * np.minimum(1.0, recent / np.maximum(before, 1.0)),
                              np.where(recent > 0, 100.0, 0.0))
        contact_days = np.asarray(facts.days_since_contact, dtype=np.float64)
        contact = np.where(np.isnan(contact_days), 0.0,
                           _fading(contact_days / np.maximum(np.nan_to_num(interval, nan=MINIMUM_CONTACT_INTERVAL),
                                                            MINIMUM_CONTACT_INTERVAL)))
        open_deals = np.asarray(facts.open_deals, dtype=np.float64)
        moving = np.asarray(facts.moving_deals, dtype=np.float64)
        stalled = np.asarray(facts.stalled_deals, dtype=np.float64)
        deals = np.where(open_deals > 0, 100.0 * (moving + 0.5 * (open_deals - moving - stalled))
                         / np.maximum(open_deals, 1.0), np.nan)
    return {"alive": alive, "recency": np.where(np.isnan(interval), np.nan, recency),
            "engagement": engagement, "contact": contact, "deals": deals}


def health_scores(facts: HealthFacts, weights: dict) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(health 0-100 rounded, NaN where no component applies; the components by name)."""
    weights = check_weights(weights)
    components = component_scores(facts)
    total = np.zeros(len(np.asarray(facts.days_since_order)))
    weight_sum = np.zeros_like(total)
    for name, weight in weights.items():
        if weight <= 0:
            continue
        values = components[name]
        applies = ~np.isnan(values)
        total += np.where(applies, values * weight, 0.0)
        weight_sum += np.where(applies, weight, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        health = np.where(weight_sum > 0, np.round(total / weight_sum), np.nan)
    return health, {name: components[name] for name in COMPONENTS}


@dataclass(frozen=True)
class Reason:
    component: str
    score: int
    text: str

    @property
    def good(self) -> bool:
        return self.score >= GOOD


def _days(value: float) -> str:
    days = int(round(value))
    return "1 day" if days == 1 else f"{days} days"


def _reason_text(name: str, score: float, facts: dict, typical: float | None) -> str:
    usual = facts.get("usual_interval_days")
    has_usual = usual is not None and np.isfinite(usual) and usual > 0
    if name == "alive":
        chance = facts["probability_alive"]
        if score >= GOOD:
            return f"very likely still a customer ({chance:.0%} chance)"
        return f"{chance:.0%} chance they are still a customer"
    if name == "recency":
        since = facts["days_since_order"]
        if has_usual:
            return f"last order {_days(since)} ago; they usually buy every {_days(usual)}"
        return (f"one purchase so far, {_days(since)} ago; customers usually come back within "
                f"{_days(typical or 0)}")
    if name == "engagement":
        recent, before = facts["events_recent"], facts["events_before"]
        if recent == 0 and before == 0:
            return "no activity on their timeline in 180 days"
        if recent < before:
            return f"activity down from {before} to {recent} events (last 90 days against the 90 before)"
        if recent > before:
            return f"activity up from {before} to {recent} events (last 90 days against the 90 before)"
        return f"steady activity: {recent} events in each of the last two 90-day spans"
    if name == "contact":
        since = facts.get("days_since_contact")
        if since is None or not np.isfinite(since):
            return "no call, meeting or e-mail with a seller yet"
        if score >= GOOD:
            return f"a seller talked to them {_days(since)} ago"
        if has_usual:
            return f"no contact in {_days(since)} while they usually buy every {_days(usual)}"
        return f"no contact in {_days(since)}"
    if name == "deals":
        open_deals, moving, stalled = facts["open_deals"], facts["moving_deals"], facts["stalled_deals"]
        plural = "" if open_deals == 1 else "s"
        if stalled:
            return f"{stalled} of {open_deals} open deal{plural} stalled"
        if moving:
            return f"{moving} of {open_deals} open deal{plural} moved stage in the last 30 days"
        return f"{open_deals} open deal{plural}, none moved stage in the last 30 days"
    raise ValueError(f"component: unknown {name!r}")


def reasons(facts: dict, components: dict, weights: dict, *, typical_interval_days: float | None = None,
            limit: int = 3) -> list[Reason]:
    """The components that move one customer's health most, worst first, in plain words.

    `facts` holds the customer's stored facts (keys as in `HealthFacts`, one value each),
    `components` their stored component scores (None where one does not apply). A component
    weighs by how far it pulls health down (weight x (100 - score)); when all are good the
    strongest come first instead.
    """
    weights = check_weights(weights)
    scored = [(name, float(components[name])) for name in COMPONENTS
              if components.get(name) is not None and weights.get(name, 0) > 0]
    if not scored:
        return []
    concerns = [(weights[n] * (100 - s), n, s) for n, s in scored if s < GOOD]
    ranked = sorted(concerns, key=lambda item: -item[0])
    if len(ranked) < limit:
        strengths = sorted(((weights[n] * s, n, s) for n, s in scored if s >= GOOD), key=lambda item: -item[0])
        ranked += strengths
    return [Reason(component=name, score=int(round(score)),
                   text=_reason_text(name, score, facts, typical_interval_days))
            for _, name, score in ranked[:limit]]


def band(health: int | float | None) -> str:
    """The list filter's band of a health figure: healthy (70+), watch (40-69), at_risk (below 40)."""
    if health is None:
        return ""
    return "healthy" if health >= 70 else "watch" if health >= 40 else "at_risk"


HEALTH_BANDS = {"healthy": (70, None), "watch": (40, 70), "at_risk": (None, 40)}
ALIVE_BANDS = {"likely": (0.7, None), "uncertain": (0.3, 0.7), "unlikely": (None, 0.3)}
