"""Input checks shared by the engine: every rejection names the input and the reason.

The engine is called by the product and by analysts with their own exports, so a bad table must
stop with a message a person can act on, never turn into NaN scores further down.
"""

from __future__ import annotations

import numpy as np


def as_float_array(name: str, values, *, allow_empty: bool = False) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name}: not numbers ({error})") from None
    if array.ndim != 1:
        array = array.reshape(-1) if array.ndim == 0 else array
        if array.ndim != 1:
            raise ValueError(f"{name}: expected one value per customer (a 1-D array), got shape {array.shape}")
    if array.size == 0 and not allow_empty:
        raise ValueError(f"{name}: empty, there is nothing to learn from")
    bad = ~np.isfinite(array)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}: {int(bad.sum())} missing or infinite value(s) (NaN/inf), first at position {first}")
    return array


def require_non_negative(name: str, array: np.ndarray) -> None:
    negative = array < 0
    if negative.any():
        first = int(np.flatnonzero(negative)[0])
        raise ValueError(f"{name}: {int(negative.sum())} negative value(s), first at position {first} "
                         f"({array[first]:g})")


def require_same_length(**arrays: np.ndarray) -> int:
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name} has {length}" for name, length in lengths.items())
        raise ValueError(f"inputs differ in length: {described}")
    return next(iter(lengths.values()))


def check_customers(frequency, recency, T, *, minimum: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate the (frequency, recency, T) summary that the purchase models read."""
    frequency = as_float_array("frequency", frequency)
    recency = as_float_array("recency", recency)
    T = as_float_array("T", T)
    count = require_same_length(frequency=frequency, recency=recency, T=T)
    for name, array in (("frequency", frequency), ("recency", recency), ("T", T)):
        require_non_negative(name, array)
    fractional = frequency != np.round(frequency)
    if fractional.any():
        first = int(np.flatnonzero(fractional)[0])
        raise ValueError(f"frequency: counts of repeat purchases must be whole numbers; position {first} is "
                         f"{frequency[first]:g}")
    late = recency > T * (1 + 1e-12)
    if late.any():
        first = int(np.flatnonzero(late)[0])
        raise ValueError(f"recency: {int(late.sum())} customer(s) with a last purchase after the end of the "
                         f"observation (recency > T), first at position {first}")
    stray = (frequency == 0) & (recency > 0)
    if stray.any():
        first = int(np.flatnonzero(stray)[0])
        raise ValueError(f"recency: must be 0 for customers with no repeat purchase; position {first} has "
                         f"frequency 0 and recency {recency[first]:g}")
    if count < minimum:
        raise ValueError(f"customers: {count} given, at least {minimum} are needed to estimate the model")
    return frequency, recency, T


def check_horizon(name: str, t) -> np.ndarray:
    t = np.asarray(t, dtype=np.float64)
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError(f"{name}: must be a finite, non-negative number of periods")
    return t
