"""Benchmark: the lead reports and the lead queue on a large leads table.

    .venv/bin/python benchmarks/lead_reports.py [--leads 200000] [--repeat 5] [--rebuild]

Builds a database once (var/bench/lead_reports.sqlite3 unless DATABASE_URL is set; reused on the
next run unless --rebuild): 4 teams of 8 sellers and a manager each, 20,000 contacts, and the
leads over a year from eight sources and 40 campaigns; 80% answered (first touch from minutes
to days after arrival), some qualified, disqualified with a reason, or converted to a won or lost
deal with logged minutes (for the cost per won deal).

It then times, after a warm-up, the selectors the pages call: the per-source-and-campaign report
and the time to first touch per seller and per source (as an admin, over every lead of the last
year, and as a manager, over the team's), the whole reports page (server time in-process: the
report, both first-touch tables and the template), a seller's queue and a manager's team queue
with its "who is behind" table. It prints the median and worst wall-clock time of the repeats
per case and the median CPU time of this process (on SQLite that is all the work; on
PostgreSQL the server's share is not in it), with the load averages; the last line is one line
of JSON with the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_common import setup_django  # noqa: E402 - found through the path above

SOURCES = ["web_form", "tracking", "import", "api", "referral", "campaign", "event", "manual"]


def load_averages() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def build(*, leads: int, seed: int) -> float:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from rapport.core.models import Profile, Role, Team
    from rapport.leads.models import DisqualifyReason, Lead
    from rapport.people.models import Contact
    from rapport.sales.models import CostRate, Deal, Pipeline
    from rapport.timeline.models import Activity

    started = time.perf_counter()
    rng = random.Random(seed)
    now = timezone.now()
    User = get_user_model()
    sellers = []
    with transaction.atomic():
        for t in range(4):
            team = Team.objects.get_or_create(name=f"Lead bench {t + 1}")[0]
            manager, _ = User.objects.get_or_create(username=f"leadbench.manager{t + 1}")
            Profile.objects.filter(user=manager).update(role=Role.MANAGER, team=team)
            for s in range(8):
                user, _ = User.objects.get_or_create(username=f"leadbench.seller{t + 1}.{s + 1}",
                                                     defaults={"first_name": f"Seller {t + 1}.{s + 1}"})
                Profile.objects.filter(user=user).update(role=Role.SELLER, team=team)
                sellers.append((user.pk, team.pk))
        if not User.objects.filter(username="leadbench.admin").exists():
            User.objects.create_superuser("leadbench.admin", "bench@rapport.example", None)
        CostRate.objects.get_or_create(role=Role.SELLER, defaults={"cost_per_hour": 55, "currency": "EUR"})
    reasons = list(DisqualifyReason.objects.values_list("pk", flat=True))
    contacts = Contact.objects.bulk_create(
        [Contact(first_name="Bench", last_name=f"Prospect {i}", email=f"prospect{i}@leadbench.example")
         for i in range(20_000)], batch_size=5000)
    pipeline = Pipeline.objects.order_by("id").first()
    stage = pipeline.stages.order_by("position").first()
    rows, deals = [], []
    for i in range(leads):
        owner_id, team_id = rng.choice(sellers)
        created = now - dt.timedelta(days=rng.uniform(0, 365))
        lead = Lead(contact=contacts[i % len(contacts)], owner_id=owner_id, team_id=team_id, created_at=created,
                    updated_at=created, source=rng.choice(SOURCES), campaign=f"Campaign {rng.randrange(40)}",
                    first_touch_at=created, score=rng.randrange(101),
                    response_due_at=created + dt.timedelta(hours=4))
        if rng.random() < 0.8:
            lead.first_response_at = created + dt.timedelta(hours=rng.expovariate(1 / 6))
        outcome = rng.random()
        if outcome < 0.15:
            lead.status, lead.qualified_at = "converted", created + dt.timedelta(days=2)
            deals.append((len(rows), Deal(name=f"Bench deal {i}", pipeline=pipeline, stage=stage, owner_id=owner_id,
                                         team_id=team_id, currency="EUR", amount=rng.uniform(1000, 50000),
                                         status=rng.choice(["won", "lost"]), closed_at=created + dt.timedelta(days=30))))
        elif outcome < 0.35:
            lead.status, lead.disqualify_reason_id = "disqualified", rng.choice(reasons) if reasons else None
        elif outcome < 0.45:
            lead.status = "nurture"
        else:
            lead.status = rng.choice(["new", "working", "qualified"])
        rows.append(lead)
    made = Deal.objects.bulk_create([d for _, d in deals], batch_size=5000)
    for (index, _), deal in zip(deals, made, strict=True):
        rows[index].deal = deal
    Lead.objects.bulk_create(rows, batch_size=5000)
    Activity.objects.bulk_create([Activity(kind="call", owner_id=d.owner_id, team_id=d.team_id, deal=d,
                                           duration_minutes=rng.randrange(10, 120)) for d in made], batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()

    setup_django("lead_reports.sqlite3", rebuild=args.rebuild)
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from rapport.leads.models import Lead
    from rapport.leads.routing import queue, reports

    call_command("migrate", verbosity=0)
    existing = Lead.objects.filter(contact__email__endswith="@leadbench.example").count()
    build_seconds = None
    if existing == 0 or args.rebuild:
        print(f"Building the database: {args.leads:,} leads…", flush=True)
        build_seconds = build(leads=args.leads, seed=args.seed)
        print(f"  built in {build_seconds:.1f} s", flush=True)
    elif existing != args.leads:
        print(f"The database has {existing:,} bench leads, not {args.leads:,}: run with --rebuild.")
        return 2
    else:
        print("Reusing the database (--rebuild to build it again).")
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    User = get_user_model()
    admin = User.objects.get(username="leadbench.admin")
    manager = User.objects.get(username="leadbench.manager1")
    seller = User.objects.get(username="leadbench.seller1.1")
    today = dt.date.today()
    year = {"start": today - dt.timedelta(days=365), "end": today}
    from django.test import Client

    def page(user):
        client = Client()
        client.force_login(user)
        query = {"start": year["start"].isoformat(), "end": year["end"].isoformat()}

        def get():
            response = client.get("/leads/reports/", query, secure=True)
            assert response.status_code == 200, response.status_code
        return get

    cases = {
        "reports page, admin, 1 year": page(admin),
        "reports page, manager, 1 year": page(manager),
        "report, admin, 1 year": lambda: reports.source_report(admin, **year),
        "report, manager, 1 year": lambda: reports.source_report(manager, **year),
        "first touch per seller, admin": lambda: reports.first_touch_by(admin, "owner", **year),
        "first touch per source, admin": lambda: reports.first_touch_by(admin, "source", **year),
        "seller's queue, page 1": lambda: queue.queue_rows(queue.queue(seller, {})),
        "manager's team queue, page 1": lambda: queue.queue_rows(queue.queue(manager, {}, scope="team")),
        "who is behind (team)": lambda: queue.team_standing(manager),
    }
    results = {}
    print(f"\n{'case':<34} {'median ms':>10} {'worst ms':>10} {'CPU ms':>10}")
    for name, run in cases.items():
        run()  # warm-up
        times, cpus = [], []
        for _ in range(args.repeat):
            started, cpu = time.perf_counter(), time.process_time()
            run()
            times.append((time.perf_counter() - started) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
        results[name] = {"median_ms": round(statistics.median(times), 1), "worst_ms": round(max(times), 1),
                         "cpu_ms": round(statistics.median(cpus), 1)}
        print(f"{name:<34} {results[name]['median_ms']:>10.1f} {results[name]['worst_ms']:>10.1f}"
              f" {results[name]['cpu_ms']:>10.1f}")
    print(f"\nleads: {Lead.objects.count():,}; load averages: {load_averages()}")
    print(json.dumps({"benchmark": "lead_reports", "leads": args.leads, "build_s": build_seconds,
                      "load": load_averages(), "cases": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
