"""Benchmark: every follow-up rule over 1,000,000 contacts and 200,000 open deals, twice.

    .venv/bin/python benchmarks/follow_up_rules.py [--contacts 1000000] [--open-deals 200000]
                                                   [--rebuild]

Builds a SQLite database once (var/bench/follow_up_rules.sqlite3 unless DATABASE_URL is set;
reused on the next run unless --rebuild), writing rows in bulk with `executemany`: 8 teams of
8 sellers, 20,000 companies, the contacts, the open deals (last activity spread over 60 days,
so most are stalled past the default 14 days) and 20,000 closed ones, 150,000 orders of 60,000
customers over two years (many first purchases in the last 100 days), a stored score with a
usual purchase interval for 200,000 customers, 60,000 logged meetings in the last 30 days and
20,000 leads, a few thousand near their first-response deadline.

Then it removes the tasks earlier runs made and runs all enabled rules twice, as
`rapport assistant rules` does: the first run makes the tasks, the second must make none.
It prints each rule's candidates, new tasks and seconds for both runs, and the load averages.
The target is at most 60 s for the first run. The last line is one line of JSON with the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_common import setup_django  # noqa: E402 - found through the path above

TARGET_SECONDS = 60.0


def load_averages() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def insert_rows(model, rows, *, chunk: int = 20_000) -> list[int]:
    """Insert dicts of field attnames with executemany; fields a row leaves out take their
    default (computed once). Ids are assigned here, after the table's largest."""
    from django.db import connection, transaction

    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(id) FROM {table}")
        (last,) = cursor.fetchone()
    next_id = (last or 0) + 1
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    defaults = {f.attname: (f.get_db_prep_save(f.get_default(), connection) if f.has_default() else None)
                for f in fields}
    prep = {f.attname: f for f in fields}
    names = ["id"] + [f.column for f in fields]
    sql = "INSERT INTO {} ({}) VALUES ({})".format(table, ", ".join(connection.ops.quote_name(n) for n in names),
                                                   ", ".join(["%s"] * len(names)))
    attnames = [f.attname for f in fields]
    ids: list[int] = []
    batch: list[tuple] = []

    def flush():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, batch)
        batch.clear()

    for row in rows:
        values = [next_id]
        for name in attnames:
            if name in row:
                value = row[name]
                values.append(prep[name].get_db_prep_save(value, connection) if value is not None else None)
            else:
                values.append(defaults[name])
        ids.append(next_id)
        next_id += 1
        batch.append(tuple(values))
        if len(batch) >= chunk:
            flush()
    if batch:
        flush()
    return ids


def build(*, contacts: int, open_deals: int, seed: int) -> float:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from rapport.core.models import Profile, Role, Team
    from rapport.leads.models import Lead
    from rapport.people.models import Company, Contact
    from rapport.reports.models import CustomerScore, ModelRun
    from rapport.sales.models import Deal, Order, Pipeline, Stage
    from rapport.timeline.models import Activity

    started = time.perf_counter()
    rng = random.Random(seed)
    now = timezone.now()
    User = get_user_model()
    with transaction.atomic():
        sellers = []
        for t in range(8):
            team = Team.objects.get_or_create(name=f"Bench team {t + 1}")[0]
            for s in range(8):
                user, _ = User.objects.get_or_create(username=f"bench.seller{t + 1}.{s + 1}",
                                                     defaults={"first_name": f"Seller {t + 1}.{s + 1}"})
                Profile.objects.update_or_create(user=user, defaults={"role": Role.SELLER, "team": team})
                sellers.append((user.pk, team.pk))
    pipeline = Pipeline.objects.filter(deleted_at__isnull=True).order_by("id").first()
    stage_ids = list(Stage.objects.filter(pipeline=pipeline).values_list("id", flat=True))

    print("  companies…", flush=True)
    company_ids = insert_rows(Company, ({"name": f"Bench Co {i}", "name_key": f"bench co {i}",
                                         "domain": f"bench{i}.example", "owner_id": o, "team_id": t}
                                        for i, (o, t) in ((i, rng.choice(sellers)) for i in range(20_000))))
    print("  contacts…", flush=True)

    def contact_rows():
        for i in range(contacts):
            owner, team = sellers[i % len(sellers)]
            yield {"first_name": "Bench", "last_name": f"Person{i}", "name_key": f"bench person{i}",
                   "last_name_key": f"person{i}", "email": f"p{i}@bench.example", "owner_id": owner,
                   "team_id": team, "company_id": company_ids[i % len(company_ids)], "lifecycle_stage": "customer",
                   "created_at": now, "updated_at": now}

    contact_ids = insert_rows(Contact, contact_rows())
    def who(cid):  # the owner and team contact_rows gave this contact (round robin)
        return sellers[(cid - contact_ids[0]) % len(sellers)]

    print("  deals…", flush=True)

    def deal_rows():
        for i in range(open_deals + 20_000):
            owner, team = rng.choice(sellers)
            status = "open" if i < open_deals else rng.choice(["won", "lost"])
            created = now - dt.timedelta(days=rng.uniform(1, 300))
            yield {"name": f"Bench deal {i}", "owner_id": owner, "team_id": team, "pipeline_id": pipeline.pk,
                   "stage_id": rng.choice(stage_ids), "amount": f"{rng.uniform(500, 90_000):.2f}", "currency": "EUR",
                   "status": status, "created_at": created, "updated_at": created, "stage_entered_at": created,
                   "company_id": rng.choice(company_ids), "closed_at": None if status == "open" else now,
                   "last_activity_at": now - dt.timedelta(days=rng.uniform(0, 60))}

    insert_rows(Deal, deal_rows())
    print("  orders and scores…", flush=True)
    customers = rng.sample(contact_ids, min(60_000, len(contact_ids) // 4))

    def order_rows():
        for cid in customers:
            owner, team = who(cid)
            first = now - dt.timedelta(days=rng.uniform(1, 730) if rng.random() < 0.7 else rng.uniform(1, 100))
            for k in range(rng.choice([1, 2, 2, 3, 4])):
                when = first + dt.timedelta(days=k * rng.uniform(20, 90))
                if when < now:
                    yield {"contact_id": cid, "owner_id": owner, "team_id": team, "ordered_at": when,
                           "currency": "EUR", "total": f"{rng.uniform(20, 900):.2f}", "created_at": when,
                           "updated_at": when}

    insert_rows(Order, order_rows())
    with transaction.atomic():
        run = ModelRun.objects.create(as_of=now.date(), engine_version="bench", status="done")

    def score_rows():
        for cid in rng.sample(contact_ids, min(200_000, len(contact_ids) // 5)):
            owner, team = who(cid)
            last = now - dt.timedelta(days=rng.uniform(1, 400))
            yield {"contact_id": cid, "owner_id": owner, "team_id": team, "run_id": run.pk, "as_of": now.date(),
                   "model": "bgnbd", "engine_version": "bench", "orders": rng.randint(2, 12),
                   "last_order_at": last, "usual_interval_days": rng.uniform(15, 120),
                   "probability_alive": rng.random(), "value_12m": rng.uniform(50, 5000),
                   "health": rng.randint(5, 95), "health_band": rng.choice(["healthy", "watch", "at_risk"])}

    insert_rows(CustomerScore, score_rows())
    print("  meetings and leads…", flush=True)

    def meeting_rows():
        for _ in range(60_000):
            cid = rng.choice(contact_ids)
            owner, team = who(cid)
            yield {"kind": "meeting", "contact_id": cid, "owner_id": owner, "team_id": team, "subject": "Review",
                   "occurred_at": now - dt.timedelta(days=rng.uniform(0, 30)), "created_at": now, "updated_at": now}

    insert_rows(Activity, meeting_rows())

    def lead_rows():
        for _ in range(20_000):
            cid = rng.choice(contact_ids)
            owner, team = who(cid)
            due = now + dt.timedelta(hours=rng.uniform(-24 * 10, 24 * 10))
            yield {"contact_id": cid, "owner_id": owner, "team_id": team, "status": "new",
                   "first_touch_at": due - dt.timedelta(hours=4), "response_due_at": due,
                   "created_at": now, "updated_at": now}

    insert_rows(Lead, lead_rows())
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit=1000")
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def clear_rule_tasks() -> None:
    from django.db import connection, transaction

    from rapport.assistant.models import Task
    from rapport.core.models import AuditEntry

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {AuditEntry._meta.db_table} WHERE record_type = 'assistant.task'")
        cursor.execute(f"UPDATE {Task._meta.db_table} SET previous_id = NULL WHERE previous_id IS NOT NULL")
        cursor.execute(f"DELETE FROM {Task._meta.db_table}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--open-deals", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rebuild", action="store_true", help="Build the database again even if present")
    args = parser.parse_args()

    setup_django("follow_up_rules.sqlite3", rebuild=args.rebuild)
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    from rapport.assistant.services.rules import run_follow_up_rules
    from rapport.people.models import Contact
    from rapport.sales.models import Deal

    settings.DEBUG = False
    call_command("migrate", verbosity=0)
    build_seconds = None
    have = Contact.objects.count()
    if have == 0 or args.rebuild:
        print(f"Building: {args.contacts:,} contacts and {args.open_deals:,} open deals…", flush=True)
        build_seconds = build(contacts=args.contacts, open_deals=args.open_deals, seed=args.seed)
        print(f"  built in {build_seconds:.1f} s", flush=True)
    elif have != args.contacts:
        print(f"The database has {have:,} contacts, not {args.contacts:,}: run with --rebuild.")
        return 2
    else:
        print("Reusing the database (--rebuild to build it again).")
    clear_rule_tasks()
    open_deals = Deal.objects.filter(status="open").count()

    runs = []
    # Both runs see the same moment, so the second faces exactly the first one's triggers (run
    # later, a lead may newly enter its deadline window: that is a new trigger, not a repeat).
    now = timezone.now()
    for label in ("first run", "second run"):
        cpu = time.process_time()
        summary = run_follow_up_rules(now=now)
        runs.append({"label": label, "seconds": summary.seconds, "cpu": time.process_time() - cpu,
                     "created": summary.created, "rules": summary.results})

    print(f"\n{Contact.objects.count():,} contacts, {open_deals:,} open deals; load average {load_averages()}")
    print(f"{'rule':<20}{'found':>10}{'new (1st)':>11}{'s (1st)':>9}{'new (2nd)':>11}{'s (2nd)':>9}")
    for first, second in zip(runs[0]["rules"], runs[1]["rules"], strict=True):
        print(f"{first.kind:<20}{first.candidates:>10,}{first.created:>11,}{first.seconds:>9.1f}"
              f"{second.created:>11,}{second.seconds:>9.1f}")
    for run in runs:
        print(f"{run['label']:<12} {run['created']:>9,} task(s) made in {run['seconds']:.1f} s "
              f"(CPU {run['cpu']:.1f} s); target <= {TARGET_SECONDS:.0f} s")
    figures = {
        "benchmark": "follow_up_rules", "contacts": Contact.objects.count(), "open_deals": open_deals,
        "build_seconds": round(build_seconds, 1) if build_seconds else None,
        "first_run_seconds": round(runs[0]["seconds"], 1), "first_run_created": runs[0]["created"],
        "second_run_seconds": round(runs[1]["seconds"], 1), "second_run_created": runs[1]["created"],
        "target_seconds": TARGET_SECONDS, "load_average": load_averages(),
        "ok": runs[0]["seconds"] <= TARGET_SECONDS and runs[1]["created"] == 0,
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
