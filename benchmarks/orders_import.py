"""Benchmark: import a big orders CSV (one row per order line, 1% bad lines) into SQLite.

    .venv/bin/python benchmarks/orders_import.py [--lines 1000000] [--contacts 20000] [--rerun] [--keep]

Loads the demo (contacts, companies and, when the demo makes them, products) into a fresh SQLite
database under var/bench/ (unless DATABASE_URL is set), writes an orders file in the shape shop
exports have (a few lines an order, customers known by e-mail or, for one order in ten, by company
domain only; loyal customers order often, most rarely; dates over two years; three currencies)
with one line in a hundred made bad in one of six ways, imports it through the engine
`rapport import orders` uses, and prints a table and, as the last line, one line of JSON. With
--rerun it imports the same file again (it must create nothing) and reports that too.
The target is 20,000 lines/s.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import secrets
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HEADER = ["external_id", "ordered_at", "contact_email", "company_domain", "channel", "currency", "sku", "quantity",
          "unit_price"]
CHANNELS = ["web"] * 6 + ["store"] * 2 + ["phone", "marketplace"]
CURRENCIES = ["EUR"] * 7 + ["USD"] * 2 + ["GBP"]
BAD_KINDS = ["unknown SKU", "negative quantity", "bad date", "too many decimals", "unknown currency",
             "unknown customer"]
TARGET = 20_000


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}"


def generate(path: Path, lines: int, customers: list[tuple[str, str]], products: list[tuple[str, str]],
             seed: int = 11) -> tuple[int, dict[str, int]]:
    """Write the file; returns (orders, bad lines made by kind). customers: (e-mail, domain);
    products: (sku, EUR unit price)."""
    rng = random.Random(seed)
    made_bad = dict.fromkeys(BAD_KINDS, 0)
    # A few loyal customers place most orders (a heavy tail, as real shops see).
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(customers))]
    start = 1_700_000_000
    span = 2 * 365 * 86400
    written = orders = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        picks = rng.choices(customers, weights=weights, k=lines // 2 + 10)
        while written < lines:
            email, domain = picks[orders % len(picks)]
            orders += 1
            external_id = f"SHOP-{orders:08d}"
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(start + rng.randrange(span)))
            if domain and rng.random() < 0.1:
                email_cell, domain_cell = "", domain
            else:
                email_cell, domain_cell = email, ""
            channel, currency = rng.choice(CHANNELS), rng.choice(CURRENCIES)
            factor = {"EUR": 1.0, "USD": 1.08, "GBP": 0.86}[currency]
            for sku, price in rng.sample(products, min(len(products), rng.choice((1, 1, 2, 3, 3, 4, 5)))):
                if written >= lines:
                    break
                quantity = str(rng.choice((1, 1, 1, 2, 2, 3, 5, 10)))
                unit_price = f"{float(price) * factor:.2f}"
                row = [external_id, when, email_cell, domain_cell, channel, currency, sku, quantity, unit_price]
                if written % 100 == 42:  # 1% bad lines, six kinds
                    kind = BAD_KINDS[(written // 100) % len(BAD_KINDS)]
                    made_bad[kind] += 1
                    if kind == "unknown SKU":
                        row[6] = "NO-SUCH-SKU"
                    elif kind == "negative quantity":
                        row[7] = "-1"
                    elif kind == "bad date":
                        row[1] = "31/02/2025"
                    elif kind == "too many decimals":
                        row[8] = "12.345"
                    elif kind == "unknown currency":
                        row[5] = "EURO"
                    else:
                        row[2], row[3] = "nobody.at.all@nowhere.example", ""
                writer.writerow(row)
                written += 1
    return orders, made_bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=20_000, help="demo contacts to load first")
    parser.add_argument("--rerun", action="store_true", help="import the same file a second time")
    parser.add_argument("--workers", type=int, default=None, help="judging processes (default: automatic)")
    parser.add_argument("--profile", action="store_true", help="print the import's top functions (cProfile)")
    parser.add_argument("--keep", action="store_true", help="keep the database and CSV afterwards")
    args = parser.parse_args()

    bench_dir = ROOT / "var" / "bench"
    bench_dir.mkdir(parents=True, exist_ok=True)
    database = bench_dir / f"orders-{os.getpid()}.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    # As in production: with debug on, Django also keeps every statement it runs.
    if "RAPPORT_DEBUG" not in os.environ:
        os.environ["RAPPORT_DEBUG"] = "false"
        os.environ.setdefault("RAPPORT_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{database}")
    os.environ.setdefault("RAPPORT_VAR_DIR", str(bench_dir / "var"))
    os.environ.setdefault("RAPPORT_MEDIA_ROOT", str(bench_dir / "media"))

    import django

    django.setup()
    from decimal import Decimal

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from rapport.demo.generator import load_demo
    from rapport.people.models import Company, Contact
    from rapport.sales.models import Order, OrderLine, Product, ProductCategory, ProductPrice
    from rapport.sales.order_imports import import_orders
    from rapport.timeline.models import Event

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    load_demo(contacts=args.contacts)
    demo_seconds = time.perf_counter() - started
    orders_before, events_before = Order.objects.count(), Event.objects.count()
    if not Product.objects.filter(deleted_at__isnull=True).exists():
        # The demo made no catalogue: a small one, as a shop would have.
        for c in range(12):
            category = ProductCategory.objects.create(name=f"Category {c}")
            for p in range(25):
                product = Product.objects.create(sku=f"SKU-{c:02d}-{p:03d}", name=f"Product {c}-{p}", category=category)
                ProductPrice.objects.create(product=product, currency="EUR", unit_price=Decimal(5 + (c * 25 + p) % 300))
    prices = dict(ProductPrice.objects.filter(currency="EUR").values_list("product_id", "unit_price"))
    products = [(sku, prices.get(pid, Decimal("19.90")))
                for pid, sku in Product.objects.filter(deleted_at__isnull=True).values_list("id", "sku")]
    domains = dict(Company.objects.filter(deleted_at__isnull=True).exclude(domain="").values_list("id", "domain"))
    customers = [(email, domains.get(company_id, "")) for email, company_id in
                 Contact.objects.filter(deleted_at__isnull=True, email__isnull=False).order_by("id")
                 .values_list("email", "company_id")]
    user = get_user_model().objects.create_superuser(f"bench{os.getpid()}", "bench@example.com", "x")

    csv_path = bench_dir / f"orders-{args.lines}-{os.getpid()}.csv"
    started = time.perf_counter()
    orders_made, bad = generate(csv_path, args.lines, customers, products)
    generated = time.perf_counter() - started
    load_before = uptime()

    def timed_import():
        began = time.perf_counter()
        cpu = time.process_time()
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile(time.process_time)  # CPU: the machine is shared
            summary = profiler.runcall(import_orders, actor=user, path=csv_path, workers=args.workers,
                                       rejects_path=bench_dir / f"orders-rejects-{os.getpid()}.csv")
            pstats.Stats(profiler).sort_stats("tottime").print_stats(35)
        else:
            summary = import_orders(actor=user, path=csv_path, workers=args.workers,
                                    rejects_path=bench_dir / f"orders-rejects-{os.getpid()}.csv")
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        workers_cpu = (children.ru_utime + children.ru_stime) - (children_before.ru_utime + children_before.ru_stime)
        return summary, time.perf_counter() - began, time.process_time() - cpu, workers_cpu

    summary, seconds, cpu, workers_cpu = timed_import()
    rate = summary.lines_read / seconds if seconds else 0.0
    rerun = None
    if args.rerun:
        again, again_seconds, again_cpu, _ = timed_import()
        rerun = {"seconds": round(again_seconds, 2), "lines_per_second": round(again.lines_read / again_seconds),
                 "orders_created": again.orders_created, "orders_unchanged": again.orders_unchanged,
                 "orders_updated": again.orders_updated, "cpu_seconds": round(again_cpu, 2)}
    load_after = uptime()
    orders_added = Order.objects.count() - orders_before
    events_added = Event.objects.count() - events_before
    # The writing process is the one that cannot be spread: its CPU time says what the import does
    # on a machine with a core to spare for it; wall time says what it did on this one, now.
    rate_by_cpu = summary.lines_read / cpu if cpu else 0.0

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Orders import into SQLite ({csv_path.stat().st_size / 1e6:.0f} MB CSV, "
                        f"{len(customers):,} demo customers, {len(products):,} products)")
    for column in ("lines", "seconds", "lines/s", "orders created", "lines rejected", "orders rejected",
                   "bad lines made", "CPU s main", "CPU s workers", "lines per main CPU s"):
        table.add_column(column, justify="right")
    table.add_row(f"{summary.lines_read:,}", f"{seconds:.1f}", f"{rate:,.0f}", f"{summary.orders_created:,}",
                  f"{summary.lines_rejected:,}", f"{summary.orders_rejected:,}", f"{sum(bad.values()):,}",
                  f"{cpu:.1f}", f"{workers_cpu:.1f}", f"{rate_by_cpu:,.0f}")
    if rerun:
        table.add_row("re-run", f"{rerun['seconds']:.1f}", f"{rerun['lines_per_second']:,}",
                      f"{rerun['orders_created']:,}", "", "", "", f"{rerun['cpu_seconds']:.1f}", "", "")
    Console(width=max(Console().width, 170)).print(table)
    print(f"Demo ({args.contacts:,} contacts) loaded in {demo_seconds:.1f} s; CSV ({orders_made:,} orders) generated "
          f"in {generated:.1f} s. Orders in the database: +{orders_added:,}; purchase events: +{events_added:,}.")
    print(f"Bad lines made: {', '.join(f'{k} {v:,}' for k, v in bad.items())}")
    print(f"Before: {load_before}")
    print(f"After:  {load_after}")
    print(f"Target {TARGET:,} lines/s: {'met' if rate >= TARGET else 'NOT met'}")
    if not args.keep:
        csv_path.unlink(missing_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
    print(json.dumps({
        "benchmark": "orders_import", "lines": summary.lines_read, "seconds": round(seconds, 2),
        "lines_per_second": round(rate), "orders_created": summary.orders_created,
        "lines_rejected": summary.lines_rejected, "orders_rejected": summary.orders_rejected,
        "bad_lines_generated": sum(bad.values()), "orders_in_file": orders_made,
        "order_lines_in_database": OrderLine.objects.count(), "cpu_seconds_main": round(cpu, 2),
        "cpu_seconds_workers": round(workers_cpu, 2), "lines_per_main_cpu_second": round(rate_by_cpu), "rerun": rerun,
        "demo_contacts": args.contacts, "load_average_1min": round(os.getloadavg()[0], 2), "debug": settings.DEBUG,
        "target_lines_per_second": TARGET}))


if __name__ == "__main__":
    main()
