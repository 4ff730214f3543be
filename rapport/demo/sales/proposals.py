"""Quotes for the demo deals: numbered per year and versioned, with lines, discounts and tax
computed as the proposals service computes them, and their sent / accepted / declined events."""

from __future__ import annotations

import datetime as dt
import json
import secrets

import numpy as np

from .catalogue import DAY, TAX_PERCENT, Catalogue
from .deals import LOST, OPEN, WON, Plan
from .rows import Table, cents_text, dates, shown

STATES = ("", "sent", "accepted", "declined")  # the last version's status, by its code


def proposal_rows(rng: np.random.Generator, *, plan: Plan, catalogue: Catalogue, people, lines,
                  deal_basket: np.ndarray, deals: dict, first_id: int, first_line_id: int, now: int, clock,
                  tables: dict[str, Table], number_start) -> dict:
    """Quotes: for most won deals (accepted), for open deals that reached the proposal stage
    (sent) and for some lost there (declined). Earlier versions, at list price, are superseded."""
    n = len(plan)
    specs = catalogue.pipelines
    prop_stage = np.array([specs[p].proposal_stage for p in plan.pipeline], dtype=int)
    reached = plan.stage >= prop_stage
    u = rng.random(n)
    status = np.select([(plan.status == WON) & (u < 0.85), (plan.status == OPEN) & reached & (u < 0.8),
                        (plan.status == LOST) & reached & (u < 0.7)], [2, 1, 3], 0)  # 1 sent 2 accepted 3 declined
    chosen = np.flatnonzero(status > 0)
    versions = 1 + (rng.random(n) < 0.3) + (rng.random(n) < 0.08)
    discount_open = rng.choice([0, 0, 0, 3, 5], n)
    entries = deals["entries"]
    by_basket: dict[int, list[int]] = {}
    for j, b in enumerate(lines.basket.tolist()):
        by_basket.setdefault(b, []).append(j)
    quantity, unit, line_discount = lines.quantity.tolist(), lines.unit.tolist(), lines.discount.tolist()
    product_of = lines.product.tolist()
    product_ids = catalogue.product_ids.tolist()
    proposal = {k: [] for k in ("id", "created_by_id", "deal_id", "number", "version", "status", "currency",
                                "discount_percent", "tax_percent", "subtotal", "discount_total", "tax_total", "total",
                                "link_secret", "responder_name")}
    sent_times, answer_times = [], []
    pl = {k: [] for k in ("proposal_id", "product_id", "sku", "description", "quantity", "unit_price",
                          "discount_percent", "line_total", "position")}
    events, audit = tables["event"], tables["audit"]
    next_id = first_id
    e = {k: [] for k in ("time", "actor_id", "contact_id", "company_id", "deal_id", "summary", "payload")}
    a = {k: [] for k in ("time", "actor_id", "record_id", "changes")}
    for i in chosen.tolist():
        p = int(plan.person[i])
        contact, company = int(people.ids[p]), int(people.company[p]) or None
        owner = int(people.owner[p])
        deal_id = int(deals["deal_ids"][i])
        currency = deals["currency"][i]
        tax = TAX_PERCENT.get(people.country[p], 0)
        start = entries[i, prop_stage[i]]
        end = plan.closed[i] if plan.status[i] != OPEN else now - 3600
        k = int(versions[i])
        sent = np.sort(start + rng.random(k) * max(end - start, 0) * 0.9).astype(np.int64).tolist()
        number = number_start(dt.datetime.fromtimestamp(sent[0], dt.UTC).year)
        basket_lines = by_basket.get(int(deal_basket[i]), [])
        final = int(status[i])
        responder = people.full_name[p]
        for v in range(1, k + 1):
            latest = v == k
            disc = int(discount_open[i]) if latest and final == 1 else 0
            subtotal = 0
            for pos, j in enumerate(basket_lines):
                d = line_discount[j] if latest else 0
                total = quantity[j] * unit[j] * (100 - d) // 100
                subtotal += total
                product = product_of[j]
                pl["proposal_id"].append(next_id)
                pl["product_id"].append(product_ids[product])
                pl["sku"].append(catalogue.product_skus[product])
                pl["description"].append(catalogue.product_names[product])
                pl["quantity"].append(quantity[j])
                pl["unit_price"].append(cents_text(unit[j]))
                pl["discount_percent"].append(d)
                pl["line_total"].append(cents_text(total))
                pl["position"].append(pos)
            discount_total = (subtotal * disc + 50) // 100
            tax_total = ((subtotal - discount_total) * tax + 50) // 100
            grand = subtotal - discount_total + tax_total
            sent_at = sent[v - 1]
            answered = int(end - rng.random() * min(DAY / 2, end - sent_at)) if latest and final > 1 else 0
            for key, value in (("id", next_id), ("created_by_id", owner), ("deal_id", deal_id), ("number", number),
                               ("version", v), ("status", "superseded" if not latest else STATES[final]),
                               ("currency", currency), ("discount_percent", disc), ("tax_percent", tax),
                               ("subtotal", cents_text(subtotal)), ("discount_total", cents_text(discount_total)),
                               ("tax_total", cents_text(tax_total)), ("total", cents_text(grand)),
                               ("link_secret", secrets.token_urlsafe(24)),
                               ("responder_name", responder if answered else "")):
                proposal[key].append(value)
            sent_times.append(sent_at)
            answer_times.append(answered)
            label = f"{number} v{v}"
            happenings = [(sent_at, "sent", f"Proposal {label} sent: {shown(grand, currency)}")]
            if answered and final == 2:
                happenings.append((answered, "accepted",
                                   f"Proposal {label} accepted by {responder}: {shown(grand, currency)}"))
            elif answered:
                happenings.append((answered, "declined", f"Proposal {label} declined by {responder}"))
            for when, action, summary in happenings:
                e["time"].append(when)
                e["actor_id"].append(owner if action == "sent" else None)
                e["contact_id"].append(contact)
                e["company_id"].append(company)
                e["deal_id"].append(deal_id)
                e["summary"].append(summary)
                named = "" if action == "sent" else f", \"name\": {json.dumps(responder, ensure_ascii=False)}"
                e["payload"].append(f'{{"action": "{action}", "proposal": {next_id}, "number": "{number}", '
                                    f'"version": {v}{named}}}')
            a["time"].append(sent_at - 7200)
            a["actor_id"].append(owner)
            a["record_id"].append(next_id)
            a["changes"].append(f'{{"deal": [null, {deal_id}], "number": [null, "{number}"], "version": [null, {v}], '
                                f'"total": [null, "{cents_text(grand)}"]}}')
            next_id += 1
    count = len(proposal["id"])
    sent_arr, answer_arr = np.array(sent_times, dtype=np.int64), np.array(answer_times, dtype=np.int64)
    proposal |= {
        "created_at": clock(sent_arr - 7200), "updated_at": clock(np.maximum(sent_arr, answer_arr)),
        "deleted_at": [None] * count, "valid_until": dates(sent_arr + 30 * DAY), "notes": [""] * count,
        "sent_at": clock(sent_arr),
        "responded_at": [t if r else None for t, r in zip(clock(answer_arr), answer_times, strict=True)],
        "response_note": [""] * count,
    }
    pl["id"] = list(range(first_line_id, first_line_id + len(pl["proposal_id"])))
    events.add(kind="proposal", activity_id=None, **e)
    audit.add(action="create", record_type="sales.proposal", **a)
    return {"proposal": proposal, "proposal_line": pl}
