"""Contract and subscription customers: renewals with the shifted-beta-geometric model.

Orders flagged `is_subscription` are renewals (the sales issue flags every order a won renewal
deal makes). For each customer holding one, the first such order starts the contract; every
renewal period (a year by default) after it, a renewal is due. A customer is lapsed when the
last renewal is more than one period plus a grace (30 days) old, or when a deal in a renewal
pipeline was lost after it; otherwise the contract runs.

The sBG model (Fader & Hardie 2007) is fitted to one cohort's survivor counts. Customers here
start at different dates and have been watched for different numbers of periods, so the counts
come from the Kaplan-Meier survival of all contracts (each period's renewals among those whose
renewal date has passed), expressed as a cohort of as many customers as there are contracts.
It needs at least two periods of renewals and some customers who left; otherwise the caller
treats subscription orders as ordinary purchases and says why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rapport.insights import FitFailed, SBGFit, fit_sbg

MINIMUM_AT_RISK = 10  # a period's survival rests on at least this many contracts


@dataclass(frozen=True)
class ContractScores:
    ids: np.ndarray  # contract customers, sorted
    renewals: np.ndarray  # renewals so far (tenure in periods)
    current: np.ndarray  # bool: the contract still runs
    renewal_probability: np.ndarray  # chance of the next renewal (0 when lapsed)
    expected_renewals_12m: np.ndarray
    discounted_renewals: np.ndarray  # over the lifetime-value horizon, discounted
    period_value: np.ndarray  # mean value of a renewal (NaN when unknown)
    fit: SBGFit
    survivors: list[int]
    period_days: int


class NoContractModel(ValueError):
    """Not enough renewal history to fit the model; the message says what is missing."""


def _per_customer(ids: np.ndarray, days: np.ndarray, values: np.ndarray):
    order = np.lexsort((days, ids))
    ids, days, values = ids[order], days[order], values[order]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], len(ids)] - 1
    known = ~np.isnan(values)
    spent = np.add.reduceat(np.where(known, values, 0.0), starts)
    counted = np.add.reduceat(known.astype(np.int64), starts)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counted > 0, spent / np.maximum(counted, 1), np.nan)
    return ids[starts], days[starts], days[ends], mean


def survivor_counts(renewals: np.ndarray, lapsed: np.ndarray) -> list[int]:
    """Kaplan-Meier survival by period as the counts of one cohort of len(renewals) contracts."""
    survival, counts = 1.0, [len(renewals)]
    for k in range(1, int(renewals.max(initial=0)) + 2):
        at_risk = (renewals >= k - 1) & (lapsed | (renewals >= k))
        if at_risk.sum() < MINIMUM_AT_RISK:
            break
        left = (lapsed & (renewals == k - 1)).sum()
        survival *= 1.0 - left / at_risk.sum()
        counts.append(int(round(len(renewals) * survival)))
    return counts


def score_contracts(ids: np.ndarray, days: np.ndarray, values: np.ndarray, *, end_day: int,
                    lost_ids: np.ndarray, lost_days: np.ndarray, period_days: int, grace_days: int,
                    annual_discount_rate: float, horizon_years: float) -> ContractScores:
    """Renewal scores of every customer with subscription orders; NoContractModel when the
    history cannot support a fit."""
    customers, first, last, period_value = _per_customer(ids, days, values)
    renewals = np.rint((last - first) / period_days).astype(np.int64)
    lost_after = np.zeros(len(customers), bool)
    if len(lost_ids):
        at = np.searchsorted(customers, lost_ids)
        inside = at < len(customers)
        match = np.zeros(len(lost_ids), bool)
        match[inside] = customers[at[inside]] == lost_ids[inside]
        lost_after[at[match]] = lost_days[match] > last[at[match]]
    lapsed = (end_day - last > period_days + grace_days) | lost_after
    counts = survivor_counts(renewals, lapsed)
    if len(counts) < 3:
        raise NoContractModel(f"sbg: renewals observed for {len(counts) - 1} period(s) of {period_days} days "
                              f"among {len(customers)} contract customer(s); two periods with at least "
                              f"{MINIMUM_AT_RISK} contracts due are needed")
    try:
        fit = fit_sbg(counts)
    except (FitFailed, ValueError) as error:
        raise NoContractModel(f"sbg: {error}") from None
    current = ~lapsed
    per_year = 365.25 / period_days
    rate = (1.0 + annual_discount_rate) ** (1.0 / per_year) - 1.0
    tenure = renewals.astype(np.float64)
    probability = np.where(current, fit.renewal_probability(tenure), 0.0)
    in_year = np.where(current, fit.expected_remaining_lifetime(tenure, horizon=max(1, int(round(per_year)))), 0.0)
    horizon = max(1, int(round(horizon_years * per_year)))
    discounted = np.where(current, fit.expected_remaining_lifetime(tenure, discount_rate=rate, horizon=horizon), 0.0)
    return ContractScores(ids=customers, renewals=renewals, current=current, renewal_probability=probability,
                          expected_renewals_12m=in_year, discounted_renewals=discounted, period_value=period_value,
                          fit=fit, survivors=counts, period_days=period_days)
