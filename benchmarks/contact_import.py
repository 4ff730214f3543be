"""Benchmark: import a big contacts CSV (1% bad rows) into a fresh SQLite database.

    .venv/bin/python benchmarks/contact_import.py [--rows 1000000] [--keep]

Generates the CSV (first/last name, e-mail, phone, company, stage, city, country, tags; one row
in a hundred has a bad e-mail, phone or stage), migrates a new database under var/bench/
(unless DATABASE_URL is set), imports through the engine `rapport import` uses, and prints a
table and, as the last line, one line of JSON with the figures. The target is 10,000 rows/s.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIRST = ["Ada", "Ben", "Chloé", "Dmitri", "Eva", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Lars",
         "Maya", "Nils", "Olga", "Pablo", "Qing", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wim", "Xenia", "Yusuf",
         "Zoë"]
LAST = ["Adams", "Brandt", "Costa", "Dubois", "Evans", "Fischer", "García", "Hansen", "Ito", "Jensen", "Kowalski",
        "López", "Müller", "Nakamura", "O'Brien", "Petrov", "Quinn", "Rossi", "Schmidt", "Tanaka", "Ulrich",
        "Varga", "Weber", "Xu", "Yilmaz", "Zimmermann"]
STAGES = ["Subscriber", "Lead", "MQL", "SQL", "Opportunity", "Customer", "Evangelist", "Other lead"]
CITIES = [("London", "GB", "+44 20 7946 {:04d}"), ("New York", "US", "(212) 555-{:04d}"),
          ("Berlin", "DE", "030 {:08d}"), ("Paris", "FR", "01 42 {:02d} {:02d} {:02d}"),
          ("Austin", "US", "512-555-{:04d}")]
TAGS = ["webinar-2026", "newsletter", "trade-show", "prefers-phone", "pricing-page", "trial"]
HEADERS = ["First Name", "Last Name", "Email", "Phone Number", "Company Name", "Job Title", "Lifecycle Stage",
           "City", "Country", "Tags"]


def phone_for(city_index: int, n: int) -> str:
    pattern = CITIES[city_index][2]
    if "{:02d} {:02d} {:02d}" in pattern:
        return pattern.format(n % 100, (n // 100) % 100, (n // 10000) % 100)
    if "{:08d}" in pattern:
        return pattern.format(10000000 + n % 89999999)
    return pattern.format(n % 10000)


def generate(path: Path, rows: int, seed: int = 7) -> int:
    """Write the CSV; returns how many rows were made bad on purpose."""
    rng = random.Random(seed)
    bad = 0
    stages = [s for s in STAGES if s != "Other lead"]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for n in range(rows):
            first, last = FIRST[n % len(FIRST)], LAST[(n // len(FIRST)) % len(LAST)]
            city_index = rng.randrange(len(CITIES))
            city, country, _ = CITIES[city_index]
            email = f"{first.lower()}.{n}@example{n % 97}.com".replace("é", "e").replace("ë", "e")
            phone = phone_for(city_index, n)
            stage = stages[rng.randrange(len(stages))]
            if n % 100 == 42:  # 1% bad rows, three kinds
                bad += 1
                kind = (n // 100) % 3
                if kind == 0:
                    email = f"{first.lower()}.{n}@@example.com"
                elif kind == 1:
                    phone = "call me maybe"
                else:
                    stage = "Hot prospect"
            tags = ";".join(rng.sample(TAGS, rng.randrange(0, 3)))
            writer.writerow([first, last, email, phone, f"Company {n % 5000}", "Buyer", stage, city, country, tags])
    return bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the database and CSV afterwards")
    args = parser.parse_args()

    bench_dir = ROOT / "var" / "bench"
    bench_dir.mkdir(parents=True, exist_ok=True)
    database = bench_dir / f"import-{os.getpid()}.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    # As in production, where big imports run in the background worker: with debug on, Django
    # also logs every statement and quotes the parameters of each (thousands per chunk).
    if "RAPPORT_DEBUG" not in os.environ:
        os.environ["RAPPORT_DEBUG"] = "false"
        os.environ.setdefault("RAPPORT_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{database}")
    os.environ.setdefault("RAPPORT_VAR_DIR", str(bench_dir / "var"))

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from rapport.core.models import Profile, Team
    from rapport.people.imports import jobs

    csv_path = bench_dir / f"contacts-{args.rows}.csv"
    started = time.perf_counter()
    bad = generate(csv_path, args.rows)
    generated = time.perf_counter() - started
    call_command("migrate", verbosity=0)
    team = Team.objects.get_or_create(name="Bench")[0]
    user = get_user_model().objects.create_superuser(f"bench{os.getpid()}", "bench@example.com", "x")
    Profile.objects.filter(user=user).update(team=team)
    user.refresh_from_db()

    started = time.perf_counter()
    cpu_before = time.process_time(), resource.getrusage(resource.RUSAGE_CHILDREN)
    job, summary = jobs.import_path(actor=user, entity="contacts", path=csv_path, workers=args.workers)
    seconds = time.perf_counter() - started
    # CPU time says more than wall time on a shared machine: the main process writes, the worker
    # processes judge rows.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_main = time.process_time() - cpu_before[0]
    cpu_workers = (children.ru_utime + children.ru_stime) - (cpu_before[1].ru_utime + cpu_before[1].ru_stime)
    rate = summary.read / seconds if seconds else 0.0

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Contact import into SQLite ({csv_path.stat().st_size / 1e6:.0f} MB CSV)")
    for column in ("rows", "seconds", "rows/s", "created", "updated", "rejected", "bad rows made",
                   "CPU s main", "CPU s workers"):
        table.add_column(column, justify="right")
    table.add_row(f"{summary.read:,}", f"{seconds:.1f}", f"{rate:,.0f}", f"{summary.created:,}",
                  f"{summary.updated:,}", f"{summary.rejected:,}", f"{bad:,}", f"{cpu_main:.1f}",
                  f"{cpu_workers:.1f}")
    Console(width=max(Console().width, 130)).print(table)  # whole figures, also when piped to a file
    print(f"CSV generated in {generated:.1f} s; target 10,000 rows/s: {'met' if rate >= 10000 else 'NOT met'}")
    if not args.keep:
        csv_path.unlink(missing_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
    print(json.dumps({"benchmark": "contact_import", "rows": summary.read, "seconds": round(seconds, 2),
                      "rows_per_second": round(rate), "created": summary.created, "updated": summary.updated,
                      "rejected": summary.rejected, "bad_rows_generated": bad,
                      "cpu_seconds_main": round(cpu_main, 2), "cpu_seconds_workers": round(cpu_workers, 2),
                      "load_average_1min": round(os.getloadavg()[0], 2), "debug": settings.DEBUG,
                      "target_rows_per_second": 10000}))


if __name__ == "__main__":
    main()
