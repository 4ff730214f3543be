"""What the benchmarks share: their own SQLite file under var/bench/, and percentiles."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django(database: str, *, rebuild: bool = False, also_remove: tuple[str, ...] = ()) -> Path | None:
    """Point Django at var/bench/<database> (unless DATABASE_URL is set: then that database is
    used and None is returned), removing the file first with `rebuild`, and set Django up."""
    db_path = None
    if "DATABASE_URL" not in os.environ:
        db_path = ROOT / "var" / "bench" / database
        db_path.parent.mkdir(parents=True, exist_ok=True)
        if rebuild:
            for suffix in ("", "-wal", "-shm", *also_remove):
                Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    os.environ.setdefault("RAPPORT_DEBUG", "true")

    import django

    django.setup()
    return db_path


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between the nearest ranks (numpy's default); NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)
