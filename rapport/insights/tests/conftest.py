"""The CDNOW sample of Fader, Hardie & Lee (2005), read from the copy the `lifetimes` package ships.

lifetimes is a test-only dependency (the `test` extra); nothing is downloaded at run time. The
file has one line per order: master id, sample id (1..2357), date (YYYYMMDD), CDs, dollars.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from rapport.insights import rfm_summary

CALIBRATION_END = "1997-09-30"  # 39 weeks after 1997-01-01
OBSERVATION_END = "1998-06-30"  # 78 weeks


def dataset_path(name: str) -> Path:
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("the lifetimes package (test extra) is needed for the CDNOW data: pip install -e '.[test]'")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / name
    if not path.exists():
        pytest.fail(f"lifetimes no longer ships {name}")
    return path


@pytest.fixture(scope="session")
def cdnow_orders():
    raw = np.loadtxt(dataset_path("CDNOW_sample.txt"), dtype=str)
    dates = np.array([f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in raw[:, 2]], dtype="datetime64[D]")
    return raw[:, 1].astype(np.int64), dates, raw[:, 4].astype(np.float64)


@pytest.fixture(scope="session")
def cdnow(cdnow_orders):
    """Calibration summary (39 weeks, fractional weeks from days) with the 39-week holdout."""
    ids, dates, values = cdnow_orders
    return rfm_summary(ids, dates, values, OBSERVATION_END, "W", CALIBRATION_END, fractional=True)


@pytest.fixture(scope="session")
def cdnow_published_summary():
    """The per-customer summary as the authors published it (x, t_x, T to 2 decimals, zbar)."""
    return np.genfromtxt(dataset_path("cdnow_customers_summary_with_transactions.csv"), delimiter=",",
                         names=True)


@pytest.fixture(scope="session")
def bgnbd_cdnow(cdnow):
    from rapport.insights import fit_bgnbd
    return fit_bgnbd(cdnow.frequency, cdnow.recency, cdnow.T)


@pytest.fixture(scope="session")
def pareto_cdnow(cdnow):
    from rapport.insights import fit_pareto_nbd
    return fit_pareto_nbd(cdnow.frequency, cdnow.recency, cdnow.T)


@pytest.fixture(scope="session")
def gamma_gamma_cdnow(cdnow):
    from rapport.insights import fit_gamma_gamma
    return fit_gamma_gamma(cdnow.frequency, cdnow.monetary_value)


def simulate_bgnbd(n: int, r: float, alpha: float, a: float, b: float, seed: int = 1):
    """Customers simulated from the BG/NBD story, observed 52-104 weeks, purchase days in weeks."""
    rng = np.random.default_rng(seed)
    T_days = rng.integers(364, 729, n)
    T = T_days / 7
    rate = rng.gamma(r, 1 / alpha, n)
    drop = rng.beta(a, b, n)
    possible = rng.poisson(rate * T)
    x = np.minimum(possible, rng.geometric(drop))
    t_x = np.zeros(n)
    some = x > 0
    t_x[some] = T[some] * rng.beta(x[some], possible[some] - x[some] + 1)
    return x.astype(np.float64), np.minimum(np.ceil(t_x * 7), T_days) / 7, T
