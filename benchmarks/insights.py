"""Benchmark: the insights engine's BG/NBD fit on a million customers, against lifetimes.

    .venv/bin/python benchmarks/insights.py [--customers 1000000] [--repeats 3]
                                            [--lifetimes-customers N] [--no-lifetimes]

Simulates customers from the BG/NBD story with known parameters (those of the CDNOW fit:
r = 0.243, alpha = 4.414, a = 0.793, b = 2.426), each observed for 52 to 104 weeks with purchase
days expressed in weeks (days / 7), as `rfm_summary(..., fractional=True)` gives them. Then:

- times `rapport.insights.fit_bgnbd` on the table (median of --repeats runs; the fit includes
  input checks, collapsing identical histories, the search and the Hessian's standard errors);
- times lifetimes' `BetaGeoFitter().fit` on the same table (lifetimes also computes its Hessian);
  lifetimes is in the `test` extra. With --lifetimes-customers N both are timed on the first N
  customers instead, which the output says;
- prints both times, the speed ratio and the largest relative difference between the two sets of
  parameters, and ends with one line of JSON. Targets: Rapport <= 5 s on 1,000,000 customers,
  >= 20x faster than lifetimes, parameters agreeing to 1e-3.

Timings are wall-clock on whatever else the machine is doing: the load average is printed beside
them. Both fits run in this one process, one after the other, so they share the conditions.

The product part of the issue's performance section (the full `rapport insights refresh` on
1,000,000 customers and 10,000,000 orders in SQLite, <= 60 s) is `benchmarks/insights_refresh.py`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rapport.insights import fit_bgnbd  # noqa: E402
from rapport.insights._collapse import collapse  # noqa: E402
from rapport.insights.bgnbd import log_likelihood  # noqa: E402

TRUTH = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
TARGETS = {"rapport_fit_s": 5.0, "speed_ratio": 20.0, "max_relative_param_difference": 1e-3}


def simulate(customers: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frequency, recency and T (weeks, on a day grid) of customers living the BG/NBD story.

    While active a customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha) and
    after each repeat purchase leaves with probability p ~ Beta(a, b). Given N purchases in (0, T]
    and leaving after the J-th (J geometric), x = min(N, J) and the x-th purchase time is the x-th
    of N uniform order statistics, T * Beta(x, N - x + 1).
    """
    rng = np.random.default_rng(seed)
    days = rng.integers(364, 729, customers)
    T = days / 7
    rate = rng.gamma(TRUTH["r"], 1 / TRUTH["alpha"], customers)
    leave = rng.beta(TRUTH["a"], TRUTH["b"], customers)
    possible = rng.poisson(rate * T)
    x = np.minimum(possible, rng.geometric(leave))
    last = np.zeros(customers)
    some = x > 0
    last[some] = T[some] * rng.beta(x[some], possible[some] - x[some] + 1)
    last_day = np.minimum(np.ceil(last * 7), days)
    return x.astype(np.float64), last_day / 7, T


def time_rapport(x, t_x, T, repeats: int):
    times, fit = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        fit = fit_bgnbd(x, t_x, T)
        times.append(time.perf_counter() - started)
    return fit, times


def time_lifetimes(x, t_x, T):
    try:
        from lifetimes import BetaGeoFitter
    except ImportError:
        return None, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        started = time.perf_counter()
        fitted = BetaGeoFitter().fit(x, t_x, T)
        elapsed = time.perf_counter() - started
    return {name: float(fitted.params_[name]) for name in TRUTH}, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lifetimes-customers", type=int, default=None,
                        help="time both libraries on this many customers only (lifetimes is slow)")
    parser.add_argument("--no-lifetimes", action="store_true")
    parser.add_argument("--seed", type=int, default=20250)
    args = parser.parse_args()

    started = time.perf_counter()
    x, t_x, T = simulate(args.customers, args.seed)
    simulated_s = time.perf_counter() - started
    distinct = len(collapse(x, t_x, T).counts)
    print(f"simulated {args.customers:,} customers in {simulated_s:.1f} s: {int((x > 0).sum()):,} repeat buyers, "
          f"{distinct:,} distinct (frequency, recency, T) histories, load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")

    fit, times = time_rapport(x, t_x, T, args.repeats)
    rapport_s = statistics.median(times)
    print(f"rapport fit_bgnbd: {', '.join(f'{t:.2f}' for t in times)} s (median {rapport_s:.2f} s)")

    compared_n = args.customers if args.lifetimes_customers is None else min(args.lifetimes_customers,
                                                                              args.customers)
    theirs, lifetimes_s, ours_on_compared, ours_compared_s = None, None, fit, rapport_s
    if not args.no_lifetimes:
        part = slice(0, compared_n)
        if compared_n < args.customers:
            ours_on_compared, compared_times = time_rapport(x[part], t_x[part], T[part], args.repeats)
            ours_compared_s = statistics.median(compared_times)
            print(f"rapport fit_bgnbd on the first {compared_n:,} customers: median {ours_compared_s:.2f} s")
        print(f"lifetimes BetaGeoFitter on {compared_n:,} customers ...", flush=True)
        theirs, lifetimes_s = time_lifetimes(x[part], t_x[part], T[part])
        if theirs is None:
            print("lifetimes is not installed (it is in the test extra: pip install -e '.[test]'); no comparison")

    print()
    print(f"{'parameter':<12}{'truth':>12}{'rapport':>14}{'std. error':>12}{'lifetimes':>14}{'rel. diff':>12}")
    differences = {}
    for name, true in TRUTH.items():
        ours = ours_on_compared.params[name]
        line = f"{name:<12}{true:>12.4f}{fit.params[name]:>14.6f}{fit.standard_errors[name]:>12.5f}"
        if theirs is not None:
            differences[name] = abs(ours - theirs[name]) / abs(theirs[name])
            line += f"{theirs[name]:>14.6f}{differences[name]:>12.2e}"
        print(line)
    print(f"{'log-lik.':<12}{'':>12}{fit.log_likelihood:>14.2f}")
    ratio = lifetimes_s / ours_compared_s if lifetimes_s else None
    largest = max(differences.values()) if differences else None
    if theirs is not None:
        part = slice(0, compared_n)
        at_theirs = log_likelihood(list(theirs.values()), x[part], t_x[part], T[part])
        print(f"log-likelihood at lifetimes' parameters minus at Rapport's (same {compared_n:,} customers): "
              f"{at_theirs - ours_on_compared.log_likelihood:+.6f}")

    print()
    print(f"{'measure':<44}{'value':>14}{'target':>12}")
    print(f"{'Rapport fit, ' + format(args.customers, ',') + ' customers (s)':<44}{rapport_s:>14.2f}"
          f"{'<= 5':>12}")
    if lifetimes_s is not None:
        print(f"{'lifetimes fit, ' + format(compared_n, ',') + ' customers (s)':<44}{lifetimes_s:>14.2f}")
        print(f"{'speed ratio (lifetimes / Rapport, same table)':<44}{ratio:>14.1f}{'>= 20':>12}")
        print(f"{'largest relative parameter difference':<44}{largest:>14.2e}{'<= 1e-3':>12}")
    meets = rapport_s <= TARGETS["rapport_fit_s"] if args.customers >= 1_000_000 else None
    if meets is not None and ratio is not None:
        meets = meets and ratio >= TARGETS["speed_ratio"] and largest <= TARGETS["max_relative_param_difference"]
    print()
    print(json.dumps({
        "benchmark": "insights_engine",
        "customers": args.customers,
        "distinct_histories": distinct,
        "rapport_fit_s": round(rapport_s, 3),
        "rapport_fit_runs_s": [round(t, 3) for t in times],
        "compared_customers": compared_n if theirs is not None else None,
        "rapport_fit_compared_s": round(ours_compared_s, 3) if theirs is not None else None,
        "lifetimes_fit_s": round(lifetimes_s, 3) if lifetimes_s is not None else None,
        "speed_ratio": round(ratio, 1) if ratio is not None else None,
        "max_relative_param_difference": largest,
        "params": fit.params,
        "targets": TARGETS,
        "meets_targets": meets,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }))


if __name__ == "__main__":
    main()
