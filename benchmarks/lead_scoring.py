"""Benchmark: score 1,000,000 open leads (fit + engagement + predictive) in SQLite.

    .venv/bin/python benchmarks/lead_scoring.py [--leads 1000000] [--rebuild] [--keep-rules]

Builds a SQLite database once (var/bench/lead_scoring.sqlite3, reused unless --rebuild) by
writing rows in bulk straight into the tables:

- 5 teams, 50 sellers, 150,000 companies (industry, size band, country, half with an annual
  revenue custom field), one contact per lead (in a company for 80 %);
- the open leads (new, working, qualified) of the last 120 days, from every source, with
  budgets in EUR, USD and GBP or bands, buying roles, timelines, need categories (40 %) and a
  first response for 70 %;
- 3 timeline events per lead on average in the last 200 days (page views, campaign opens and
  clicks, forms, e-mails, calls, meetings), a tenth of the contacts much busier than the rest;
- six fit rules (industry, size, country, budget floor, need category, annual revenue) and a
  predictive model fitted on 50,000 of the leads with outcomes drawn from known chances.

Then it times `score_open_leads` (what `rapport leads score` and `rapport leads train` run):
read the leads, read their events, compute fit, engagement, chance and reasons, write them
back. Prints each stage and the total, and ends with one line of JSON. Target: <= 60 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_common import setup_django  # noqa: E402 - found through the path above

TARGET_SECONDS = 60.0
NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
DAY = 86_400
SELLERS = 50
COMPANIES = 150_000
EVENTS_PER_LEAD = 3.0
INDUSTRIES = ["Software", "Retail", "Manufacturing", "Healthcare", "Finance", "Logistics", "Education",
              "Energy", "Media", "Public sector"]
SIZES = ["1-9", "10-49", "50-249", "250-999", "1000+"]
COUNTRIES = ["DE", "FR", "GB", "US", "NL", "ES", "IT", "SE", "PL", "AT"]
SOURCES = ["web_form", "tracking", "import", "api", "referral", "campaign", "event", "manual"]
STATUSES = ["new", "working", "qualified"]
AUTHORITIES = ["", "decision_maker", "champion", "user", "finance", "other"]
TIMELINES = ["", "now", "quarter", "half_year", "year", "later"]
BANDS = ["", "under_1k", "1k_10k", "10k_50k", "50k_250k", "over_250k"]
KINDS = ["page_view", "campaign_open", "campaign_click", "form", "email", "call", "meeting", "note"]
KIND_SHARE = [0.45, 0.15, 0.08, 0.05, 0.1, 0.07, 0.04, 0.06]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def text_times(seconds: np.ndarray) -> list[str]:
    """Epoch seconds as SQLite's stored datetime text."""
    stamps = np.datetime_as_string(np.asarray(seconds, dtype="int64").astype("datetime64[s]"), unit="s")
    return [s.replace("T", " ") for s in stamps.tolist()]


def build(n: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from rapport.core.models import Profile, Team
    from rapport.demo.generator import _Writer
    from rapport.leads.models import Lead
    from rapport.people.models import Company, Contact, CustomField
    from rapport.sales.models import ExchangeRate, ProductCategory
    from rapport.timeline.models import Event

    rng = np.random.default_rng(5)
    began = time.perf_counter()
    now = int(NOW.timestamp())
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA foreign_keys=OFF")
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA cache_size=-524288")
    teams = [Team.objects.create(name=f"Bench team {i}") for i in range(5)]
    User = get_user_model()
    sellers = []
    for i in range(SELLERS):
        user = User.objects.create(username=f"bench.seller{i}", password="!")
        Profile.objects.filter(user=user).update(role="seller", team=teams[i % 5])
        sellers.append(user.pk)
    sellers = np.array(sellers)
    seller_team = np.array([teams[i % 5].pk for i in range(SELLERS)])
    CustomField.objects.get_or_create(entity="company", key="annual_revenue",
                                      defaults={"label": "Annual revenue", "field_type": "number"})
    categories = [ProductCategory.objects.create(name=name).pk for name in ("CRM", "Analytics", "Hardware",
                                                                           "Services")]
    for currency, rate in (("USD", "0.92"), ("GBP", "1.17")):
        ExchangeRate.objects.create(currency=currency, rate=rate, valid_from=dt.date(2026, 1, 1))

    stamp = text_times(np.full(1, now - 400 * DAY))[0]
    m = COMPANIES
    revenue = np.round(np.exp(rng.normal(14, 1.2, m)), -3).astype(np.int64)
    has_revenue = rng.random(m) < 0.5
    company_team = rng.integers(0, SELLERS, m)
    with transaction.atomic():
        _Writer(Company).insert({
            "id": list(range(1, m + 1)), "created_at": [stamp] * m, "updated_at": [stamp] * m,
            "name": [f"Company {i}" for i in range(1, m + 1)], "name_key": [f"company {i}" for i in range(1, m + 1)],
            "domain": [f"company{i}.example" for i in range(1, m + 1)],
            "industry": [INDUSTRIES[i] for i in rng.integers(0, len(INDUSTRIES), m).tolist()],
            "size_band": [SIZES[i] for i in rng.choice(len(SIZES), m, p=[0.35, 0.3, 0.2, 0.1, 0.05]).tolist()],
            "country": [COUNTRIES[i] for i in rng.integers(0, len(COUNTRIES), m).tolist()],
            "owner_id": sellers[company_team].tolist(), "team_id": seller_team[company_team].tolist(),
            "custom": [f'{{"annual_revenue": {r}}}' if h else "{}" for r, h in zip(revenue.tolist(),
                                                                                   has_revenue.tolist(),
                                                                                   strict=True)],
        })
    created = now - (rng.random(n) ** 1.5 * 120 * DAY).astype(np.int64)
    owner = rng.integers(0, SELLERS, n)
    company = np.where(rng.random(n) < 0.8, rng.integers(1, m + 1, n), 0)
    chunk = 250_000
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        k = stop - start
        ids = list(range(start + 1, stop + 1))
        times = text_times(created[start:stop])
        comp = [int(c) or None for c in company[start:stop].tolist()]
        own = sellers[owner[start:stop]].tolist()
        team = seller_team[owner[start:stop]].tolist()
        responded = rng.random(k) < 0.7
        response = created[start:stop] + (rng.exponential(20 * 3600, k)).astype(np.int64)
        amount = np.round(np.exp(rng.normal(9.5, 1.3, k)), -2)
        has_amount = rng.random(k) < 0.35
        band = rng.integers(0, len(BANDS), k) * (rng.random(k) < 0.3)
        with transaction.atomic():
            _Writer(Contact).insert({
                "id": ids, "created_at": times, "updated_at": times, "first_name": ["Lead"] * k,
                "last_name": [f"Person {i}" for i in ids], "name_key": [f"lead person {i}" for i in ids],
                "last_name_key": [f"person {i}" for i in ids], "email": [f"lead{i}@bench.example" for i in ids],
                "company_id": comp, "owner_id": own, "team_id": team,
                "country": [COUNTRIES[i] for i in rng.integers(0, len(COUNTRIES), k).tolist()],
            })
            _Writer(Lead).insert({
                "id": ids, "created_at": times, "updated_at": times, "contact_id": ids, "company_id": comp,
                "source": [SOURCES[i] for i in rng.integers(0, len(SOURCES), k).tolist()],
                "status": [STATUSES[i] for i in rng.choice(3, k, p=[0.5, 0.35, 0.15]).tolist()],
                "owner_id": own, "team_id": team, "first_touch_at": times,
                "first_response_at": [t if r else None for t, r in zip(text_times(np.minimum(response, now)),
                                                                       responded.tolist(), strict=True)],
                "budget_amount": [float(a) if h else None for a, h in zip(amount.tolist(), has_amount.tolist(),
                                                                          strict=True)],
                "budget_currency": [["EUR", "USD", "GBP"][i] if h else "" for i, h in zip(
                    rng.choice(3, k, p=[0.6, 0.3, 0.1]).tolist(), has_amount.tolist(), strict=True)],
                "budget_band": [BANDS[b] for b in band.tolist()],
                "authority": [AUTHORITIES[i] for i in rng.integers(0, len(AUTHORITIES), k).tolist()],
                "timeline": [TIMELINES[i] for i in rng.integers(0, len(TIMELINES), k).tolist()],
                "need": ["Wants a quote" if x < 0.3 else "" for x in rng.random(k).tolist()],
            })
            with_need = np.flatnonzero(rng.random(k) < 0.4)
            two = with_need[rng.random(len(with_need)) < 0.3]
            first = rng.integers(0, 4, len(with_need))
            second = (first[np.searchsorted(with_need, two)] + 1 + rng.integers(0, 3, len(two))) % 4
            through = Lead.need_categories.through
            lead_col = (np.concatenate([with_need, two]) + start + 1).tolist()
            cat_col = np.array(categories)[np.concatenate([first, second])].tolist()
            _Writer(through).insert({"lead_id": lead_col, "productcategory_id": cat_col})

    # events: a tenth of the contacts are busy; times mostly recent
    total = int(n * EVENTS_PER_LEAD)
    busy = rng.random(n) < 0.1
    weight = np.where(busy, 8.0, 1.0)
    who = rng.choice(n, total, p=weight / weight.sum())
    when = now - (rng.random(total) ** 2 * 200 * DAY).astype(np.int64)
    kind = rng.choice(len(KINDS), total, p=KIND_SHARE)
    for start in range(0, total, 1_000_000):
        stop = min(total, start + 1_000_000)
        contact = (who[start:stop] + 1).tolist()
        with transaction.atomic():
            _Writer(Event).insert({
                "id": list(range(start + 1, stop + 1)), "kind": [KINDS[k] for k in kind[start:stop].tolist()],
                "occurred_at": text_times(when[start:stop]), "contact_id": contact,
                "company_id": [int(c) or None for c in company[who[start:stop]].tolist()],
                "summary": ["bench"] * (stop - start), "payload": ["{}"] * (stop - start),
            })
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA analysis_limit=1000")
        cursor.execute("ANALYZE")
        cursor.execute("PRAGMA foreign_keys=ON")
    return {"build_seconds": round(time.perf_counter() - began, 1), "events": total, "categories": categories}


def set_up_scoring(categories: list[int]) -> None:
    """Six fit rules and a model fitted on 50,000 leads with outcomes drawn from known chances."""
    import sklearn

    from rapport.leads.models import FitRule, ScoreModel, ScoringSettings
    from rapport.leads.scoring import features as F
    from rapport.leads.scoring import predictive as P
    from rapport.leads.scoring import rules as R
    from rapport.leads.scoring.columns import exchange_rates, read_leads

    FitRule.objects.all().delete()
    ScoreModel.objects.all().delete()
    ScoringSettings.objects.all().delete()
    ScoringSettings.objects.create()
    for data in (
        {"attribute": "industry", "values": ["Software", "Finance", "Healthcare"], "weight": 25},
        {"attribute": "size_band", "values": ["50-249", "250-999", "1000+"], "weight": 25},
        {"attribute": "country", "values": ["DE", "FR", "NL", "AT", "GB"], "weight": 15},
        {"attribute": "budget", "number": "10000", "currency": "EUR", "weight": 15},
        {"attribute": "need", "values": categories[:2], "weight": 10},
        {"attribute": "custom", "custom_field": "company.annual_revenue", "operator": "at_least",
         "number": "2000000", "weight": 10},
    ):
        FitRule.objects.create(**R.clean_fit_rule(data))
    rules = R.compile_rules()
    rates = exchange_rates()
    sample = read_leads(where="l.id <= %s", params=[50_000], custom=R.custom_keys(rules))
    fit = R.fit_scores(rules, R.evaluate(rules, sample, rates=rates))
    rng = np.random.default_rng(9)
    X, _ = F.matrix(sample, fit=fit, intake_engagement=rng.exponential(5, len(sample)), now=NOW.timestamp(),
                    rates=rates)
    truth = 1 / (1 + np.exp(-(-3.0 + 3.0 * X[:, F.feature_names().index("fit_score")]
                              + 1.0 * X[:, F.feature_names().index("source=referral")])))
    y = (rng.random(len(truth)) < truth).astype(int)
    fitted = P.fit(X, y)  # one fit: the benchmark times scoring, not training
    data, digest = P.dump(fitted)
    ScoreModel.objects.create(version="bench", status="ready", features=F.feature_names(),
                              metrics=P.metrics(fitted.chance(X), y), outcomes=len(y), wins=int(y.sum()),
                              estimator=data, estimator_sha256=digest, sklearn_version=sklearn.__version__)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--rebuild", action="store_true", help="Build the database again")
    args = parser.parse_args()

    db_path = setup_django(f"lead_scoring_{args.leads}.sqlite3", rebuild=args.rebuild, also_remove=(".ready",))
    own_database = db_path is not None
    from django.core.management import call_command
    from django.db import connection

    from rapport.leads.models import Lead
    from rapport.leads.scoring.services import score_open_leads
    from rapport.sales.models import ProductCategory

    call_command("migrate", verbosity=0)
    ready = Path(f"{db_path}.ready") if own_database else None  # marks our own file as fully built
    built = {"build_seconds": None}
    if ready is None or not ready.exists() or not Lead.objects.exists():
        built = build(args.leads)
        if ready is not None:
            ready.write_text(json.dumps(built))
    categories = list(ProductCategory.objects.order_by("id").values_list("id", flat=True))
    set_up_scoring(categories)

    load_before = os.getloadavg()[0]
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    run = score_open_leads(now=NOW)
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_before
    load = round(max(load_before, os.getloadavg()[0]), 2)

    sample = Lead.objects.filter(pk=1).values("fit_score", "engagement_score", "predicted_chance", "score",
                                              "score_reasons").first()
    figures = {
        "benchmark": "lead_scoring", "database": connection.vendor, "open_leads": run.leads,
        "events_read": run.events, "model": run.version, "stages": run.seconds,
        "stage_cpu_seconds": run.cpu_seconds, "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2), "leads_per_second": round(run.leads / seconds) if seconds else None,
        "target_seconds": TARGET_SECONDS, "within_target": seconds <= TARGET_SECONDS, "load_average": load,
        "build_seconds": built.get("build_seconds"),
    }
    print(f"\nScoring open leads ({connection.vendor}, model {run.version})")
    print(f"  {'open leads':<24}{run.leads:>14,}")
    print(f"  {'events read':<24}{run.events:>14,}")
    for stage, value in run.seconds.items():
        print(f"  {stage:<24}{value:>14.1f} s   CPU {run.cpu_seconds.get(stage, 0):.1f} s")
    print(f"  {'total (wall)':<24}{seconds:>14.1f} s   target ≤ {TARGET_SECONDS:.0f}")
    print(f"  {'CPU':<24}{cpu:>14.1f} s")
    print(f"  {'leads/s':<24}{figures['leads_per_second']:>14,}")
    print(f"  {'load average (1 min)':<24}{load:>14}   (other work on the machine slows it)")
    if built.get("build_seconds"):
        print(f"  {'database built in':<24}{built['build_seconds']:>14.1f} s (not part of the figure)")
    print(f"  lead 1: {sample}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
