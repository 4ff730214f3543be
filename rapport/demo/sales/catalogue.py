"""What the demo sells and how its pipelines run: products and prices, pipelines and their stages,
exchange rates and the cost of an hour of each role. Few rows, written through the ORM; the ids
of everything made here go into `DemoDataset.created` so a reset removes exactly them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings

from rapport.sales.models import (
    CloseReason,
    CostRate,
    ExchangeRate,
    Pipeline,
    Product,
    ProductCategory,
    ProductPrice,
    Stage,
)

DAY = 86_400

# (name, kind, stall days, [(stage, default probability, median days a deal spends in it)])
PIPELINES = [
    ("New business", "new_business", 14, [("Qualification", 10, 9), ("Needs analysis", 25, 14),
                                          ("Proposal", 50, 12), ("Negotiation", 75, 10), ("Commitment", 90, 6)]),
    ("Renewals", "renewal", 21, [("Renewal due", 60, 21), ("In discussion", 75, 14), ("Quote sent", 85, 10),
                                 ("Committed", 95, 6)]),
    ("Upsell", "upsell", 14, [("Opportunity identified", 15, 7), ("Discovery", 30, 10), ("Proposal", 55, 10),
                              ("Negotiation", 80, 8)]),
]
DEFAULT_STAGE_DAYS = 10

CATEGORIES = ["Software licences", "Support plans", "Training", "Hardware", "Consulting", "Integrations",
              "Cloud and hosting", "Accessories and supplies"]
# (SKU, name, category index, list price in EUR, still sold). Prices are whole units in every
# currency, so 5-20 % line discounts stay exact to the cent.
PRODUCTS = [
    ("SW-ESS-1Y", "Essentials licence, 1 user, 1 year", 0, 240, True),
    ("SW-PRO-1Y", "Professional licence, 1 user, 1 year", 0, 540, True),
    ("SW-ENT-1Y", "Enterprise licence, 1 user, 1 year", 0, 960, True),
    ("SW-ANL-1Y", "Analytics add-on, 1 user, 1 year", 0, 180, True),
    ("SW-API-1Y", "API access add-on, 1 year", 0, 1200, True),
    ("SW-MOB-1Y", "Mobile add-on, 1 user, 1 year", 0, 90, True),
    ("SW-PRO-PERP", "Professional licence, perpetual (legacy)", 0, 1400, False),
    ("SUP-STD-1Y", "Standard support, 1 year", 1, 1200, True),
    ("SUP-PRM-1Y", "Premium support, 1 year", 1, 3600, True),
    ("SUP-247-1Y", "24/7 critical support, 1 year", 1, 8400, True),
    ("SUP-INC-5", "Incident pack, 5 tickets", 1, 650, True),
    ("SUP-TAM-Q", "Technical account manager, 1 quarter", 1, 5400, True),
    ("SUP-BAS-1Y", "Basic support, 1 year (retired)", 1, 600, False),
    ("TRN-ELRN-1Y", "E-learning seat, 1 year", 2, 150, True),
    ("TRN-ADM-2D", "Administrator course, 2 days, per person", 2, 1100, True),
    ("TRN-USR-1D", "User course, 1 day, per person", 2, 490, True),
    ("TRN-ONS-DAY", "On-site training day, up to 12 people", 2, 1900, True),
    ("TRN-CERT", "Certification exam voucher", 2, 195, True),
    ("TRN-WS-HALF", "Half-day remote workshop", 2, 850, True),
    ("HW-SCN-S200", "Barcode scanner S200", 3, 189, True),
    ("HW-SCN-S100", "Barcode scanner S100", 3, 149, False),
    ("HW-TAB-R10", "Rugged tablet R10", 3, 749, True),
    ("HW-PRN-L40", "Label printer L40", 3, 329, True),
    ("HW-KSK-27", "Self-service kiosk, 27 inch", 3, 2900, True),
    ("HW-GW-G2", "IoT gateway G2", 3, 450, True),
    ("HW-DCK-R10", "Docking station for R10", 3, 149, True),
    ("CNS-HOUR", "Consulting hour", 4, 165, True),
    ("CNS-DAY", "Consultant day", 4, 950, True),
    ("CNS-DAY-SR", "Senior consultant day", 4, 1450, True),
    ("CNS-IMP-S", "Implementation package S", 4, 4500, True),
    ("CNS-IMP-M", "Implementation package M", 4, 12000, True),
    ("CNS-IMP-L", "Implementation package L", 4, 28000, True),
    ("CNS-AUDIT", "Sales process audit", 4, 3200, True),
    ("INT-ERP-1Y", "ERP connector, 1 year", 5, 2400, True),
    ("INT-SHOP-1Y", "Web shop connector, 1 year", 5, 1200, True),
    ("INT-SSO-1Y", "Single sign-on, 1 year", 5, 900, True),
    ("INT-CST-DAY", "Custom integration day", 5, 1300, True),
    ("INT-MIG", "Data migration service", 5, 2800, True),
    ("CLD-STO-100", "Extra storage 100 GB, 1 year", 6, 240, True),
    ("CLD-SBX-1Y", "Sandbox environment, 1 year", 6, 1500, True),
    ("CLD-DED-EU", "Dedicated EU hosting, 1 year", 6, 6000, True),
    ("CLD-BKP-1Y", "Extended backup retention, 1 year", 6, 480, True),
    ("CLD-SLA-1Y", "99.95 % uptime guarantee, 1 year", 6, 1800, True),
    ("ACC-LBL-12", "Label rolls, box of 12", 7, 39, True),
    ("ACC-CBL-C2", "USB-C cable, 2 m", 7, 15, True),
    ("ACC-CSE-R10", "Protective case for R10", 7, 59, True),
    ("ACC-BAT-S200", "Spare battery for S200", 7, 35, True),
    ("ACC-STD-R10", "Desk stand for R10", 7, 79, True),
    ("ACC-CRD-5", "Charging cradle, 5 bays", 7, 219, True),
    ("ACC-RBN-6", "Printer ribbons, pack of 6", 7, 45, True),
    ("ACC-CBL-MU1", "Micro-USB cable, 1 m", 7, 9, False),
]
# Retired products were still sold until this many days before "now".
RETIRED_DAYS_AGO = 300
# Price book currencies and what one EUR buys in them, for list prices and for turning the
# spend model's EUR amounts into the customer's currency.
PRICE_CURRENCIES = {"EUR": 1.0, "USD": 1.09, "GBP": 0.86}
# EUR per unit at the start of the 24 months; each month moves by a random 1.5 % or so.
RATE_START = {"USD": 0.92, "GBP": 1.17, "CHF": 1.04, "SEK": 0.087, "JPY": 0.0061, "AUD": 0.60}
RATE_MONTHLY_SIGMA = 0.015
COST_PER_HOUR = {"admin": 95, "manager": 85, "seller": 65, "marketer": 55, "service": 45}

# Which categories each pipeline sells (weights per category, in CATEGORIES order).
PIPELINE_CATEGORIES = {
    "new_business": [40, 15, 8, 7, 18, 8, 4, 0],
    "renewal": [60, 30, 0, 0, 0, 8, 10, 0],
    "upsell": [25, 10, 15, 10, 10, 15, 15, 0],
}
# How popular each category is with buyers; each customer prefers a few (Dirichlet draws).
CATEGORY_POPULARITY = [0.20, 0.10, 0.10, 0.15, 0.10, 0.07, 0.08, 0.20]

NEXT_STEPS = [
    ["Qualify budget and timing", "Book a discovery call", "Find the decision maker"],
    ["Send the needs summary", "Demo for the wider team", "Collect requirements from IT"],
    ["Send the proposal", "Walk the CFO through the proposal", "Answer the security questionnaire"],
    ["Agree on the discount", "Review the contract redlines", "Confirm the start date"],
    ["Get the signature", "Send the order form", "Plan the kick-off"],
]
CALL_NOTES = ["Discovery call about their current process", "Walked through pricing", "Answered questions on the API",
              "Talked through the security questionnaire", "Checked the budget with their finance lead",
              "Followed up on the proposal", "Discussed the contract terms", "Agreed next steps"]
MEETING_SUBJECTS = ["Product demo", "Discovery workshop", "Technical deep dive", "Proposal walkthrough",
                    "Contract negotiation", "Executive sponsor meeting", "Renewal review", "Account planning"]
# VAT (or sales tax) a proposal adds, by the customer's country.
TAX_PERCENT = {"DE": 19, "FR": 20, "GB": 20, "NL": 21, "ES": 21, "IT": 22, "SE": 25, "AU": 10, "JP": 10, "SG": 9,
               "IN": 18, "NZ": 15, "MX": 16, "CA": 5, "BR": 0, "US": 0}


@dataclass
class PipelineSpec:
    role: str  # the demo's use of it: new_business, renewal or upsell (its PIPELINES entry)
    id: int
    name: str
    kind: str
    stall_days: int
    stage_ids: list[int]
    stage_names: list[str]
    probabilities: list[int]
    median_days: list[float]

    @property
    def proposal_stage(self) -> int:
        """The first stage where quotes go out (by name), or the middle one."""
        for k, name in enumerate(self.stage_names):
            if "proposal" in name.lower() or "quote" in name.lower():
                return k
        return len(self.stage_names) // 2


@dataclass
class Catalogue:
    pipelines: list[PipelineSpec]
    won_reasons: list[tuple[int, str]]
    lost_reasons: list[tuple[int, str]]
    product_ids: np.ndarray
    product_category: np.ndarray
    product_retired: np.ndarray
    # price in cents, one column per PRICE_CURRENCIES entry
    product_cents: np.ndarray
    currencies: list[str] = field(default_factory=lambda: list(PRICE_CURRENCIES))
    category_names: list[str] = field(default_factory=lambda: list(CATEGORIES))
    product_names: list[str] = field(default_factory=list)
    product_skus: list[str] = field(default_factory=list)
    exchange_rates: int = 0


def _nice(amount: float) -> int:
    if amount < 100:
        return max(1, round(amount))
    if amount < 1000:
        return int(round(amount / 5) * 5)
    return int(round(amount / 10) * 10)


def ensure_pipelines(created: dict) -> list[PipelineSpec]:
    """The three demo pipelines; one that already exists under the same name is used as it is."""
    specs = []
    for position, (name, kind, stall_days, stages) in enumerate(PIPELINES):
        pipeline = Pipeline.objects.filter(name=name, deleted_at__isnull=True).first()
        if pipeline is None:
            pipeline = Pipeline.objects.create(name=name, kind=kind, position=position, stall_days=stall_days)
            Stage.objects.bulk_create([Stage(pipeline=pipeline, name=s, position=k, probability=p)
                                       for k, (s, p, _) in enumerate(stages)])
            created.setdefault("pipelines", []).append(pipeline.pk)
        rows = list(pipeline.stages.order_by("position", "id").values_list("id", "name", "probability"))
        if not rows:
            continue
        days = {s: d for s, _, d in stages}
        specs.append(PipelineSpec(
            role=kind, id=pipeline.pk, name=pipeline.name, kind=pipeline.kind, stall_days=pipeline.stall_days,
            stage_ids=[r[0] for r in rows], stage_names=[r[1] for r in rows], probabilities=[r[2] for r in rows],
            median_days=[float(days.get(r[1], DEFAULT_STAGE_DAYS)) for r in rows]))
    return specs


def ensure_catalogue(*, now: int, created: dict, rng: np.random.Generator) -> Catalogue:
    pipelines = ensure_pipelines(created)
    reasons = {outcome: list(CloseReason.objects.filter(outcome=outcome, active=True)
                             .order_by("position", "id").values_list("id", "label"))
               for outcome in ("won", "lost")}

    category_ids = []
    for name in CATEGORIES:
        category, was_created = ProductCategory.objects.get_or_create(name=name)
        if was_created:
            created.setdefault("product_categories", []).append(category.pk)
        category_ids.append(category.pk)
    existing = dict(Product.objects.filter(sku__in=[p[0] for p in PRODUCTS], deleted_at__isnull=True)
                    .values_list("sku", "pk"))
    since = dt.datetime.fromtimestamp(now - 800 * DAY, dt.UTC)
    new = [Product(sku=sku, name=name, category_id=category_ids[c], active=active, created_at=since,
                   updated_at=since)
           for sku, name, c, _, active in PRODUCTS if sku not in existing]
    Product.objects.bulk_create(new)
    created.setdefault("products", []).extend(p.pk for p in new)
    ids = {**existing, **{p.sku: p.pk for p in new}}
    cents = np.array([[_nice(eur * factor) * 100 for factor in PRICE_CURRENCIES.values()]
                      for _, _, _, eur, _ in PRODUCTS], dtype=np.int64)
    # The demo prices what it sells from its own table; a product that was there keeps its prices.
    ProductPrice.objects.bulk_create([
        ProductPrice(product_id=ids[sku], currency=currency, unit_price=f"{cents[i, j] // 100}.00")
        for i, (sku, *_rest) in enumerate(PRODUCTS) if sku not in existing
        for j, currency in enumerate(PRICE_CURRENCIES)])

    rates = _exchange_rates(now=now, rng=rng)
    taken = set(ExchangeRate.objects.filter(currency__in={c for c, _, _ in rates})
                .values_list("currency", "valid_from"))
    made = ExchangeRate.objects.bulk_create([ExchangeRate(currency=c, valid_from=d, rate=r)
                                             for c, d, r in rates if (c, d) not in taken])
    created.setdefault("exchange_rates", []).extend(r.pk for r in made)
    have = set(CostRate.objects.values_list("role", flat=True))
    base = settings.RAPPORT_BASE_CURRENCY
    made_costs = CostRate.objects.bulk_create([CostRate(role=role, cost_per_hour=f"{cost}.00", currency=base)
                                               for role, cost in COST_PER_HOUR.items() if role not in have])
    created.setdefault("cost_rates", []).extend(c.pk for c in made_costs)

    return Catalogue(
        pipelines=pipelines, won_reasons=reasons["won"], lost_reasons=reasons["lost"],
        product_ids=np.array([ids[p[0]] for p in PRODUCTS]), product_category=np.array([p[2] for p in PRODUCTS]),
        product_retired=np.array([not p[4] for p in PRODUCTS]), product_cents=cents,
        product_names=[p[1] for p in PRODUCTS], product_skus=[p[0] for p in PRODUCTS],
        exchange_rates=len(made))


def _exchange_rates(*, now: int, rng: np.random.Generator) -> list[tuple[str, dt.date, str]]:
    """Monthly rates for the last 24 months, as units of the base currency per unit of each.

    Drawn as EUR cross rates (a random walk per currency) and divided through when the base
    currency is not EUR; a base currency the demo does not know gets no rates."""
    today = dt.datetime.fromtimestamp(now, dt.UTC).date()
    months = []
    year, month = today.year, today.month
    for _ in range(24):
        months.append(dt.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    months.reverse()
    walk = np.exp(np.cumsum(rng.normal(0.0, RATE_MONTHLY_SIGMA, (len(RATE_START), len(months))), axis=1))
    eur_per = {"EUR": np.ones(len(months))}
    for i, (currency, start) in enumerate(RATE_START.items()):
        eur_per[currency] = start * walk[i]
    base = settings.RAPPORT_BASE_CURRENCY
    if base not in eur_per:
        return []
    rows = []
    for currency, series in eur_per.items():
        if currency == base:
            continue
        for m, valid_from in enumerate(months):
            rows.append((currency, valid_from, f"{series[m] / eur_per[base][m]:.8f}"))
    return rows
