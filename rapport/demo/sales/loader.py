"""Draw the sales story for the contacts a demo load just wrote, write it in bulk, and undo it."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import numpy as np
from django.contrib.auth import get_user_model
from django.core.management.color import no_style
from django.db import connection, transaction

from rapport.core.bulk_load import drop_secondary_indexes, restore_indexes
from rapport.core.models import AuditEntry
from rapport.people.models import Company, Contact
from rapport.sales.models import (
    Deal,
    DealContact,
    DealLineItem,
    Order,
    OrderLine,
    Proposal,
    ProposalLine,
)
from rapport.timeline.models import Activity, Event

from . import deals as D
from . import orders as O
from .catalogue import DAY, PIPELINE_CATEGORIES, PRICE_CURRENCIES, Catalogue, ensure_catalogue
from .proposals import proposal_rows
from .rows import Table, deal_rows, ids_or_none, new_tables, order_rows

# The sales draws have their own stream of the seed, so changes to how contacts are drawn do
# not reshuffle them (and the other way round).
SALES_STREAM = 3
CUSTOMER_STAGES = ["customer", "advocate", "former_customer"]
DEALS_PER_CONTACT = 1 / 8
# Sales tables the demo fills, by the key its id ranges use.
TABLES = {"deal": Deal, "deal_contact": DealContact, "deal_line_item": DealLineItem, "proposal": Proposal,
          "proposal_line": ProposalLine, "order": Order, "order_line": OrderLine}
BIG_LOAD = 20_000  # orders; below this, dropping and rebuilding indexes costs more than it saves


@dataclass
class People:
    """The contacts of this load, as columns."""

    ids: np.ndarray
    company: np.ndarray  # 0: none
    owner: np.ndarray
    team: np.ndarray  # 0: none
    stage: np.ndarray
    source: list[str]
    start: np.ndarray  # created_at, epoch seconds
    updated: np.ndarray
    country: list[str]
    currency: np.ndarray  # index into PRICE_CURRENCIES
    full_name: list[str]
    band: np.ndarray  # company size band (0 = smallest or none)
    company_name: dict[int, str] = field(default_factory=dict)
    colleagues: dict[int, list[int]] = field(default_factory=dict)


@dataclass
class SalesSummary:
    counts: dict = field(default_factory=dict)
    events: int = 0
    activities: int = 0
    audit_entries: int = 0
    id_ranges: dict = field(default_factory=dict)
    parameters: dict = field(default_factory=dict)


def read_people(contacts: tuple[int, int], companies: tuple[int, int] | None) -> People:
    # Plain SQL with times as epoch seconds: converting 200,000 datetimes in Python takes seconds.
    q = connection.ops.quote_name
    epoch = ("CAST(strftime('%%s', {}) AS INTEGER)" if connection.vendor == "sqlite"
             else "CAST(EXTRACT(EPOCH FROM {}) AS BIGINT)")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, company_id, owner_id, team_id, lifecycle_stage, source, {epoch.format('created_at')}, "
            f"{epoch.format('updated_at')}, country, first_name, last_name FROM {q(Contact._meta.db_table)} "
            "WHERE id BETWEEN %s AND %s AND deleted_at IS NULL ORDER BY id", list(contacts))
        rows = cursor.fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in range(11)]
    bands = {"1-9": 0, "10-49": 1, "50-249": 2, "250-999": 3, "1000+": 4}
    company_name, company_band = {}, {}
    if companies:
        for pk, name, band in Company.objects.filter(id__range=companies).values_list("id", "name", "size_band"):
            company_name[pk] = name
            company_band[pk] = bands.get(band, 0)
    company = np.array([c or 0 for c in columns[1]], dtype=np.int64)
    currency_index = {c: i for i, c in enumerate(PRICE_CURRENCIES)}
    country = list(columns[8])
    colleagues: dict[int, list[int]] = {}
    for i, c in enumerate(company.tolist()):
        if c:
            colleagues.setdefault(c, []).append(i)
    return People(
        ids=np.array(columns[0], dtype=np.int64), company=company,
        owner=np.array([o or 0 for o in columns[2]], dtype=np.int64),
        team=np.array([t or 0 for t in columns[3]], dtype=np.int64),
        stage=np.array(columns[4], dtype=object), source=list(columns[5]), start=np.array(columns[6], dtype=np.int64),
        updated=np.array(columns[7], dtype=np.int64), country=country,
        currency=np.array([currency_index["USD" if c == "US" else "GBP" if c == "GB" else "EUR"] for c in country],
                          dtype=np.int64),
        full_name=[f"{f} {la}".strip() for f, la in zip(columns[9], columns[10], strict=True)],
        band=np.array([company_band.get(c, 0) for c in company.tolist()], dtype=np.int64),
        company_name=company_name, colleagues=colleagues)


def _next_ids(models) -> dict[str, int]:
    from rapport.demo.generator import _next_id

    return {key: _next_id(model) for key, model in models.items()}


def _proposal_numbers():
    """Numbers per year after the year's last existing one, as the proposals service numbers
    them (Q-2026-0001, ...)."""
    following: dict[int, int] = {}

    def take(year: int) -> str:
        if year not in following:
            prefix = f"Q-{year}-"
            used = [n[len(prefix):] for n in Proposal.objects.filter(number__startswith=prefix)
                    .values_list("number", flat=True)]
            following[year] = max((int(n) for n in used if n.isdigit()), default=0) + 1
        number = following[year]
        following[year] += 1
        return f"Q-{year}-{number:04d}"
    return take


def _order_prefix() -> str:
    """"demo-<order id>", unless someone's orders already use that prefix."""
    prefix, n = "demo-", 2
    while Order.objects.filter(external_id__startswith=prefix).exists():
        prefix, n = f"demo{n}-", n + 1
    return prefix


def load_sales(*, contacts: tuple[int, int], companies: tuple[int, int] | None, ids: dict[str, int], seed: int,
               now: int, created: dict, clock) -> SalesSummary:
    """Pipelines, products, deals, proposals and orders for the contacts with ids in `contacts`.

    `ids` holds the next event, activity and audit ids of the load and is advanced past what is
    written here, so the load's id ranges cover these rows too. `created` gets the ids of the
    reference rows made here (pipelines, categories, products, rates)."""
    from rapport.demo.generator import STAGE_LABEL, _Writer

    began, cpu_began = time.perf_counter(), time.process_time()
    rng = np.random.default_rng([seed, SALES_STREAM])
    summary = SalesSummary()
    catalogue = ensure_catalogue(now=now, created=created, rng=rng)
    people = read_people(contacts, companies)
    roles = {spec.role: i for i, spec in enumerate(catalogue.pipelines)}
    n_people = len(people.ids)
    if not n_people:
        return summary
    total_deals = round(n_people * DEALS_PER_CONTACT)

    # who wins: a base rate times the seller's and the source's multipliers
    users = dict(get_user_model().objects.filter(pk__in=set(people.owner.tolist())).values_list("pk", "username"))
    sellers = sorted(users, key=lambda pk: users[pk])
    multiplier = D.seller_multipliers(rng, sellers)
    seller_m = np.array([multiplier.get(o, 1.0) for o in people.owner.tolist()])
    source_m = np.array([D.SOURCE_WIN_MULTIPLIER.get(s, 1.0) for s in people.source])
    win_rate = np.clip(D.NB_BASE_WIN_RATE * seller_m * source_m, 0.03, 0.9)

    plans = []
    if "new_business" in roles:
        nb = D.plan_new_business(rng, catalogue, roles["new_business"], people,
                                 round(total_deals * D.PIPELINE_SHARE["new_business"]), now, win_rate)
        plans.append(nb)

    # customers: everyone whose stage says so, and whoever won a new-business deal (bought then)
    birth = np.full(n_people, np.nan)
    drawn_birth = people.start + rng.uniform(0.3, 0.95, n_people) * np.maximum(now - DAY - people.start, DAY)
    is_customer = np.isin(people.stage, CUSTOMER_STAGES)
    birth[is_customer] = drawn_birth[is_customer]
    if plans:
        won = np.flatnonzero(nb.status == D.WON)
        birth[nb.person[won]] = nb.closed[won]
    buyer_person = np.flatnonzero(~np.isnan(birth))
    buyers, purchases = O.simulate(rng, person=buyer_person, company=people.company[buyer_person],
                                   birth=birth[buyer_person], now=now)
    buyer_of = np.full(n_people, -1)
    buyer_of[buyer_person] = np.arange(len(buyer_person))
    first_purchase = np.flatnonzero(purchases.seq == 0)
    taken = np.zeros(len(purchases.time), dtype=bool)
    if plans:
        nb.purchase[won] = first_purchase[buyer_of[nb.person[won]]]
        taken[nb.purchase[won]] = True
    for role in ("renewal", "upsell"):
        if role in roles:
            plan = D.plan_account_deals(rng, catalogue, roles[role], round(total_deals * D.PIPELINE_SHARE[role]), now,
                                        buyers, purchases, taken)
            if plan is not None:
                plans.append(plan)
    plan = D.Plan.join(plans) if plans else None
    n_deals = len(plan) if plan is not None else 0

    # baskets: one per purchase (0..P-1), then one per deal that did not become a purchase
    P = len(purchases.time)
    deal_role = np.array([catalogue.pipelines[p].role for p in plan.pipeline] if n_deals else [], dtype=object)
    deal_purchase = plan.purchase if n_deals else np.zeros(0, dtype=np.int64)
    own = deal_purchase < 0
    deal_basket = np.where(own, P + np.cumsum(own) - 1, deal_purchase)
    purchase_deal = np.full(P, -1)
    purchase_deal[deal_purchase[~own]] = np.flatnonzero(~own)
    p_person = buyers.person[purchases.customer]
    role_prefs = {role: np.array(w, dtype=float) / sum(w) for role, w in PIPELINE_CATEGORIES.items()}
    linked_role = np.where(purchase_deal >= 0, deal_role[np.maximum(purchase_deal, 0)] if n_deals else "", "")
    p_value = O.repeat_spend(rng, buyers, purchases.customer)
    p_first_deal = O.deal_value(rng, people.band[p_person])
    p_value = np.where(linked_role == "new_business", p_first_deal, p_value)
    p_prefs = buyers.prefs[purchases.customer].copy()
    for role, weights in role_prefs.items():
        p_prefs[linked_role == role] = weights
    d_own = np.flatnonzero(own)
    d_person = plan.person[d_own] if n_deals else np.zeros(0, dtype=np.int64)
    d_role = deal_role[d_own]
    d_buyer = buyer_of[d_person]
    d_value = np.where(d_role == "new_business", O.deal_value(rng, people.band[d_person]),
                       O.repeat_spend(rng, buyers, np.maximum(d_buyer, 0)) if len(buyers.person) else 0.0)
    d_prefs = np.array([role_prefs[r] for r in d_role.tolist()]).reshape(len(d_own), len(role_prefs["renewal"]))
    lines = O.baskets(
        rng, catalogue,
        value_eur=np.concatenate([p_value, d_value]),
        currency=np.concatenate([people.currency[p_person], people.currency[d_person]]),
        when=np.concatenate([purchases.time, plan.created[d_own] if n_deals else np.zeros(0)]),
        prefs=np.concatenate([p_prefs, d_prefs]),
        lines=np.concatenate([1 + rng.binomial(3, np.where(purchase_deal >= 0, 0.5, 0.3)),
                              1 + rng.binomial(3, 0.5, len(d_own))]),
        discounted=np.concatenate([purchase_deal >= 0, np.ones(len(d_own), dtype=bool)]), now=now)
    channel = O.order_channels(rng, buyers, purchases.customer)
    subscription = linked_role == "renewal"

    # rows
    first = _next_ids(TABLES)
    tables = new_tables()
    written: dict[str, dict] = {}
    deal_ids = np.zeros(0, dtype=np.int64)
    if n_deals:
        deals = deal_rows(rng, plan=plan, catalogue=catalogue, people=people, lines=lines, deal_basket=deal_basket,
                          first_id=first["deal"], now=now, clock=clock, tables=tables, first_activity=ids["activity"])
        deal_ids = deals["deal_ids"]
        written |= {"deal": deals["deal"], "deal_contact": deals["deal_contact"], "deal_line_item": deals["line_item"],
                    "activity": deals["activity"]}
        written |= proposal_rows(rng, plan=plan, catalogue=catalogue, people=people, lines=lines,
                                 deal_basket=deal_basket, deals=deals, first_id=first["proposal"],
                                 first_line_id=first["proposal_line"], now=now, clock=clock, tables=tables,
                                 number_start=_proposal_numbers())
    orders = order_rows(purchases=purchases, buyers=buyers, people=people, catalogue=catalogue, lines=lines,
                        channel=channel, purchase_deal=purchase_deal, deal_ids=deal_ids, subscription=subscription,
                        first_id=first["order"], first_line_id=first["order_line"], prefix=_order_prefix(),
                        clock=clock, tables=tables)
    written |= {"order": orders["order"], "order_line": orders["order_line"]}

    # lifecycle stages follow the purchases (an observable rule: no purchase for a year = former)
    base = people.stage[buyers.person]
    lapsed = now - buyers.last > O.LAPSED_DAYS * DAY
    final = np.where(lapsed, "former_customer", np.where(base == "advocate", "advocate", "customer"))
    changed = np.flatnonzero(final != base)
    when = np.where(lapsed, buyers.last + O.LAPSED_DAYS * DAY,
                    np.where(np.isin(base, CUSTOMER_STAGES), buyers.last, buyers.birth)).astype(np.int64)[changed]
    c_person = buyers.person[changed]
    c_from, c_to = base[changed].tolist(), final[changed].tolist()
    tables["event"].add(kind="stage_change", time=when, actor_id=None, contact_id=people.ids[c_person],
                        company_id=ids_or_none(people.company[c_person]), deal_id=None, activity_id=None,
                        summary=[f"Stage {STAGE_LABEL[a]} → {STAGE_LABEL[b]}" for a, b in zip(c_from, c_to, strict=True)],
                        payload=[f'{{"from": "{a}", "to": "{b}"}}' for a, b in zip(c_from, c_to, strict=True)])
    tables["audit"].add(time=when, actor_id=None, action="update", record_type="people.contact",
                        record_id=people.ids[c_person],
                        changes=[json.dumps({"lifecycle_stage": [a, b]}) for a, b in zip(c_from, c_to, strict=True)])
    new_products = created.get("products", [])
    product_index = {int(pk): i for i, pk in enumerate(catalogue.product_ids.tolist())}
    tables["audit"].add(time=[now - 800 * DAY] * len(new_products), actor_id=None, action="create",
                        record_type="sales.product", record_id=new_products,
                        changes=[json.dumps({"sku": [None, catalogue.product_skus[product_index[pk]]],
                                             "name": [None, catalogue.product_names[product_index[pk]]]},
                                            ensure_ascii=False) for pk in new_products])
    contact_updates = [(stage, t, int(pk)) for stage, t, pk in zip(
        c_to, clock(np.maximum(when, people.updated[c_person])), people.ids[c_person].tolist(), strict=True)]

    written["event"] = _events(tables["event"], ids["event"], clock)
    written["audit"] = _audit(tables["audit"], ids["audit"], clock)
    order_count = len(written["order"]["id"])
    with _indexes_out_of_the_way(order_count), transaction.atomic():
        for key, model in (*TABLES.items(), ("activity", Activity), ("event", Event), ("audit", AuditEntry)):
            if key in written:
                _Writer(model).insert(written[key])
        table = connection.ops.quote_name(Contact._meta.db_table)
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {table} SET lifecycle_stage = %s, updated_at = %s WHERE id = %s",
                               contact_updates)
            if connection.vendor == "postgresql":
                for sql in connection.ops.sequence_reset_sql(no_style(), list(TABLES.values())):
                    cursor.execute(sql)

    for key in TABLES:
        rows = len(written.get(key, {}).get("id", ())) if key in written else 0
        if rows:
            summary.id_ranges[key] = [first[key], first[key] + rows - 1]
    summary.activities = len(written.get("activity", {}).get("id", ()))
    summary.events = len(written["event"]["id"])
    summary.audit_entries = len(written["audit"]["id"])
    ids["activity"] += summary.activities
    ids["event"] += summary.events
    ids["audit"] += summary.audit_entries
    status = plan.status if n_deals else np.zeros(0)
    summary.counts = {
        "pipelines": len(catalogue.pipelines), "products": len(catalogue.product_ids),
        "exchange_rates": catalogue.exchange_rates, "deals": n_deals, "open_deals": int((status == D.OPEN).sum()),
        "won_deals": int((status == D.WON).sum()), "lost_deals": int((status == D.LOST).sum()),
        "deal_contacts": len(written.get("deal_contact", {}).get("deal_id", ())),
        "line_items": len(written.get("deal_line_item", {}).get("deal_id", ())),
        "proposals": len(written.get("proposal", {}).get("id", ())),
        "proposal_lines": len(written.get("proposal_line", {}).get("id", ())),
        "orders": order_count, "order_lines": len(written["order_line"]["id"]), "customers": len(buyers.person),
        "lifecycle_changes": len(changed), "deal_activities": summary.activities,
    }
    summary.counts["rows"] = sum(summary.counts[k] for k in ("deals", "deal_contacts", "line_items", "proposals",
                                                              "proposal_lines", "orders", "order_lines"))
    summary.parameters = _parameters(catalogue, multiplier, users, buyers)
    summary.counts["seconds"] = round(time.perf_counter() - began, 2)
    summary.counts["cpu_seconds"] = round(time.process_time() - cpu_began, 2)
    return summary


def _events(table: Table, first_id: int, clock) -> dict:
    c = table.columns
    n = len(table)
    return {"id": list(range(first_id, first_id + n)), "kind": c["kind"],
            "occurred_at": clock(np.asarray(c["time"], dtype=np.int64)), "actor_id": c["actor_id"],
            "contact_id": c["contact_id"], "company_id": c["company_id"], "deal_id": c["deal_id"],
            "activity_id": c["activity_id"], "summary": [s[:300] for s in c["summary"]], "payload": c["payload"]}


def _audit(table: Table, first_id: int, clock) -> dict:
    c = table.columns
    n = len(table)
    return {"id": list(range(first_id, first_id + n)), "at": clock(np.asarray(c["time"], dtype=np.int64)),
            "actor_id": c["actor_id"], "action": c["action"], "record_type": c["record_type"],
            "record_id": c["record_id"], "changes": c["changes"], "source": ["demo"] * n}


class _indexes_out_of_the_way:
    """SQLite, big loads: the sales tables' secondary indexes are built once at the end (the
    unique ones stay: an order's external id must stay unique against what users imported)."""

    def __init__(self, rows: int):
        self.rows = rows
        self.dropped: list[str] = []

    def __enter__(self):
        if connection.vendor == "sqlite" and self.rows >= BIG_LOAD and Order.objects.count() < self.rows:
            self.dropped = drop_secondary_indexes(list(TABLES.values()), keep_unique=True)
        return self

    def __exit__(self, *exc):
        restore_indexes(self.dropped)
        return False


def _parameters(catalogue: Catalogue, multiplier: dict, users: dict, buyers) -> dict:
    """The generating parameters and the hidden truth in summary, for tests of the insights."""
    return {
        "deals": {
            "per_contact": DEALS_PER_CONTACT, "pipeline_share": D.PIPELINE_SHARE,
            "new_business_win_rate": {"base": D.NB_BASE_WIN_RATE,
                                      "seller_multiplier": {users[pk]: m for pk, m in multiplier.items()},
                                      "source_multiplier": D.SOURCE_WIN_MULTIPLIER, "clip": [0.03, 0.9]},
            "stage_days": {"sigma": D.STAGE_SIGMA, "lost_stage_stretch": D.LOST_STAGE_STRETCH,
                           "median": {p.name: dict(zip(p.stage_names, p.median_days, strict=True))
                                      for p in catalogue.pipelines}},
            "lost_stage_decay": D.LOST_STAGE_DECAY, "account_deal_mix": D.ACCOUNT_DEAL_MIX,
        },
        "orders": O.parameters(),
        "customers": {
            "buyers": len(buyers.person), "one_time": int((buyers.repeats == 0).sum()),
            "repeat": int((buyers.repeats > 0).sum()), "dropped_out": int(buyers.dead.sum()),
            "mean_lambda": round(float(buyers.lam.mean()), 5) if len(buyers.lam) else None,
            "mean_p": round(float(buyers.p.mean()), 4) if len(buyers.p) else None,
        },
    }
