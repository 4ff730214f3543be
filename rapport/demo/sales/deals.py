"""When deals happen and how they end, drawn per deal as arrays.

Every deal walks its pipeline's stages in order, spending a drawn time in each (lognormal around
the stage's median), so the stage-change events, `stage_entered_at` and the days in the previous
stage agree. New-business deals are planned forwards from their creation: a deal whose path
ends after "now" is open in the stage "now" falls in. Renewals and upsells are planned backwards
from the purchase they produced (won), the day they were lost, or "now" (open).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .catalogue import DAY, Catalogue, PipelineSpec

OPEN, WON, LOST = 0, 1, 2
STAGE_SIGMA = 0.6  # spread of the lognormal time in stage
LOST_STAGE_STRETCH = 1.5  # deals that end lost linger in their last stage
LOST_STAGE_DECAY = 0.75  # deals are lost more often in early stages: weight 0.75^stage
# New business: P(won | closed) = base x seller multiplier x source multiplier, clipped.
NB_BASE_WIN_RATE = 0.30
SELLER_SPREAD = 0.35  # seller multipliers: lognormal(0, this), drawn per seller
SOURCE_WIN_MULTIPLIER = {"referral": 1.6, "partner": 1.3, "trade show": 1.15, "webinar": 1.0, "website": 0.9,
                         "newsletter": 0.9, "linkedin": 0.85, "paid search": 0.8, "import": 0.7,
                         "cold outreach": 0.6}
# Shares of the deals per pipeline, and of renewal/upsell deals that end each way.
PIPELINE_SHARE = {"new_business": 0.60, "renewal": 0.22, "upsell": 0.18}
ACCOUNT_DEAL_MIX = {"renewal": {"open": 0.25, "lost": 0.20}, "upsell": {"open": 0.30, "lost": 0.30}}


@dataclass
class Plan:
    """Deals as columns. `durations[i, k]` is the time deal i spent (or will have spent) in stage k."""

    pipeline: np.ndarray  # index into Catalogue.pipelines
    person: np.ndarray  # index into the loaded contacts
    status: np.ndarray  # OPEN / WON / LOST
    stage: np.ndarray  # current stage, or the one it closed in
    created: np.ndarray  # epoch seconds
    closed: np.ndarray  # epoch seconds, 0 while open
    durations: np.ndarray  # seconds, shape (deals, most stages of any pipeline)
    purchase: np.ndarray  # index of the purchase a won deal became, -1 otherwise

    def __len__(self) -> int:
        return len(self.status)

    @classmethod
    def join(cls, plans: list[Plan]) -> Plan:
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in plans]) for f in fields(cls)})

    def entries(self) -> np.ndarray:
        """When each deal entered each stage."""
        return self.created[:, None] + np.cumsum(self.durations, axis=1) - self.durations


def stage_counts(catalogue: Catalogue) -> int:
    return max(len(p.stage_ids) for p in catalogue.pipelines)


def draw_durations(rng: np.random.Generator, spec: PipelineSpec, n: int, width: int) -> np.ndarray:
    median = np.zeros(width)
    median[:len(spec.median_days)] = spec.median_days
    d = rng.lognormal(0.0, STAGE_SIGMA, (n, width)) * median * DAY
    return d


def loss_stage(rng: np.random.Generator, spec: PipelineSpec, n: int, lowest: int = 0) -> np.ndarray:
    k = len(spec.stage_ids)
    w = LOST_STAGE_DECAY ** np.arange(k, dtype=float)
    w[:lowest] = 0
    return rng.choice(k, size=n, p=w / w.sum())


def open_stage(rng: np.random.Generator, spec: PipelineSpec, n: int) -> np.ndarray:
    """Stages of open deals in proportion to the time deals spend in them; while there are
    enough deals, every stage gets at least one."""
    k = len(spec.stage_ids)
    w = np.array(spec.median_days, dtype=float)
    stages = rng.choice(k, size=n, p=w / w.sum())
    if n >= k:
        stages[rng.permutation(n)[:k]] = np.arange(k)
    return stages


def place_backwards(anchor: np.ndarray, stage: np.ndarray, d: np.ndarray, floor: np.ndarray,
                    fraction: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Creation times so each deal is `fraction` of the way through `stage` at `anchor` (open
    deals), or leaves `stage` at `anchor` (closed ones). A path that would start before `floor`
    (the contact's creation, the customer's previous purchase) is shortened to fit, all stages
    in proportion. Returns (created, durations)."""
    rows = np.arange(len(stage))
    before = (np.cumsum(d, axis=1) - d)[rows, stage]
    current = d[rows, stage] * (1.0 if fraction is None else fraction)
    elapsed = before + current
    room = np.maximum(anchor - floor, 3600.0) * 0.95
    scale = np.where(elapsed > room, room / np.maximum(elapsed, 1.0), 1.0)
    return anchor - elapsed * scale, d * scale[:, None]


def seller_multipliers(rng: np.random.Generator, sellers: list[int]) -> dict[int, float]:
    draws = np.clip(rng.lognormal(0.0, SELLER_SPREAD, len(sellers)), 0.4, 2.2)
    return {s: round(float(m), 3) for s, m in zip(sellers, draws, strict=True)}


def plan_new_business(rng: np.random.Generator, catalogue: Catalogue, p_index: int, people, count: int,
                      now: int, win_rate: np.ndarray) -> Plan:
    """New-business deals on prospects and customers (with companies preferred).

    `win_rate` is the chance, per contact, that a closed deal of theirs is won."""
    spec = catalogue.pipelines[p_index]
    width = stage_counts(catalogue)
    k = len(spec.stage_ids)
    weight = np.select([people.stage == "opportunity", people.stage == "sales_qualified",
                        np.isin(people.stage, ["customer", "advocate", "former_customer"])], [3.0, 2.0, 1.0], 0.0)
    weight *= np.where(people.company > 0, 1.5, 1.0)
    pool = np.flatnonzero(weight > 0)
    count = min(count, len(pool))
    # weighted sampling without replacement: the largest U^(1/w) keys (Efraimidis-Spirakis)
    keys = rng.random(len(pool)) ** (1.0 / weight[pool])
    person = np.sort(pool[np.argsort(-keys, kind="stable")[:count]])
    n = len(person)
    start = people.start[person] + 3600
    created = start + rng.random(n) * np.maximum(now - DAY - start, 0)
    won = rng.random(n) < win_rate[person]
    last = np.where(won, k - 1, loss_stage(rng, spec, n))
    d = draw_durations(rng, spec, n, width)
    d[np.arange(n), last] *= np.where(won, 1.0, LOST_STAGE_STRETCH)
    cum = np.cumsum(d, axis=1)
    end = created + cum[np.arange(n), last]
    status = np.where(end > now, OPEN, np.where(won, WON, LOST))
    entries = created[:, None] + cum - d
    stage = np.where(status == OPEN, (entries[:, :k] <= now).sum(axis=1) - 1, last)
    plan = Plan(pipeline=np.full(n, p_index), person=person, status=status, stage=stage, created=created,
                closed=np.where(status == OPEN, 0.0, end), durations=d, purchase=np.full(n, -1))
    # small demos: put a closed deal into every stage nobody is in, so the board shows them all
    for s in range(k):
        if n <= k or ((plan.status == OPEN) & (plan.stage == s)).any():
            continue
        closed = np.flatnonzero(plan.status == LOST)
        if not len(closed):
            closed = np.flatnonzero(plan.status == WON)
        if not len(closed):
            break
        i = closed[rng.integers(len(closed))]
        plan.status[i], plan.stage[i], plan.closed[i] = OPEN, s, 0.0
        c, dd = place_backwards(np.array([float(now)]), np.array([s]), plan.durations[i:i + 1],
                                np.array([start[i]]), np.array([0.5]))
        plan.created[i], plan.durations[i] = c[0], dd[0]
    return plan


def plan_account_deals(rng: np.random.Generator, catalogue: Catalogue, p_index: int, count: int, now: int,
                       buyers, purchases, taken: np.ndarray) -> Plan:
    """Renewal or upsell deals on customers with a company: the won ones are repeat purchases
    the customer made anyway (so the buying process stays one model), the lost ones come after a
    customer's last purchase (renewals) or at any time (upsells), the open ones are on customers
    still alive. `taken` marks purchases already claimed by a deal and is updated."""
    spec = catalogue.pipelines[p_index]
    role = spec.role
    width = stage_counts(catalogue)
    k = len(spec.stage_ids)
    mix = ACCOUNT_DEAL_MIX[role]
    n_open = min(count, max(k, round(count * mix["open"])))
    n_lost = min(count - n_open, round(count * mix["lost"]))
    n_won = count - n_open - n_lost
    b2b = buyers.company > 0
    plans = []

    # won: repeat purchases of business customers
    eligible = np.flatnonzero((purchases.seq >= 1) & b2b[purchases.customer] & ~taken)
    chosen = np.sort(rng.choice(eligible, size=min(n_won, len(eligible)), replace=False)) if n_won else eligible[:0]
    taken[chosen] = True
    n = len(chosen)
    if n:
        d = draw_durations(rng, spec, n, width)
        close = purchases.time[chosen].astype(float)
        created, d = place_backwards(close, np.full(n, k - 1), d, purchases.previous[chosen] + 3600.0)
        plans.append(Plan(pipeline=np.full(n, p_index), person=buyers.person[purchases.customer[chosen]],
                          status=np.full(n, WON), stage=np.full(n, k - 1), created=created, closed=close,
                          durations=d, purchase=chosen))

    # lost: renewals of customers who left (after their last purchase), upsells at any time
    if role == "renewal":
        room = now - buyers.last - 31 * DAY
        eligible = np.flatnonzero(b2b & buyers.dead & (room > 0))
    else:
        room = now - buyers.birth - 8 * DAY
        eligible = np.flatnonzero(b2b & (room > 0))
    who = np.sort(rng.choice(eligible, size=min(n_lost, len(eligible)), replace=False))
    n = len(who)
    if n:
        if role == "renewal":
            floor = buyers.last[who].astype(float)
            close = floor + 30 * DAY + rng.random(n) * np.minimum(room[who], 170 * DAY)
        else:
            floor = buyers.birth[who].astype(float)
            close = floor + 7 * DAY + rng.random(n) * room[who]
        stage = loss_stage(rng, spec, n)
        d = draw_durations(rng, spec, n, width)
        d[np.arange(n), stage] *= LOST_STAGE_STRETCH
        created, d = place_backwards(close, stage, d, floor + 3600.0)
        plans.append(Plan(pipeline=np.full(n, p_index), person=buyers.person[who], status=np.full(n, LOST),
                          stage=stage, created=created, closed=close, durations=d, purchase=np.full(n, -1)))

    # open: customers still buying
    eligible = np.flatnonzero(b2b & ~buyers.dead)
    who = np.sort(rng.choice(eligible, size=min(n_open, len(eligible)), replace=False))
    n = len(who)
    if n:
        stage = open_stage(rng, spec, n)
        d = draw_durations(rng, spec, n, width)
        created, d = place_backwards(np.full(n, float(now)), stage, d, buyers.birth[who] + 3600.0,
                                     rng.uniform(0.05, 0.95, n))
        plans.append(Plan(pipeline=np.full(n, p_index), person=buyers.person[who], status=np.full(n, OPEN),
                          stage=stage, created=created, closed=np.zeros(n), durations=d, purchase=np.full(n, -1)))
    return Plan.join(plans) if plans else None
