"""Demo leads with a story a model can find, and how to undo them.

Every new-business deal of the demo began as a lead (converted, linked both ways); beside them
are leads that were disqualified or sent to nurture and a few weeks of open leads. The signal is
real and written down here:

- Source: deals from referrals and partners win more often (the sales demo's source multipliers),
  and disqualified leads come more often from cold outreach, imports and paid search.
- Fit: disqualified and nurtured leads are drawn three times as often from companies outside
  the ideal profile (industry, size) the demo's fit rules describe.
- Speed: won deals' leads were answered within a couple of hours on average, lost ones in
  about half a day, disqualified ones in more than a day (a third never).
- Qualification facts: budgets, buying roles and timelines are better for the leads that won.

The first load also writes the demo's fit rules (unless some exist), then trains the model and
scores the open leads, so the evaluation page and the queue have something to show.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
from django.db import connection, transaction

from rapport.leads.models import DisqualifyReason, FitRule, Lead
from rapport.people.models import Company, Contact
from rapport.sales.models import Deal, DealContact, Pipeline, ProductCategory
from rapport.timeline.models import Event

LEADS_STREAM = 5
HOUR, DAY = 3600, 86_400
SOURCE_OF = {"website": "web_form", "webinar": "campaign", "referral": "referral", "trade show": "event",
             "paid search": "tracking", "linkedin": "campaign", "cold outreach": "manual", "partner": "referral",
             "newsletter": "campaign", "import": "import"}
POOR_SOURCES = {"cold outreach", "import", "paid search"}
IDEAL_INDUSTRIES = ["Software", "Financial services", "Healthcare"]
IDEAL_SIZES = ["50-249", "250-999", "1000+"]
IDEAL_NEEDS = ["Software licences", "Consulting"]
# Mean hours to the first answer, by how the lead ended.
RESPONSE_MEAN_HOURS = {"won": 1.5, "lost": 12.0, "open_deal": 5.0, "dropped": 30.0}
AUTHORITIES = ["decision_maker", "champion", "user", "finance", "other", ""]
AUTHORITY_MIX = {"won": [50, 25, 8, 10, 4, 3], "lost": [22, 20, 25, 8, 10, 15], "dropped": [8, 10, 25, 4, 18, 35]}
TIMELINES = ["now", "quarter", "half_year", "year", "later", ""]
TIMELINE_MIX = {"won": [35, 40, 12, 5, 2, 6], "lost": [12, 25, 25, 15, 8, 15], "dropped": [3, 8, 15, 20, 24, 30]}
BUDGET_GIVEN = {"won": 0.85, "lost": 0.55, "dropped": 0.2}


@dataclass
class LeadsSummary:
    counts: dict = field(default_factory=dict)
    id_ranges: dict = field(default_factory=dict)
    events: int = 0


def _q(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _epoch(column: str) -> str:
    if connection.vendor == "sqlite":
        return f"CAST(strftime('%%s', {column}) AS INTEGER)"
    return f"CAST(EXTRACT(EPOCH FROM {column}) AS BIGINT)"


def _pick(rng, options: list, weights: list, n: int) -> list:
    w = np.array(weights, dtype=float)
    return [options[i] for i in rng.choice(len(options), n, p=w / w.sum()).tolist()]


def _demo_fit_rules(created: dict) -> None:
    """The demo's ideal customer, unless the installation already describes its own."""
    from rapport.leads.scoring.rules import clean_fit_rule

    if FitRule.objects.filter(deleted_at__isnull=True).exists():
        return
    needs = list(ProductCategory.objects.filter(name__in=IDEAL_NEEDS).values_list("pk", flat=True))
    made = []
    for data in ({"attribute": "industry", "values": IDEAL_INDUSTRIES, "weight": 30},
                 {"attribute": "size_band", "values": IDEAL_SIZES, "weight": 30},
                 {"attribute": "budget", "number": "10000", "currency": "EUR", "weight": 25},
                 *([{"attribute": "need", "values": needs, "weight": 15}] if needs else [])):
        made.append(FitRule.objects.create(**clean_fit_rule(data)).pk)
    created["fit_rules"] = made


def _read(contacts: tuple[int, int], deals: tuple[int, int] | None) -> tuple[dict, dict]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT c.id, COALESCE(c.company_id, 0), COALESCE(c.owner_id, 0), COALESCE(c.team_id, 0), c.source, "
            f"{_epoch('c.created_at')}, COALESCE(co.industry, ''), COALESCE(co.size_band, '') "
            f"FROM {_q(Contact)} c LEFT JOIN {_q(Company)} co ON co.id = c.company_id "
            "WHERE c.id BETWEEN %s AND %s AND c.deleted_at IS NULL ORDER BY c.id", list(contacts))
        rows = cursor.fetchall()
        deal_rows = []
        if deals:
            cursor.execute(
                f"SELECT d.id, MIN(dc.contact_id), d.status, {_epoch('d.created_at')}, "
                f"CAST(d.amount AS DOUBLE PRECISION), d.currency FROM {_q(Deal)} d "
                f"JOIN {_q(Pipeline)} p ON p.id = d.pipeline_id JOIN {_q(DealContact)} dc ON dc.deal_id = d.id "
                "WHERE d.id BETWEEN %s AND %s AND p.kind = 'new_business' "
                "GROUP BY d.id, d.status, d.created_at, d.amount, d.currency ORDER BY d.id", list(deals))
            deal_rows = cursor.fetchall()
    c = list(zip(*rows, strict=True)) if rows else [[]] * 8
    people = {"id": np.array(c[0], dtype=np.int64), "company": np.array(c[1], dtype=np.int64),
              "owner": np.array(c[2], dtype=np.int64), "team": np.array(c[3], dtype=np.int64),
              "source": np.array(c[4], dtype=object), "start": np.array(c[5], dtype=np.int64),
              "industry": np.array(c[6], dtype=object), "size": np.array(c[7], dtype=object)}
    d = list(zip(*deal_rows, strict=True)) if deal_rows else [[]] * 6
    deal = {"id": np.array(d[0], dtype=np.int64), "contact": np.array(d[1], dtype=np.int64),
            "status": np.array(d[2], dtype=object), "created": np.array(d[3], dtype=np.int64),
            "amount": np.array(d[4], dtype=float), "currency": np.array(d[5], dtype=object)}
    return people, deal


def load_leads(*, contacts: tuple[int, int], deals: tuple[int, int] | None, ids: dict[str, int], seed: int,
               now: int, created: dict, clock) -> LeadsSummary:
    """Leads for the demo contacts in `contacts` and the new-business deals in `deals`.

    `ids["event"]` is advanced past the lead events written here (the load's event range covers
    them); the leads' own id ranges are returned."""
    from rapport.demo.generator import _next_id, _Writer

    summary = LeadsSummary()
    rng = np.random.default_rng([seed, LEADS_STREAM])
    _demo_fit_rules(created)
    people, deal = _read(contacts, deals)
    n_people = len(people["id"])
    if not n_people:
        return summary
    index_of = {int(pk): i for i, pk in enumerate(people["id"].tolist())}
    good_fit = np.isin(people["industry"], IDEAL_INDUSTRIES) | np.isin(people["size"], IDEAL_SIZES)
    poor_source = np.isin(people["source"], list(POOR_SOURCES))
    reasons = list(DisqualifyReason.objects.filter(active=True).values_list("pk", flat=True))
    needs = dict(ProductCategory.objects.values_list("name", "pk"))
    ideal_needs = [needs[n] for n in IDEAL_NEEDS if n in needs]
    other_needs = [pk for name, pk in needs.items() if name not in IDEAL_NEEDS]

    # a) converted: one lead per new-business deal
    d_person = np.array([index_of.get(int(c), -1) for c in deal["contact"].tolist()], dtype=np.int64)
    keep = d_person >= 0
    d_person = d_person[keep]
    d_ids, d_status, d_created = deal["id"][keep], deal["status"][keep], deal["created"][keep]
    d_amount, d_currency = deal["amount"][keep], deal["currency"][keep]
    k = len(d_ids)
    outcome = np.where(d_status == "won", "won", np.where(d_status == "lost", "lost", "open_deal"))
    lead_start = np.maximum(people["start"][d_person] + 60, d_created - (HOUR + rng.random(k) * 10 * DAY)).astype(
        np.int64)
    lead_start = np.minimum(lead_start, d_created)
    mean_hours = np.array([RESPONSE_MEAN_HOURS[o] for o in outcome.tolist()])
    response = np.minimum(lead_start + rng.exponential(mean_hours * HOUR), d_created).astype(np.int64)
    qualified = np.clip(d_created - (rng.random(k) * DAY).astype(np.int64), response, d_created)

    # b) dropped (disqualified or nurture) and c) open leads, on contacts without a deal lead
    taken = np.zeros(n_people, dtype=bool)
    taken[d_person] = True
    n_dropped = min(int(round(1.5 * max(k, 20))), int((~taken).sum()) // 2)
    weight = np.where(good_fit, 1.0, 3.0) * np.where(poor_source, 2.0, 1.0) * ~taken
    dropped = np.sort(rng.choice(n_people, n_dropped, replace=False, p=weight / weight.sum())) if n_dropped else \
        np.zeros(0, dtype=np.int64)
    taken[dropped] = True
    n_open = min(max(20, int(round(0.4 * max(k, 20)))), int((~taken).sum()))
    free = np.flatnonzero(~taken)
    open_people = np.sort(rng.choice(free, n_open, replace=False)) if n_open else np.zeros(0, dtype=np.int64)

    m = len(dropped)
    # dropped leads arrive over the same months as the converted ones (else the newest outcomes
    # would all be drops and the holdout would test a different mix than training saw)
    spread = people["start"][dropped] + rng.random(m) * np.maximum(now - 21 * DAY - people["start"][dropped], DAY)
    like_converted = rng.choice(lead_start, m) + rng.normal(0, 15 * DAY, m) if k else spread
    drop_created = np.clip(np.where(rng.random(m) < 0.7, like_converted, spread), people["start"][dropped] + 60,
                           now - 21 * DAY).astype(np.int64)
    drop_answered = rng.random(m) > 0.33
    drop_response = (drop_created + rng.exponential(RESPONSE_MEAN_HOURS["dropped"] * HOUR, m)).astype(np.int64)
    drop_closed = drop_created + (DAY + rng.random(m) * 20 * DAY).astype(np.int64)
    nurture = rng.random(m) < 0.25

    o = len(open_people)
    open_created = np.maximum(people["start"][open_people], now - (rng.random(o) * 30 * DAY).astype(np.int64))
    open_status = np.array(_pick(rng, ["new", "working", "qualified"], [45, 40, 15], o), dtype=object)
    open_answered = (open_status != "new") | (rng.random(o) < 0.3)
    open_response = np.minimum(open_created + rng.exponential(6 * HOUR, o), now).astype(np.int64)
    open_kind = np.where(good_fit[open_people] & (rng.random(o) < 0.6), "won", "dropped")  # their likely story

    # columns for all leads: converted, dropped, open
    person = np.concatenate([d_person, dropped, open_people])
    story = np.concatenate([outcome, np.full(m, "dropped"), open_kind]).astype(object)
    n = len(person)
    facts_story = np.where(np.isin(story, ["won"]), "won", np.where(story == "dropped", "dropped", "lost"))
    authority = np.empty(n, dtype=object)
    timeline = np.empty(n, dtype=object)
    budget_given = np.zeros(n, dtype=bool)
    for kind in ("won", "lost", "dropped"):
        rows = np.flatnonzero(facts_story == kind)
        authority[rows] = _pick(rng, AUTHORITIES, AUTHORITY_MIX[kind], len(rows))
        timeline[rows] = _pick(rng, TIMELINES, TIMELINE_MIX[kind], len(rows))
        budget_given[rows] = rng.random(len(rows)) < BUDGET_GIVEN[kind]
    typical = np.concatenate([d_amount * rng.uniform(0.7, 1.4, k),
                              np.exp(rng.normal(8.0, 1.0, m)), np.exp(rng.normal(9.3, 1.2, o))])
    currency = np.concatenate([d_currency, np.full(m + o, "EUR")]).astype(object)
    created_at = np.concatenate([lead_start, drop_created, open_created])
    status = np.concatenate([np.full(k, "converted"), np.where(nurture, "nurture", "disqualified"),
                             open_status]).astype(object)
    first_response = [*response.tolist(), *[r if a else None for r, a in zip(drop_response.tolist(),
                                                                               drop_answered.tolist(), strict=True)],
                      *[r if a else None for r, a in zip(open_response.tolist(), open_answered.tolist(),
                                                         strict=True)]]
    sources = [SOURCE_OF.get(s, "manual") for s in people["source"][person].tolist()]
    first_id = _next_id(Lead)
    lead_ids = np.arange(first_id, first_id + n)

    def times(values) -> list:
        return [None if v is None else t for v, t in zip(values, clock(np.array([v or 0 for v in values])),
                                                         strict=True)]

    stamp = clock(created_at)
    columns = {
        "id": lead_ids.tolist(), "created_at": stamp, "updated_at": stamp,
        "created_by_id": [int(x) or None for x in people["owner"][person].tolist()],
        "contact_id": people["id"][person].tolist(),
        "company_id": [int(x) or None for x in people["company"][person].tolist()],
        "title": [f"{s.replace('_', ' ').capitalize()} inquiry" for s in sources], "source": sources,
        "status": status.tolist(),
        "owner_id": [int(x) or None for x in people["owner"][person].tolist()],
        "team_id": [int(x) or None for x in people["team"][person].tolist()],
        "first_touch_at": stamp, "first_response_at": times(first_response),
        "qualified_at": times([*qualified.tolist(), *([None] * m),
                               *[int(t) if s == "qualified" else None for t, s in zip(
                                   open_response.tolist(), open_status.tolist(), strict=True)]]),
        "converted_at": times([*d_created.tolist(), *([None] * (m + o))]),
        "disqualified_at": times([*([None] * k), *drop_closed.tolist(), *([None] * o)]),
        "budget_amount": [round(float(a), -2) if g else None for a, g in zip(typical.tolist(), budget_given.tolist(),
                                                                              strict=True)],
        "budget_currency": [c if g else "" for c, g in zip(currency.tolist(), budget_given.tolist(), strict=True)],
        "authority": authority.tolist(), "timeline": timeline.tolist(),
        "need": ["" if rng.random() < 0.5 else "Looking for a better way to follow up with customers"
                 for _ in range(n)],
        "disqualify_reason_id": [*([None] * k),
                                 *([reasons[i] for i in rng.integers(0, len(reasons), m).tolist()] if reasons
                                   else [None] * m), *([None] * o)],
        "deal_id": [*d_ids.tolist(), *([None] * (m + o))],
    }
    # need categories: the ideal ones more often for the leads that won
    wants_ideal = rng.random(n) < np.where(facts_story == "won", 0.75, np.where(facts_story == "lost", 0.45, 0.2))
    has_need = rng.random(n) < 0.7
    need_lead, need_category = [], []
    if ideal_needs or other_needs:
        for i in np.flatnonzero(has_need).tolist():
            pool = ideal_needs if (wants_ideal[i] and ideal_needs) or not other_needs else other_needs
            need_lead.append(int(lead_ids[i]))
            need_category.append(pool[int(rng.integers(len(pool)))])
    through = Lead.need_categories.through
    first_need = _next_id(through)
    event_ids = list(range(ids["event"], ids["event"] + n))
    events = {
        "id": event_ids, "kind": ["lead"] * n, "occurred_at": stamp,
        "actor_id": [None] * n, "contact_id": columns["contact_id"], "company_id": columns["company_id"],
        "summary": [f"New lead ({s.replace('_', ' ')})" for s in sources],
        "payload": [json.dumps({"lead": int(i), "action": "created", "source": s})
                    for i, s in zip(lead_ids.tolist(), sources, strict=True)],
    }
    with transaction.atomic():
        _Writer(Lead).insert(columns)
        _Writer(through).insert({"id": list(range(first_need, first_need + len(need_lead))), "lead_id": need_lead,
                                 "productcategory_id": need_category})
        _Writer(Event).insert(events)
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {_q(Deal)} SET lead_id = %s WHERE id = %s",
                               list(zip(lead_ids[:k].tolist(), d_ids.tolist(), strict=True)))
    ids["event"] += n
    summary.events = n
    summary.id_ranges["lead"] = [first_id, first_id + n - 1]
    if need_lead:
        summary.id_ranges["lead_need"] = [first_need, first_need + len(need_lead) - 1]
    summary.counts = {"leads": n, "converted": k, "won": int((outcome == "won").sum()),
                      "lost": int((outcome == "lost").sum()), "disqualified": int((~nurture).sum()),
                      "nurture": int(nurture.sum()), "open": o}
    return summary


def train_and_score(created: dict) -> dict:
    """Train the lead model on the demo's closed leads and score the open ones (rule scores when
    there are too few outcomes, as in a real installation)."""
    from rapport.leads.scoring.services import score_open_leads, train_model

    row = train_model()
    created.setdefault("score_models", []).append(row.pk)
    run = score_open_leads()
    from rapport.leads.routing.demo import start_demo_clocks

    start_demo_clocks()  # the first-response deadlines routing would have set (the queue's overdue ones)
    return {"model": row.version if row.status == "ready" else "rules", "outcomes": row.outcomes,
            "roc_auc": (row.metrics or {}).get("roc_auc"), "scored": run.leads}


def reset_leads(dataset, cursor) -> None:
    """Remove the demo's leads (and anyone's leads on demo contacts, which go with the contact),
    the rows that point at them, and the fit rules and model versions the demo made."""
    from rapport.leads.models import ScoreModel

    ranges, created = dataset.id_ranges, dataset.created
    contact = ranges.get("contact")
    lead_range = ranges.get("lead")
    if not (contact or lead_range):
        return
    lead = _q(Lead)
    none = [0, -1]
    chosen = (f"SELECT id FROM {lead} WHERE id BETWEEN %s AND %s OR contact_id BETWEEN %s AND %s")
    args = [*(lead_range or none), *(contact or none)]
    q = connection.ops.quote_name
    for relation in Lead._meta.related_objects:
        model, column = relation.related_model, relation.field.column
        if relation.many_to_many:
            continue
        table = q(model._meta.db_table)
        if relation.on_delete.__name__ == "CASCADE":
            cursor.execute(f"DELETE FROM {table} WHERE {q(column)} IN ({chosen})", args)
        else:
            cursor.execute(f"UPDATE {table} SET {q(column)} = NULL WHERE {q(column)} IN ({chosen})", args)
    for m2m in Lead._meta.many_to_many:
        through = q(m2m.remote_field.through._meta.db_table)
        cursor.execute(f"DELETE FROM {through} WHERE lead_id IN ({chosen})", args)
    cursor.execute(f"UPDATE {_q(Deal)} SET lead_id = NULL WHERE lead_id IN ({chosen})", args)
    cursor.execute(f"DELETE FROM {lead} WHERE id IN ({chosen})", args)
    FitRule.objects.filter(pk__in=created.get("fit_rules", [])).delete()
    ScoreModel.objects.filter(pk__in=created.get("score_models", [])).delete()
