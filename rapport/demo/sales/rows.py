"""Table rows from the drawn plans: deals with their contacts, lines, activities and events;
orders with their lines and purchase events; audit entries (proposals: `proposals.py`).

Values take the stored form the sales services give them (event summaries and payloads, money
to the cent, proposal numbers per year), so the demo reads like data the app wrote itself.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

import numpy as np

from rapport.sales.models import DealRole, OrderChannel

from .catalogue import CALL_NOTES, DAY, MEETING_SUBJECTS, NEXT_STEPS, Catalogue
from .deals import OPEN, WON, Plan
from .orders import CHANNELS

ROLES_AFTER_FIRST = [DealRole.DECISION_MAKER, DealRole.USER, DealRole.FINANCE, DealRole.OTHER]
CHANNEL_LABEL = dict(OrderChannel.choices)
STALLED_SHARE = 0.2  # open deals nobody has touched for longer than their pipeline's stall days
COLLEAGUES = ["Alex Kim", "Jordan Lee", "Priya Patel", "Tom Becker", "Lucía Ortega", "Noah Fischer"]


def money(cents) -> list[str]:
    return [f"{c // 100}.{c % 100:02d}" for c in np.asarray(cents, dtype=np.int64).tolist()]


def cents_text(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def shown(cents: int, currency: str) -> str:
    return f"{cents // 100:,}.{cents % 100:02d} {currency}"


def dates(seconds) -> list[dt.date]:
    return np.asarray(seconds, dtype="int64").astype("datetime64[s]").astype("datetime64[D]").tolist()


def days_text(days: float) -> str:
    return "1 day" if round(days) == 1 else f"{days:.0f} days" if days >= 1 else "less than a day"


def ids_or_none(values) -> list:
    return [int(v) or None for v in np.asarray(values).tolist()]


class Table:
    """Columns gathered part by part, then handed to the generator's writer in one go."""

    def __init__(self, *names: str):
        self.columns: dict[str, list] = {n: [] for n in names}

    def add(self, **parts: Sequence) -> None:
        size = next(len(v) for v in parts.values() if not (isinstance(v, str | int | float | bool) or v is None))
        for name, column in self.columns.items():
            values = parts[name]
            if isinstance(values, str | int | float | bool) or values is None:
                column.extend([values] * size)
            elif isinstance(values, np.ndarray):
                column.extend(values.tolist())
            else:
                column.extend(values)

    def __len__(self) -> int:
        return len(next(iter(self.columns.values())))


def new_tables() -> dict[str, Table]:
    return {
        "event": Table("kind", "time", "actor_id", "contact_id", "company_id", "deal_id", "activity_id", "summary",
                       "payload"),
        "audit": Table("time", "actor_id", "action", "record_type", "record_id", "changes"),
    }


def deal_rows(rng: np.random.Generator, *, plan: Plan, catalogue: Catalogue, people, lines, deal_basket: np.ndarray,
              first_id: int, now: int, clock, tables: dict[str, Table], first_activity: int) -> dict:
    """Deals, their contacts, line items, activities and events. Returns the rows and what later
    parts need (deal ids, names, stage entries, last activity)."""
    n = len(plan)
    deal_ids = first_id + np.arange(n)
    person = plan.person
    specs = catalogue.pipelines
    entries = plan.entries()
    rows_n = np.arange(n)
    stage_entered = entries[rows_n, plan.stage]
    is_open = plan.status == OPEN

    # amounts and names from the basket lines
    size = int(max(lines.basket.max(initial=-1), deal_basket.max(initial=-1))) + 1
    amount = np.bincount(lines.basket, lines.total, minlength=size)[deal_basket].astype(np.int64)
    first_line = np.full(size, -1)
    present, first_index = np.unique(lines.basket, return_index=True)
    first_line[present] = first_index
    currency = [catalogue.currencies[c] for c in people.currency[person].tolist()]

    # activities: more the further a deal got; stalled open deals went quiet weeks ago
    stall_days = np.array([specs[p].stall_days for p in plan.pipeline])
    quiet_since = now - (stall_days + 2 + rng.random(n) * 60) * DAY
    stalled = is_open & (rng.random(n) < STALLED_SHARE) & (quiet_since > plan.created + DAY)
    window_end = np.where(is_open, np.where(stalled, quiet_since, now - 600), plan.closed)
    n_act = rng.poisson(0.8 + 0.7 * (plan.stage + 1))
    a_deal = np.repeat(rows_n, n_act)
    span = np.maximum(window_end - plan.created, 0)
    a_time = (plan.created[a_deal] + rng.random(len(a_deal)) * span[a_deal]).astype(np.int64)
    last_activity = plan.created.copy()
    np.maximum.at(last_activity, a_deal, a_time)
    a_meeting = rng.random(len(a_deal)) < 0.4
    a_minutes = np.where(a_meeting, rng.choice([30, 45, 60, 60, 90], len(a_deal)),
                         np.clip(rng.lognormal(2.6, 0.6, len(a_deal)), 3, 90).astype(int))
    a_text = rng.integers(0, 1 << 20, len(a_deal))
    a_colleague = rng.integers(0, len(COLLEAGUES), len(a_deal))

    # dates, probability, next steps
    planned_end = plan.created + np.cumsum(plan.durations, axis=1)[rows_n, [len(specs[p].stage_ids) - 1
                                                                             for p in plan.pipeline]]
    expected = np.where(is_open, planned_end + rng.normal(0, 7, n) * DAY,
                        plan.closed + rng.normal(-5, 12, n) * DAY)
    override = is_open & (rng.random(n) < 0.15)
    nudge = rng.choice([-15, -10, -5, 5, 10, 15], n)
    has_step = is_open & (rng.random(n) < 0.9)
    step_pick = rng.integers(0, 3, n)
    step_date = np.where(stalled, last_activity + 7 * DAY, now + rng.integers(1, 22, n) * DAY)
    won_pick = _zipf_pick(rng, len(catalogue.won_reasons), n)
    lost_pick = _zipf_pick(rng, len(catalogue.lost_reasons), n)
    primary_role = np.where(rng.random(n) < 0.55, DealRole.CHAMPION, DealRole.DECISION_MAKER)
    extra = rng.poisson(0.8, n)
    extra_pick = rng.random((n, 3))
    roles_pick = rng.integers(0, len(ROLES_AFTER_FIRST), (n, 3))

    deal = {k: [] for k in ("name", "stage_id", "pipeline_id", "probability", "source", "next_step",
                            "next_step_date", "status", "close_reason_id", "close_note")}
    dc: dict[str, list] = {"deal_id": [], "contact_id": [], "role": []}

    def take_part(deal_id: int, contact_id: int, role: str) -> None:
        dc["deal_id"].append(deal_id)
        dc["contact_id"].append(contact_id)
        dc["role"].append(role)

    reason_label = []
    stage_probability = []
    for i in range(n):
        spec = specs[plan.pipeline[i]]
        p = person[i]
        company = int(people.company[p])
        who = people.company_name.get(company) or people.full_name[p]
        fl = first_line[deal_basket[i]]
        product_name = catalogue.product_names[lines.product[fl]].split(",")[0] if fl >= 0 else "Order"
        stage = int(plan.stage[i])
        status = int(plan.status[i])
        if spec.role == "renewal":
            year = dt.datetime.fromtimestamp(plan.closed[i] if status != OPEN else planned_end[i], dt.UTC).year
            label = f"renewal {year}"
        else:
            label = product_name
        deal["name"].append(f"{who}: {label}"[:200])
        deal["stage_id"].append(spec.stage_ids[stage])
        deal["pipeline_id"].append(spec.id)
        default = spec.probabilities[stage]
        stage_probability.append(default)
        deal["probability"].append(int(min(99, max(1, default + nudge[i]))) if override[i] else None)
        deal["source"].append(people.source[p] if spec.role == "new_business" else "existing customer")
        if has_step[i]:
            steps = NEXT_STEPS[min(len(NEXT_STEPS) - 1, round(stage / max(len(spec.stage_ids) - 1, 1) * 4))]
            deal["next_step"].append(steps[step_pick[i]])
        else:
            deal["next_step"].append("")
        deal["status"].append(("open", "won", "lost")[status])
        reason = None
        if status == WON and catalogue.won_reasons:
            reason = catalogue.won_reasons[won_pick[i]]
        elif status != OPEN and status != WON and catalogue.lost_reasons:
            reason = catalogue.lost_reasons[lost_pick[i]]
        deal["close_reason_id"].append(reason[0] if reason else None)
        reason_label.append(reason[1] if reason else "")
        deal["close_note"].append("")
        # who else at the company takes part, and in which role
        take_part(int(deal_ids[i]), int(people.ids[p]), str(primary_role[i]))
        colleagues = people.colleagues.get(company, ()) if company else ()
        taken_roles = {str(primary_role[i])}
        added = {p}
        for j in range(min(int(extra[i]), 3, len(colleagues) - 1)):
            other = colleagues[int(extra_pick[i, j] * len(colleagues))]
            role = str(ROLES_AFTER_FIRST[roles_pick[i, j]])
            if other in added or (role == DealRole.DECISION_MAKER and role in taken_roles):
                continue
            added.add(other)
            taken_roles.add(role)
            take_part(int(deal_ids[i]), int(people.ids[other]), role)

    owner = people.owner[person]
    team = people.team[person]
    contact_id = people.ids[person]
    company_id = people.company[person]
    created = plan.created.astype(np.int64)
    closed = plan.closed.astype(np.int64)
    updated = np.maximum(np.maximum(stage_entered, last_activity), plan.closed).astype(np.int64)
    deal_table = {
        "id": deal_ids.tolist(), "created_at": clock(created), "updated_at": clock(updated),
        "created_by_id": owner.tolist(), "deleted_at": [None] * n, "name": deal["name"],
        "company_id": ids_or_none(company_id), "owner_id": owner.tolist(), "team_id": ids_or_none(team),
        "pipeline_id": deal["pipeline_id"], "stage_id": deal["stage_id"], "amount": money(amount),
        "currency": currency, "expected_close_date": dates(expected), "probability": deal["probability"],
        "source": deal["source"], "lead_id": [None] * n, "next_step": deal["next_step"],
        "next_step_date": [d if s else None for d, s in zip(dates(step_date), has_step.tolist(), strict=True)],
        "status": deal["status"], "closed_at": [None if c == 0 else t for c, t in zip(closed.tolist(), clock(closed),
                                                                                       strict=True)],
        "close_reason_id": deal["close_reason_id"], "close_note": deal["close_note"],
        "stage_entered_at": clock(stage_entered.astype(np.int64)),
        "last_activity_at": clock(last_activity.astype(np.int64)),
    }

    # line items: the deal's basket
    in_deal = np.full(size, -1)
    in_deal[deal_basket] = rows_n
    line_deal = in_deal[lines.basket]
    mine = np.flatnonzero(line_deal >= 0)
    position = _positions(lines.basket[mine])
    items = {
        "deal_id": deal_ids[line_deal[mine]].tolist(), "product_id": catalogue.product_ids[lines.product[mine]].tolist(),
        "description": [catalogue.product_names[k] for k in lines.product[mine].tolist()],
        "quantity": lines.quantity[mine].tolist(), "unit_price": money(lines.unit[mine]),
        "discount_percent": lines.discount[mine].tolist(), "position": position.tolist(),
    }

    # activities and their events
    events, audit = tables["event"], tables["audit"]
    a_ids = first_activity + np.arange(len(a_deal))
    a_kind = np.where(a_meeting, "meeting", "call").tolist()
    a_subject, a_body, a_summary, a_payload, a_attendees = [], [], [], [], []
    for j, (i, meeting, minutes) in enumerate(zip(a_deal.tolist(), a_meeting.tolist(), a_minutes.tolist(),
                                                  strict=True)):
        if meeting:
            subject = MEETING_SUBJECTS[a_text[j] % len(MEETING_SUBJECTS)]
            a_subject.append(subject)
            a_body.append("")
            a_summary.append(f"Meeting ({minutes} min): {subject}")
            a_payload.append(f'{{"minutes": {minutes}}}')
            a_attendees.append(json.dumps([people.full_name[person[i]], COLLEAGUES[a_colleague[j]]],
                                          ensure_ascii=False))
        else:
            note = CALL_NOTES[a_text[j] % len(CALL_NOTES)]
            a_subject.append("")
            a_body.append(note)
            a_summary.append(f"Call ({minutes} min): {note}")
            a_payload.append(f'{{"minutes": {minutes}, "outcome": "connected"}}')
            a_attendees.append("[]")
    a_times = clock(a_time)
    activity = {
        "id": a_ids.tolist(), "created_at": a_times, "updated_at": a_times, "created_by_id": owner[a_deal].tolist(),
        "deleted_at": [None] * len(a_deal), "kind": a_kind, "occurred_at": a_times,
        "contact_id": contact_id[a_deal].tolist(), "company_id": ids_or_none(company_id[a_deal]),
        "owner_id": owner[a_deal].tolist(), "team_id": ids_or_none(team[a_deal]),
        "deal_id": deal_ids[a_deal].tolist(), "subject": a_subject, "body": a_body,
        "duration_minutes": a_minutes.tolist(), "outcome": ["" if m else "connected" for m in a_meeting.tolist()],
        "direction": [""] * len(a_deal), "attendees": a_attendees,
    }
    events.add(kind=a_kind, time=a_time, actor_id=owner[a_deal], contact_id=contact_id[a_deal],
               company_id=ids_or_none(company_id[a_deal]), deal_id=deal_ids[a_deal], activity_id=a_ids,
               summary=a_summary, payload=a_payload)

    # created, stage changes, won / lost
    amounts = deal_table["amount"]
    events.add(kind="deal", time=created, actor_id=owner, contact_id=contact_id, company_id=ids_or_none(company_id),
               deal_id=deal_ids, activity_id=None, summary=[f"Deal created: {name}" for name in deal["name"]],
               payload=[json.dumps({"action": "created", "deal": int(d), "amount": a, "currency": c, "source": "demo"})
                        for d, a, c in zip(deal_ids.tolist(), amounts, currency, strict=True)])
    s_deal = np.repeat(rows_n, plan.stage)
    s_step = np.arange(len(s_deal)) - np.repeat(np.cumsum(plan.stage) - plan.stage, plan.stage) + 1
    s_time = entries[s_deal, s_step].astype(np.int64)
    s_days = np.round(plan.durations[s_deal, s_step - 1] / DAY, 2)
    s_summary, s_payload = [], []
    quoted = [[json.dumps(name, ensure_ascii=False) for name in spec.stage_names] for spec in specs]
    pipeline_of = plan.pipeline.tolist()
    deal_id_list = deal_ids.tolist()
    for i, k, days in zip(s_deal.tolist(), s_step.tolist(), s_days.tolist(), strict=True):
        p = pipeline_of[i]
        spec = specs[p]
        s_summary.append(f"Moved from {spec.stage_names[k - 1]} to {spec.stage_names[k]} after {days_text(days)}")
        s_payload.append(f'{{"deal": {deal_id_list[i]}, "pipeline": {spec.id}, "from_stage": {spec.stage_ids[k - 1]}, '
                         f'"from_name": {quoted[p][k - 1]}, "to_stage": {spec.stage_ids[k]}, '
                         f'"to_name": {quoted[p][k]}, "days_in_previous": {days}}}')
    events.add(kind="stage_change", time=s_time, actor_id=owner[s_deal], contact_id=contact_id[s_deal],
               company_id=ids_or_none(company_id[s_deal]), deal_id=deal_ids[s_deal], activity_id=None,
               summary=s_summary, payload=s_payload)
    done = np.flatnonzero(~is_open)
    outcome = [deal["status"][i] for i in done.tolist()]
    events.add(kind="deal", time=closed[done], actor_id=owner[done], contact_id=contact_id[done],
               company_id=ids_or_none(company_id[done]), deal_id=deal_ids[done], activity_id=None,
               summary=[f"Deal {o}: {deal['name'][i]}" + (f" ({reason_label[i]})" if reason_label[i] else "")
                        for o, i in zip(outcome, done.tolist(), strict=True)],
               payload=[json.dumps({"action": o, "deal": int(deal_ids[i]), "reason": reason_label[i],
                                    "amount": amounts[i], "currency": currency[i]}, ensure_ascii=False)
                        for o, i in zip(outcome, done.tolist(), strict=True)])
    audit.add(time=created, actor_id=owner, action="create", record_type="sales.deal", record_id=deal_ids,
              changes=[json.dumps({"name": [None, deal["name"][i]], "pipeline": [None, deal["pipeline_id"][i]],
                                   "stage": [None, specs[plan.pipeline[i]].stage_ids[0]],
                                   "amount": [None, amounts[i]], "currency": [None, currency[i]]},
                                  ensure_ascii=False) for i in range(n)])
    return {
        "deal": deal_table, "deal_contact": dc, "line_item": items, "activity": activity,
        "deal_ids": deal_ids, "names": deal["name"], "amount": amount, "currency": currency, "entries": entries,
        "stalled": stalled, "last_activity": last_activity,
    }


def _zipf_pick(rng: np.random.Generator, k: int, n: int) -> np.ndarray:
    if k == 0:
        return np.zeros(n, dtype=int)
    w = 1.0 / np.arange(1, k + 1) ** 0.8
    return rng.choice(k, size=n, p=w / w.sum())


def _positions(group: np.ndarray) -> np.ndarray:
    """0, 1, 2... within each run of equal values (the lines of one basket are contiguous)."""
    if not len(group):
        return group
    start = np.r_[True, group[1:] != group[:-1]]
    index = np.arange(len(group))
    return index - np.maximum.accumulate(np.where(start, index, 0))


def order_rows(*, purchases, buyers, people, catalogue: Catalogue, lines, channel: np.ndarray,
               purchase_deal: np.ndarray, deal_ids: np.ndarray, subscription: np.ndarray, first_id: int,
               first_line_id: int, prefix: str, clock, tables: dict[str, Table]) -> dict:
    """One order per purchase (basket i is purchase i), with its lines and purchase event."""
    n = len(purchases.time)
    order_ids = first_id + np.arange(n)
    person = buyers.person[purchases.customer]
    contact = people.ids[person]
    company = people.company[person]
    owner = people.owner[person]
    team = people.team[person]
    mine = np.flatnonzero(lines.basket < n)
    basket = lines.basket[mine]
    total = np.bincount(basket, lines.total[mine], minlength=n).astype(np.int64)
    line_count = np.bincount(basket, minlength=n)
    currency = [catalogue.currencies[c] for c in people.currency[person].tolist()]
    channel_names = np.where(purchase_deal >= 0, "sales", np.array(CHANNELS, dtype=object)[channel]).tolist()
    time = purchases.time.astype(np.int64)
    times = clock(time)
    deal_of = [int(deal_ids[d]) if d >= 0 else None for d in purchase_deal.tolist()]
    by_hand = np.isin(np.array(channel_names, dtype=object), ["sales", "phone"])
    created_by = np.where(by_hand, owner, 0)
    amounts = money(total)
    order = {
        "id": order_ids.tolist(), "created_at": times, "updated_at": times, "created_by_id": ids_or_none(created_by),
        "deleted_at": [None] * n, "external_id": [f"{prefix}{i}" for i in order_ids.tolist()],
        "contact_id": contact.tolist(), "company_id": ids_or_none(company), "deal_id": deal_of,
        "owner_id": owner.tolist(), "team_id": ids_or_none(team), "ordered_at": times, "channel": channel_names,
        "currency": currency, "total": amounts, "is_subscription": subscription.tolist(),
    }
    net = lines.net_unit[mine]
    order_line = {
        "id": (first_line_id + np.arange(len(mine))).tolist(), "order_id": order_ids[basket].tolist(),
        "product_id": catalogue.product_ids[lines.product[mine]].tolist(), "quantity": lines.quantity[mine].tolist(),
        "unit_price": money(net), "line_total": money(lines.total[mine]),
    }
    category_names = catalogue.category_names
    line_category = catalogue.product_category[lines.product[mine]]
    categories: list[set] = [set() for _ in range(n)]
    for b, c in zip(basket.tolist(), line_category.tolist(), strict=True):
        categories[b].add(category_names[c])
    summaries, payloads = [], []
    quoted = {name: json.dumps(name, ensure_ascii=False) for name in category_names}
    order_id_list = order_ids.tolist()
    for i in range(n):
        label = CHANNEL_LABEL.get(channel_names[i], channel_names[i])
        count = int(line_count[i])
        summaries.append(f"Purchase: {shown(int(total[i]), currency[i])} · {count} line{'s' if count != 1 else ''}"
                         f" · {label}")
        names = ", ".join(quoted[c] for c in sorted(categories[i]))
        payloads.append(f'{{"order": {order_id_list[i]}, "total": "{amounts[i]}", "currency": "{currency[i]}", '
                        f'"channel": "{channel_names[i]}", "categories": [{names}]}}')
    tables["event"].add(kind="purchase", time=time, actor_id=ids_or_none(created_by), contact_id=contact,
                        company_id=ids_or_none(company), deal_id=deal_of, activity_id=None, summary=summaries,
                        payload=payloads)
    tables["audit"].add(time=time, actor_id=ids_or_none(created_by), action="create", record_type="sales.order",
                        record_id=order_ids,
                        changes=[f'{{"total": [null, "{a}"], "currency": [null, "{c}"], "channel": [null, "{ch}"]}}'
                                 for a, c, ch in zip(amounts, currency, channel_names, strict=True)])
    return {"order": order, "order_line": order_line, "total": total}
