"""Effective targets: a suggested revenue target for one seller and period, from history.

Pure arithmetic on figures the selectors have already gathered (in the base currency); no
database, no Django, so the method is tested on hand-computed numbers. The formula and why it
is shaped this way: docs/decisions/0003-effective-targets.md.

    win rate          = won deals / (won + lost deals), trailing 12 months
                        (the team's rate when the seller closed nothing)
    pipeline estimate = win rate x open pipeline expected to close in the period
    seasonal share    = the team's won revenue in the period's calendar months over the last
                        24 months / the team's won revenue over those 24 months
                        (an even share of the year when the team won nothing)
    history estimate  = the seller's won revenue over the trailing 12 months x seasonal share
    suggestion        = round(max(pipeline estimate, history estimate) x (1 + stretch))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

STRETCH = Decimal("0.10")


@dataclass(frozen=True)
class SellerHistory:
    won_deals: int
    lost_deals: int
    won_revenue: Decimal           # trailing 12 months
    open_pipeline: Decimal         # open deals expected to close in the period
    season_revenue: Decimal        # team, the period's calendar months, last 24 months
    team_revenue: Decimal          # team, last 24 months
    months_in_period: int          # 1 or 3
    team_won_deals: int = 0
    team_lost_deals: int = 0
    period_name: str = "this period"
    currency: str = ""
    stretch: Decimal = STRETCH


@dataclass
class Suggestion:
    amount: Decimal | None
    win_rate: Decimal | None = None
    average_won: Decimal | None = None
    pipeline_estimate: Decimal | None = None
    seasonal_share: Decimal | None = None
    history_estimate: Decimal | None = None
    base: Decimal | None = None
    coverage: Decimal | None = None
    wins_needed: Decimal | None = None
    reasons: list[str] = field(default_factory=list)

    @property
    def reasoning(self) -> str:
        return "; ".join(self.reasons)


def nice_round(value: Decimal) -> Decimal:
    """Round half up to two significant figures above 100 (36,960 -> 37,000; 4,349 -> 4,300),
    to whole units below: a target is a goal, not a calculation to the cent."""
    if value <= 0:
        return Decimal(0)
    digits = len(str(int(value)))
    step = Decimal(10) ** max(0, digits - 2)
    return ((value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step).quantize(Decimal(1))


def _n(value: Decimal) -> str:
    return f"{value:,.0f}"


def _pct(value: Decimal) -> str:
    return f"{value * 100:.0f}%"


def suggest_target(history: SellerHistory) -> Suggestion:
    """The suggested target with the reasoning behind each step, or amount None when there is
    nothing to base it on (no won revenue in a year and no open pipeline for the period)."""
    h = history
    out = Suggestion(amount=None)
    closed = h.won_deals + h.lost_deals
    team_closed = h.team_won_deals + h.team_lost_deals
    if closed:
        out.win_rate = Decimal(h.won_deals) / closed
        out.reasons.append(f"won {h.won_deals} of {closed} deal{'s' if closed != 1 else ''} closed in the last 12 months: "
                           f"win rate {_pct(out.win_rate)}")
    elif team_closed:
        out.win_rate = Decimal(h.team_won_deals) / team_closed
        out.reasons.append(f"no deals closed in the last 12 months: the team's win rate {_pct(out.win_rate)} "
                           f"({h.team_won_deals} of {team_closed})")
    if h.won_deals:
        out.average_won = h.won_revenue / h.won_deals
    if out.win_rate is not None and h.open_pipeline > 0:
        out.pipeline_estimate = out.win_rate * h.open_pipeline
        out.reasons.append(f"win rate {_pct(out.win_rate)} x open pipeline {_n(h.open_pipeline)} = "
                           f"{_n(out.pipeline_estimate)}")
    elif h.open_pipeline <= 0:
        out.reasons.append(f"no open pipeline expected to close in {h.period_name}")
    if h.team_revenue > 0:
        out.seasonal_share = h.season_revenue / h.team_revenue
        out.reasons.append(f"history says {h.period_name} carries {_pct(out.seasonal_share)} of a year's revenue")
    else:
        out.seasonal_share = Decimal(h.months_in_period) / 12
        out.reasons.append(f"the team won nothing in the last 2 years: assuming an even year "
                           f"({_pct(out.seasonal_share)} for {h.period_name})")
    if h.won_revenue > 0:
        out.history_estimate = h.won_revenue * out.seasonal_share
        periods_per_year = 12 // h.months_in_period
        unit = "quarters" if h.months_in_period == 3 else "months"
        out.reasons.append(f"last {periods_per_year} {unit} average {_n(h.won_revenue / periods_per_year)}, "
                           f"{_n(h.won_revenue)} a year x {_pct(out.seasonal_share)} = {_n(out.history_estimate)}")
    else:
        out.reasons.append("no won revenue in the last 12 months")
    estimates = [e for e in (out.pipeline_estimate, out.history_estimate) if e is not None]
    if not estimates or max(estimates) <= 0:
        out.reasons.append("nothing to base a suggestion on")
        return out
    out.base = max(estimates)
    out.amount = nice_round(out.base * (1 + h.stretch))
    out.reasons.append(f"the larger, {_n(out.base)}, plus a {_pct(h.stretch)} stretch -> suggested "
                       f"{_n(out.amount)}{' ' + h.currency if h.currency else ''}")
    if out.amount > 0:
        out.coverage = (h.open_pipeline / out.amount).quantize(Decimal("0.1"))
        out.reasons.append(f"open pipeline covers {out.coverage}x the suggestion")
        if out.average_won:
            out.wins_needed = (out.amount / out.average_won).quantize(Decimal("0.1"))
            out.reasons.append(f"about {out.wins_needed} wins of the average size ({_n(out.average_won)})")
    return out
