"""Benchmark: generate demo data (100,000 contacts, about a million events, and their sales) into a fresh SQLite file.

    .venv/bin/python benchmarks/demo_data.py [--contacts 100000] [--seed 42] [--keep]

Migrates a new database under var/bench/ (unless DATABASE_URL is set), times `load_demo` (the
engine of `rapport demo`), and prints a table and, as the last line, one line of JSON with the
figures. The target is at most 60 s for 100,000 contacts on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_SECONDS = 60.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", action="store_true", help="Keep the database file afterwards")
    args = parser.parse_args()

    db_path = ROOT / "var" / "bench" / "demo_data.sqlite3"
    own_database = "DATABASE_URL" not in os.environ
    if own_database:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    os.environ.setdefault("RAPPORT_DEBUG", "true")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from rapport.demo.generator import has_demo, load_demo, reset_demo

    call_command("migrate", verbosity=0)
    if has_demo():
        reset_demo()
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    summary = load_demo(contacts=args.contacts, seed=args.seed)
    seconds = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)

    size_mb = db_path.stat().st_size / 1e6 if own_database and db_path.exists() else None
    figures = {
        "benchmark": "demo_data",
        "database": connection.vendor,
        "contacts": summary.contacts,
        "companies": summary.companies,
        "activities": summary.activities,
        "events": summary.events,
        "audit_entries": summary.audit_entries,
        "rows": summary.rows,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "rows_per_second": round(summary.rows / seconds),
        "events_per_second": round(summary.events / seconds),
        "target_seconds": TARGET_SECONDS,
        "within_target": seconds <= TARGET_SECONDS,
        "load_average": round(os.getloadavg()[0], 2),
        "sales": summary.sales,
        "phases": {phase: round(value, 2) for phase, value in summary.phases.items()},
    }
    print(f"\nDemo data generation ({connection.vendor})")
    print(f"{'':2}{'contacts':<22}{summary.contacts:>14,}")
    print(f"{'':2}{'companies':<22}{summary.companies:>14,}")
    print(f"{'':2}{'activities':<22}{summary.activities:>14,}")
    print(f"{'':2}{'events':<22}{summary.events:>14,}")
    print(f"{'':2}{'audit entries':<22}{summary.audit_entries:>14,}")
    sales = summary.sales
    for key, label in (("deals", "deals"), ("open_deals", "  open"), ("won_deals", "  won"), ("lost_deals", "  lost"),
                       ("deal_contacts", "deal contacts"), ("line_items", "deal line items"),
                       ("proposals", "proposals"), ("proposal_lines", "proposal lines"), ("customers", "customers"),
                       ("orders", "orders"), ("order_lines", "order lines"), ("products", "products")):
        print(f"{'':2}{label:<22}{sales.get(key, 0):>14,}")
    print(f"{'':2}{'rows in all':<22}{summary.rows:>14,}")
    print(f"{'':2}{'seconds (wall)':<22}{seconds:>14.1f}   target ≤ {TARGET_SECONDS:.0f}")
    print(f"{'':2}{'seconds (CPU)':<22}{cpu:>14.1f}")
    print(f"{'':2}{'  of which sales':<22}{sales.get('seconds', 0):>14.1f}   CPU {sales.get('cpu_seconds', 0):.1f}")
    for phase, phase_seconds in summary.phases.items():
        print(f"{'':4}{phase:<34}{phase_seconds:>6.1f} s")
    print(f"{'':2}{'rows/s':<22}{figures['rows_per_second']:>14,}")
    if size_mb is not None:
        print(f"{'':2}{'database size (MB)':<22}{size_mb:>14,.0f}")
    print(f"{'':2}{'load average (1 min)':<22}{figures['load_average']:>14}   (other work on the machine slows it)")
    if own_database and not args.keep:
        connection.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
