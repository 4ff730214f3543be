"""Scoring one population of customers (contacts, or companies) from their orders.

Given one entry per order (customer id, time, value in the base currency, subscription flag),
returns one entry per customer: the observed facts (orders, revenue, first and last order, usual
interval) and what the models predict. All of it is NumPy over whole arrays; the engine
(`rapport.insights`) does the statistics.

Choices, each recorded in the run:
- Time runs in calendar weeks: purchases in the same week are one visit. Whole weeks make
  customers with the same history identical, so a million customers collapse to some tens of
  thousands of distinct histories and every prediction is computed once per history.
- BG/NBD and Pareto/NBD are compared on a holdout (the last `holdout_weeks` before the as-of
  date) fitted on a random sample of at most `choice_sample` customers: the comparison does not
  need all of them. The chosen model is then refitted on every customer's whole history.
- Gamma-Gamma (spend per purchase) is fitted on at most `spend_sample` repeat buyers.
- Value over 12 months is not discounted; lifetime value is, monthly, at `annual_discount_rate`
  over `clv_years`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from rapport.insights import (
    choose_model,
    discounted_expected_purchases,
    fit_bgnbd,
    fit_gamma_gamma,
    fit_pareto_nbd,
    per_period_rate,
    rfm_summary,
)
from rapport.insights.bgnbd import QUICK_CONCENTRATIONS

from .contracts import NoContractModel, score_contracts

FITTERS = {"bg_nbd": fit_bgnbd, "pareto_nbd": fit_pareto_nbd}
WEEKS_PER_YEAR = 52.0


@dataclass(frozen=True)
class Config:
    holdout_weeks: int = 26
    annual_discount_rate: float = 0.10
    clv_years: float = 3.0
    renewal_period_days: int = 365
    renewal_grace_days: int = 30
    choice_sample: int = 200_000
    spend_sample: int = 200_000
    # Below this many repeat buyers the two purchase models are not compared (nor the second tried
    # when the first fails): the comparison would be noise, and a Pareto/NBD search on data that
    # cannot determine it takes many seconds to give up.
    compare_minimum: int = 100
    second_try_minimum: int = 1000
    seed: int = 0


@dataclass
class Scores:
    """One entry per customer, sorted by id. NaN where a figure is unknown."""

    ids: np.ndarray
    model: np.ndarray  # str per customer: bg_nbd, pareto_nbd, sbg, bg_nbd+sbg, ... or "" (no model)
    frequency: np.ndarray
    recency: np.ndarray
    age: np.ndarray
    orders: np.ndarray
    revenue: np.ndarray
    orders_without_rate: np.ndarray
    first_seconds: np.ndarray
    last_seconds: np.ndarray
    usual_interval_days: np.ndarray
    probability_alive: np.ndarray
    expected_purchases_12m: np.ndarray
    expected_order_value: np.ndarray
    value_12m: np.ndarray
    lifetime_value: np.ndarray
    renewals: np.ndarray
    renewal_probability: np.ndarray
    record: dict = field(default_factory=dict)  # fits, choice, failures: stored on the run
    purchase_fit: object = None  # the fitted purchase model (BG/NBD or Pareto/NBD), if any
    value_fit: object = None  # the fitted Gamma-Gamma model, if any

    def __len__(self) -> int:
        return len(self.ids)


def _index(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct ids, each entry's position among them), by counting when ids are dense."""
    high = int(ids.max()) if len(ids) else 0
    if high < 50_000_000 and high < 20 * len(ids) + 1_000_000:
        present = np.bincount(ids, minlength=high + 1) > 0
        lookup = np.cumsum(present) - 1
        return np.flatnonzero(present), lookup[ids]
    distinct, position = np.unique(ids, return_inverse=True)
    return distinct, position.reshape(-1)


def _weeks(days: np.ndarray) -> np.ndarray:
    return (days + 3) // 7  # calendar weeks starting on Monday, as rfm_summary counts them


def score_population(ids: np.ndarray, seconds: np.ndarray, values: np.ndarray, subscription: np.ndarray, *,
                     as_of: dt.date, lost_renewals: tuple[np.ndarray, np.ndarray], config: Config,
                     step=lambda name: None, fallback: Scores | None = None) -> Scores:
    """Scores of every customer in the orders. `fallback`: another population's scores whose fitted
    models stand in when this population's own history cannot support a fit (a handful of
    companies next to thousands of contacts)."""
    end_day = (as_of - dt.date(1970, 1, 1)).days
    days = seconds // 86400
    customers, position = _index(ids)
    n = len(customers)
    known = ~np.isnan(values)
    amounts = np.where(known, values, 0.0)
    first_seconds = np.full(n, np.iinfo(np.int64).max)
    last_seconds = np.full(n, np.iinfo(np.int64).min)
    np.minimum.at(first_seconds, position, seconds)
    np.maximum.at(last_seconds, position, seconds)
    nan = np.full(n, np.nan)
    scores = Scores(
        ids=customers, model=np.full(n, "", dtype=object), frequency=np.zeros(n), recency=np.zeros(n),
        age=np.zeros(n), orders=np.bincount(position, minlength=n),
        revenue=np.bincount(position, weights=amounts, minlength=n),
        orders_without_rate=np.bincount(position, weights=~known, minlength=n).astype(np.int64),
        first_seconds=first_seconds, last_seconds=last_seconds, usual_interval_days=nan.copy(),
        probability_alive=nan.copy(), expected_purchases_12m=nan.copy(), expected_order_value=nan.copy(),
        value_12m=nan.copy(), lifetime_value=nan.copy(), renewals=nan.copy(), renewal_probability=nan.copy(),
    )
    record: dict = {"customers": n, "orders": int(len(ids)), "failures": {}}
    scores.record = record

    contracts = None
    if subscription.any():
        step("contracts")
        lost_ids, lost_seconds = lost_renewals
        try:
            contracts = score_contracts(
                ids[subscription], days[subscription], values[subscription], end_day=end_day,
                lost_ids=lost_ids, lost_days=lost_seconds // 86400, period_days=config.renewal_period_days,
                grace_days=config.renewal_grace_days, annual_discount_rate=config.annual_discount_rate,
                horizon_years=config.clv_years)
            record["sbg"] = {**contracts.fit.as_dict(), "survivors": contracts.survivors,
                             "contracts": int(len(contracts.ids)), "current": int(contracts.current.sum())}
        except NoContractModel as error:
            record["failures"]["sbg"] = str(error) + "; subscription orders count as ordinary purchases"
    transactional = ~subscription if contracts is not None else np.ones(len(ids), bool)

    if transactional.any():
        span = (first_seconds, last_seconds)
        if not transactional.all():  # the usual interval between purchases leaves renewals out
            span = (np.full(n, np.iinfo(np.int64).max), np.full(n, np.iinfo(np.int64).min))
            np.minimum.at(span[0], position[transactional], seconds[transactional])
            np.maximum.at(span[1], position[transactional], seconds[transactional])
        _score_purchases(scores, ids[transactional], days[transactional], values[transactional],
                         position[transactional], span, as_of=as_of, config=config, step=step, fallback=fallback)
    if contracts is not None:
        _add_contracts(scores, contracts)
    step("done")
    return scores


def _score_purchases(scores: Scores, ids, days, values, position, span, *, as_of: dt.date, config: Config, step,
                     fallback: Scores | None) -> None:
    record = scores.record
    step("summarise")
    amounts = np.where(np.isnan(values), 0.0, values)
    table = rfm_summary(ids, days.astype("datetime64[D]"), amounts, observation_end=as_of, period="W")
    at = np.searchsorted(scores.ids, table.customer_id)
    x, t_x, T = table.frequency, table.recency, table.T
    scores.frequency[at], scores.recency[at], scores.age[at] = x, t_x, T
    monetary = table.monetary_value.copy()
    if np.isnan(values).any():
        monetary = _known_monetary(scores, table, at, days, values, position)
    span_days = (span[1][at] - span[0][at]) / 86400.0
    with np.errstate(invalid="ignore", divide="ignore"):
        scores.usual_interval_days[at] = np.where(x > 0, span_days / np.maximum(x, 1), np.nan)

    step("fit")
    # Companies are the same customers' orders gathered: they take the model family the
    # contacts' holdout chose, fitted on their own histories (one fit instead of four).
    family = fallback.purchase_fit.model if fallback is not None and fallback.purchase_fit is not None else None
    chosen, fit = _choose_and_fit(table, ids, days, as_of, config, record, family=family)
    value_fit = _fit_spend(x, monetary, config, record) if fit is not None else None
    if fit is None and fallback is not None and fallback.purchase_fit is not None:
        fit, chosen = fallback.purchase_fit, fallback.purchase_fit.model
        value_fit = fallback.value_fit
        record.update(chosen=chosen, why=record["why"] + f"; the contacts' {chosen} model is used instead",
                      borrowed=True)
    if fit is None:
        return
    if value_fit is None and fallback is not None and fallback.value_fit is not None:
        value_fit = fallback.value_fit
        record["gamma_gamma_borrowed"] = True
    scores.model[at] = chosen
    scores.purchase_fit, scores.value_fit = fit, value_fit

    step("score")
    eov = _expected_order_value(value_fit, x, monetary, amounts, record)
    high = int(max(T.max(), 1)) + 1
    key = (x.astype(np.int64) * high + t_x.astype(np.int64)) * high + T.astype(np.int64)
    distinct, inverse = np.unique(key, return_inverse=True)
    ux = (distinct // (high * high)).astype(np.float64)
    ut_x = ((distinct // high) % high).astype(np.float64)
    uT = (distinct % high).astype(np.float64)
    record["distinct_histories"] = int(len(distinct))
    alive = fit.probability_alive(ux, ut_x, uT)[inverse]
    in_year = fit.expected_purchases(WEEKS_PER_YEAR, ux, ut_x, uT)[inverse]
    discounted = discounted_expected_purchases(
        fit, ux, ut_x, uT, horizon=WEEKS_PER_YEAR * config.clv_years,
        discount_rate=per_period_rate(config.annual_discount_rate, WEEKS_PER_YEAR), step=WEEKS_PER_YEAR / 12)[inverse]
    scores.probability_alive[at] = alive
    scores.expected_purchases_12m[at] = in_year
    scores.expected_order_value[at] = eov
    scores.value_12m[at] = in_year * eov
    scores.lifetime_value[at] = discounted * eov


def _known_monetary(scores, table, at, days, values, position) -> np.ndarray:
    """Mean repeat spend counting only orders with a known value (those without an exchange rate
    still count as purchases in the frequency; their value is left out of the mean, so the mean
    of the known repeat orders stands in for them). NaN where no repeat order has a known value."""
    first_week = np.zeros(len(scores.ids), np.int64)
    first_week[at] = _weeks(table.first_purchase.astype(np.int64))
    repeat = _weeks(days) > first_week[position]
    known = ~np.isnan(values)
    n = len(scores.ids)
    spent = np.bincount(position, weights=np.where(repeat & known, values, 0.0), minlength=n)[at]
    known_orders = np.bincount(position, weights=repeat & known, minlength=n)[at]
    all_orders = np.bincount(position, weights=repeat, minlength=n)[at]
    with np.errstate(invalid="ignore", divide="ignore"):
        per_order = spent / known_orders
        return np.where(table.frequency == 0, 0.0,
                        np.where(known_orders > 0, per_order * all_orders / np.maximum(table.frequency, 1), np.nan))


def _choose_and_fit(table, ids, days, as_of: dt.date, config: Config, record: dict, family: str | None = None):
    """The model that predicted the holdout better (or `family`, chosen elsewhere), refitted on
    the whole history."""
    calibration_end = as_of - dt.timedelta(weeks=config.holdout_weeks)
    first = dt.date(1970, 1, 1) + dt.timedelta(days=int(days.min()))
    chosen, reason = "bg_nbd", ""
    if family is not None:
        chosen, reason = family, f"{family}: the model the contacts' holdout chose, fitted on these histories"
    elif calibration_end - first < dt.timedelta(weeks=config.holdout_weeks):
        reason = (f"history from {first} is shorter than twice the {config.holdout_weeks}-week holdout, so the "
                  "models were not compared; BG/NBD is the default")
    else:
        sample_ids, sample_days = ids, days
        if len(table) > config.choice_sample:
            picked = np.random.default_rng(config.seed).choice(table.customer_id, config.choice_sample, replace=False)
            keep = np.isin(ids, picked, kind="table") if ids.max() < 50_000_000 else np.isin(ids, picked)
            sample_ids, sample_days = ids[keep], days[keep]
        try:
            calibration = rfm_summary(sample_ids, sample_days.astype("datetime64[D]"), None, observation_end=as_of,
                                      period="W", calibration_end=calibration_end)
            repeat = int((calibration.frequency > 0).sum())
            if repeat < config.compare_minimum:
                raise ValueError(f"{repeat} customer(s) bought again before the holdout, {config.compare_minimum} "
                                 "are needed for a fair comparison")
            choice = choose_model(calibration)
        except ValueError as error:  # FitFailed is a ValueError too
            reason = f"the models could not be compared on the holdout ({error}); BG/NBD is the default"
        else:
            chosen, reason = choice.chosen, choice.reason
            record["calibration"] = {
                "customers": len(calibration), "calibration_end": calibration_end.isoformat(),
                "holdout_weeks": config.holdout_weeks,
                "fits": {name: fit.as_dict() for name, fit in choice.fits.items()},
                "holdout": {name: score.as_dict() for name, score in choice.scores.items()},
                "failures": choice.failures,
            }
    order = [chosen]
    if (table.frequency > 0).sum() >= config.second_try_minimum:
        order += [name for name in FITTERS if name != chosen]
    for name in order:
        try:
            fit = FITTERS[name](table.frequency, table.recency, table.T)
        except ValueError as error:
            record["failures"][name] = str(error)
            continue
        if name != chosen:
            reason += f"; {chosen} could not be fitted on the whole history, so {name} is used"
        record.update(chosen=name, why=reason, fit=fit.as_dict())
        _note_concentration(fit, record)
        return name, fit
    record.update(chosen="", why=reason + "; no purchase model could be fitted: "
                  + "; ".join(record["failures"].values()))
    return "", None


def _note_concentration(fit, record: dict) -> None:
    """Say so in the run's record when BG/NBD found one dropout chance for everyone: its predictions
    are then interpolated (see the engine's `bgnbd._expected_if_alive`), which a reader should know."""
    if fit.model != "bg_nbd" or fit.params["a"] + fit.params["b"] <= QUICK_CONCENTRATIONS[-1]:
        return
    a, b = fit.params["a"], fit.params["b"]
    record["prediction"] = (f"a + b = {a + b:,.0f}: nearly the same dropout chance ({a / (a + b):.3f}) for "
                            "everyone; expected purchases interpolated from a + b = 500, 1,000 and 2,000")


def _fit_spend(x, monetary, config: Config, record: dict):
    repeat = (x > 0) & np.isfinite(monetary) & (monetary > 0)
    xs, ms = x[repeat], monetary[repeat]
    if len(xs) > config.spend_sample:
        pick = np.random.default_rng(config.seed).choice(len(xs), config.spend_sample, replace=False)
        xs, ms = xs[pick], ms[pick]
    try:
        fit = fit_gamma_gamma(xs, ms)
    except ValueError as error:
        record["failures"]["gamma_gamma"] = str(error)
        return None
    record["gamma_gamma"] = {**fit.as_dict(), "sampled": bool(repeat.sum() > config.spend_sample)}
    return fit


def _expected_order_value(value_fit, x, monetary, amounts, record) -> np.ndarray:
    """Gamma-Gamma's expected spend per future purchase; without a spend model (too few repeat
    buyers), the customer's own mean repeat spend, or the mean order of everyone."""
    usable = np.isfinite(monetary) & (monetary > 0)
    x_known = np.where(usable, x, 0.0)
    m_known = np.where(usable, monetary, 0.0)
    if value_fit is not None:
        try:
            return value_fit.expected_order_value(x_known, m_known)
        except ValueError as error:
            record["failures"]["gamma_gamma_value"] = str(error)
    overall = float(amounts[amounts > 0].mean()) if (amounts > 0).any() else 0.0
    return np.where(usable, monetary, overall)


def _add_contracts(scores: Scores, contracts) -> None:
    """Renewals add to what a customer is worth; a running contract means they are still a customer."""
    at = np.searchsorted(scores.ids, contracts.ids)
    value = np.nan_to_num(contracts.period_value)
    had_model = scores.model[at] != ""
    scores.model[at] = np.where(had_model, scores.model[at].astype(str) + "+sbg", "sbg").astype(object)
    scores.renewals[at] = contracts.renewals
    scores.renewal_probability[at] = contracts.renewal_probability
    alive = scores.probability_alive[at]
    scores.probability_alive[at] = np.where(contracts.current, 1.0, np.where(had_model, alive, 0.0))
    for column, extra in ((scores.expected_purchases_12m, contracts.expected_renewals_12m),
                          (scores.value_12m, contracts.expected_renewals_12m * value),
                          (scores.lifetime_value, contracts.discounted_renewals * value)):
        column[at] = np.where(had_model, np.nan_to_num(column[at]) + extra, extra)
    scores.expected_order_value[at] = np.where(had_model, scores.expected_order_value[at], contracts.period_value)
    pure = ~had_model
    scores.usual_interval_days[at[pure]] = contracts.period_days  # they "buy" once a renewal period
