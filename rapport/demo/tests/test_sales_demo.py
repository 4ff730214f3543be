"""Sales demo data: deterministic, consistent with itself, and with a buying process worth finding."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db.models import Count, Max, Min, Sum

from rapport.core.models import AuditEntry, Role
from rapport.demo.generator import load_demo, reset_demo
from rapport.demo.models import DemoDataset
from rapport.demo.sales.catalogue import CATEGORIES, PRODUCTS
from rapport.people.models import Contact
from rapport.sales.models import (
    CloseReason,
    CostRate,
    Deal,
    DealContact,
    DealLineItem,
    ExchangeRate,
    Order,
    OrderLine,
    Pipeline,
    Product,
    ProductCategory,
    ProductPrice,
    Proposal,
    ProposalLine,
    Stage,
)
from rapport.sales.services.proposals import line_amount
from rapport.sales.services.proposals import totals as proposal_totals
from rapport.timeline.models import Activity, Event

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
CONTACTS = 600
DAY = dt.timedelta(days=1)


@pytest.fixture
def demo(db):
    return load_demo(contacts=CONTACTS, seed=11, now=NOW)


def sales_snapshot() -> dict:
    first_deal = Deal.objects.order_by("id").values_list("id", flat=True).first()
    first_order = Order.objects.order_by("id").values_list("id", flat=True).first()
    return {
        "deals": [(d[0] - first_deal, *d[1:]) for d in Deal.objects.order_by("id").values_list(
            "id", "name", "status", "stage__name", "amount", "currency", "created_at", "closed_at",
            "expected_close_date", "close_reason__label", "stage_entered_at", "last_activity_at")],
        "orders": [(o[0] - first_order, *o[1:]) for o in Order.objects.order_by("id").values_list(
            "id", "ordered_at", "total", "currency", "channel", "is_subscription")],
        "lines": list(OrderLine.objects.order_by("id").values_list("product__sku", "quantity", "unit_price")[:300]),
        "proposals": list(Proposal.objects.order_by("id").values_list("number", "version", "status", "total",
                                                                      "sent_at")),
        "stages": sorted(Contact.objects.values_list("lifecycle_stage", flat=True)),
    }


def test_the_same_seed_gives_the_same_sales_data_and_another_seed_other_data(db):
    load_demo(contacts=300, seed=5, now=NOW)
    first = sales_snapshot()
    assert first["deals"] and first["orders"] and first["proposals"]
    reset_demo()
    load_demo(contacts=300, seed=5, now=NOW)
    assert sales_snapshot() == first
    reset_demo()
    load_demo(contacts=300, seed=6, now=NOW)
    assert sales_snapshot()["orders"] != first["orders"]


def test_the_catalogue(demo):
    assert list(Pipeline.objects.values_list("name", "kind")) == [
        ("New business", "new_business"), ("Renewals", "renewal"), ("Upsell", "upsell")]
    for pipeline in Pipeline.objects.all():
        probabilities = list(pipeline.stages.values_list("probability", flat=True))
        assert len(probabilities) >= 4 and probabilities == sorted(probabilities)
    assert ProductCategory.objects.count() == len(CATEGORIES) == 8
    assert Product.objects.count() == len(PRODUCTS)
    assert 40 <= Product.objects.count() <= 60
    assert 2 <= Product.objects.filter(active=False).count() <= 6
    assert set(Product.objects.values_list("category__name", flat=True)) == set(CATEGORIES)
    # every product has one price in each price-book currency, whole units
    prices = ProductPrice.objects.values("product").annotate(n=Count("id"))
    assert {p["n"] for p in prices} == {3}
    assert set(ProductPrice.objects.values_list("currency", flat=True)) == {"EUR", "USD", "GBP"}
    assert all(p == p.to_integral_value() for p in ProductPrice.objects.values_list("unit_price", flat=True))
    # 24 months of rates for USD and GBP (and a few more), in units of the base currency
    months = ExchangeRate.objects.filter(currency="USD").values_list("valid_from", flat=True)
    assert len(months) == 24 and all(m.day == 1 for m in months)
    assert max(months) == NOW.date().replace(day=1)
    assert {"USD", "GBP", "CHF"} <= set(ExchangeRate.objects.values_list("currency", flat=True))
    assert Decimal("0.7") < ExchangeRate.objects.filter(currency="USD").first().rate < Decimal("1.2")
    assert set(CostRate.objects.values_list("role", flat=True)) == set(Role.values)


def test_every_stage_of_every_pipeline_has_open_deals_and_every_pipeline_wins_and_loses(demo):
    for stage in Stage.objects.all():
        assert Deal.objects.filter(stage=stage, status="open").exists(), stage.name
    for pipeline in Pipeline.objects.all():
        statuses = set(Deal.objects.filter(pipeline=pipeline).values_list("status", flat=True))
        assert statuses == {"open", "won", "lost"}, pipeline.name
    assert Deal.objects.count() == round(CONTACTS / 8)


def test_closed_deals_have_reasons_of_their_outcome_and_open_ones_none(demo):
    won_reasons = set(CloseReason.objects.filter(outcome="won").values_list("id", flat=True))
    lost_reasons = set(CloseReason.objects.filter(outcome="lost").values_list("id", flat=True))
    for status, reason, closed_at in Deal.objects.values_list("status", "close_reason_id", "closed_at"):
        if status == "open":
            assert reason is None and closed_at is None
        else:
            assert reason in (won_reasons if status == "won" else lost_reasons)
            assert closed_at is not None and closed_at <= NOW
    used = Counter(Deal.objects.filter(status="lost").values_list("close_reason__label", flat=True))
    assert len(used) >= 3


def test_deals_are_owned_like_their_contacts(demo):
    for deal in Deal.objects.select_related("owner__profile"):
        roles = list(DealContact.objects.filter(deal=deal).select_related("contact").order_by("id"))
        assert roles
        primary = roles[0].contact
        assert deal.owner_id == primary.owner_id
        assert deal.team_id == deal.owner.profile.team_id
        assert deal.company_id == primary.company_id
        assert all(r.contact.company_id == deal.company_id for r in roles)
        assert roles[0].role in ("champion", "decision_maker")
        assert sum(r.role == "decision_maker" for r in roles) <= 1
    assert set(DealContact.objects.values_list("role", flat=True)) >= {"champion", "decision_maker", "user", "finance"}


def test_stage_history_agrees_with_the_deal(demo):
    events = defaultdict(list)
    for deal_id, occurred_at, payload in (Event.objects.filter(kind="stage_change", deal__isnull=False)
                                          .order_by("deal_id", "occurred_at", "id")
                                          .values_list("deal_id", "occurred_at", "payload")):
        events[deal_id].append((occurred_at, payload))
    stages = {s.pk: s for s in Stage.objects.all()}
    checked = 0
    for deal in Deal.objects.all():
        history = events.get(deal.pk, [])
        position = stages[deal.stage_id].position
        assert len(history) == position, deal.name
        entered = deal.created_at
        previous = Stage.objects.filter(pipeline_id=deal.pipeline_id, position=0).get()
        for occurred_at, payload in history:
            assert payload["deal"] == deal.pk and payload["pipeline"] == deal.pipeline_id
            assert payload["from_stage"] == previous.pk and payload["from_name"] == previous.name
            to = stages[payload["to_stage"]]
            assert to.position == previous.position + 1 and payload["to_name"] == to.name
            days = (occurred_at - entered).total_seconds() / 86400
            assert payload["days_in_previous"] == pytest.approx(days, abs=0.01)
            entered, previous = occurred_at, to
        assert previous.pk == deal.stage_id
        assert abs(deal.stage_entered_at - entered) < dt.timedelta(seconds=1)
        assert deal.created_at <= deal.stage_entered_at <= (deal.closed_at or NOW)
        checked += 1
    assert checked == Deal.objects.count()


def test_time_in_stage_follows_the_drawn_medians(demo):
    dataset = DemoDataset.objects.get()
    medians = dataset.parameters["deals"]["stage_days"]["median"]["New business"]
    days = defaultdict(list)
    for payload in Event.objects.filter(kind="stage_change", deal__isnull=False,
                                        deal__pipeline__name="New business").values_list("payload", flat=True):
        days[payload["from_name"]].append(payload["days_in_previous"])
    for name, values in days.items():
        values.sort()
        median = values[len(values) // 2]
        assert medians[name] / 3 < median < medians[name] * 2, name


def test_deal_events_carry_the_documented_payloads(demo):
    deals = {d.pk: d for d in Deal.objects.all()}
    created = Event.objects.filter(kind="deal", payload__action="created")
    assert created.count() == len(deals)
    for event in Event.objects.filter(kind="deal"):
        deal = deals[event.payload["deal"]]
        assert event.deal_id == deal.pk and event.company_id == deal.company_id
        assert event.payload["amount"] == f"{deal.amount:.2f}" and event.payload["currency"] == deal.currency
        if event.payload["action"] == "created":
            assert event.occurred_at == deal.created_at
        else:
            assert event.payload["action"] == deal.status
            assert event.payload["reason"] == deal.close_reason.label
            assert event.occurred_at == deal.closed_at
            assert set(event.payload) == {"action", "deal", "reason", "amount", "currency"}


def test_deal_amounts_are_their_line_items(demo):
    for deal in Deal.objects.prefetch_related("line_items"):
        items = list(deal.line_items.all())
        assert items, deal.name
        total = sum((i.quantity * i.unit_price * (100 - i.discount_percent) / 100 for i in items), Decimal(0))
        assert total == deal.amount
        assert all(i.quantity > 0 and i.product_id for i in items)


def test_won_deals_have_their_order(demo):
    won = Deal.objects.filter(status="won").select_related("pipeline")
    assert won.count() > 10
    for deal in won:
        order = Order.objects.get(deal=deal)
        assert order.channel == "sales"
        assert order.total == deal.amount and order.currency == deal.currency
        assert order.ordered_at == deal.closed_at
        assert order.is_subscription == (deal.pipeline.kind == "renewal")
        assert order.contact_id == deal.deal_contacts.order_by("id").first().contact_id
        assert sorted(order.lines.values_list("product_id", "quantity")) == sorted(
            deal.line_items.values_list("product_id", "quantity"))
    assert not Order.objects.filter(deal__status__in=["open", "lost"]).exists()
    assert Order.objects.filter(is_subscription=True).exists()


def test_order_totals_are_the_sum_of_their_lines(demo):
    totals = dict(OrderLine.objects.values("order").annotate(s=Sum("line_total")).values_list("order", "s"))
    orders = list(Order.objects.values_list("id", "total", "external_id"))
    assert len(orders) > CONTACTS // 3
    for pk, total, external_id in orders:
        assert totals[pk] == total
        assert external_id == f"demo-{pk}"
    for quantity, unit_price, line_total in OrderLine.objects.values_list("quantity", "unit_price", "line_total"):
        assert quantity * unit_price == line_total and quantity >= 1
    assert Counter(Order.objects.values_list("currency", flat=True)).most_common(1)[0][0] == "EUR"
    assert set(Order.objects.values_list("channel", flat=True)) >= {"sales", "web", "phone", "partner", "store"}


def test_orders_follow_their_customer(demo):
    for order in Order.objects.select_related("contact"):
        assert order.owner_id == order.contact.owner_id and order.team_id == order.contact.team_id
        assert order.company_id == order.contact.company_id
        assert order.contact.created_at <= order.ordered_at <= NOW
        assert order.ordered_at >= NOW - 730 * DAY


def test_each_order_has_one_purchase_event(demo):
    events = {e.payload["order"]: e for e in Event.objects.filter(kind="purchase")}
    orders = list(Order.objects.prefetch_related("lines__product__category"))
    assert len(events) == len(orders) == Event.objects.filter(kind="purchase").count()
    for order in orders:
        event = events[order.pk]
        categories = sorted({line.product.category.name for line in order.lines.all()})
        assert event.payload == {"order": order.pk, "total": f"{order.total:.2f}", "currency": order.currency,
                                 "channel": order.channel, "categories": categories}
        assert (event.contact_id, event.company_id, event.deal_id) == (order.contact_id, order.company_id,
                                                                       order.deal_id)
        assert event.occurred_at == order.ordered_at


def test_customers_buy_again_or_not_and_some_lapse(demo):
    per_contact = {row["contact"]: row for row in Order.objects.values("contact").annotate(
        n=Count("id"), last=Max("ordered_at"), first=Min("ordered_at"))}
    counts = Counter(min(row["n"], 5) for row in per_contact.values())
    assert counts[1] > len(per_contact) * 0.2  # one-time buyers
    assert counts[5] >= 3  # loyal repeat buyers
    lapsed = [c for c, row in per_contact.items() if NOW - row["last"] > 365 * DAY]
    assert len(lapsed) > 5
    stage = dict(Contact.objects.values_list("id", "lifecycle_stage"))
    # the lifecycle stage follows the purchases: a year without one makes a former customer
    for contact in per_contact:
        expected = {"former_customer"} if contact in lapsed else {"customer", "advocate"}
        assert stage[contact] in expected
    assert not Contact.objects.filter(lifecycle_stage__in=["customer", "advocate", "former_customer"]).exclude(
        pk__in=list(per_contact)).exists()
    customers = DemoDataset.objects.get().parameters["customers"]
    assert customers["buyers"] == len(per_contact)
    assert customers["one_time"] == counts[1]
    assert 0 < customers["dropped_out"] < customers["repeat"] + customers["one_time"]


def test_customers_stick_to_the_categories_they_prefer(demo):
    per_contact = defaultdict(Counter)
    for contact, category in OrderLine.objects.filter(order__deal__isnull=True).values_list(
            "order__contact", "product__category__name"):
        per_contact[contact][category] += 1
    regular = [c for c in per_contact.values() if sum(c.values()) >= 6]
    assert regular
    # a regular buyer's top two categories hold most of their lines
    shares = [sum(n for _, n in c.most_common(2)) / sum(c.values()) for c in regular]
    assert sum(shares) / len(shares) > 0.6


def test_retired_products_only_in_older_orders(demo):
    retired = Product.objects.filter(active=False)
    recent = OrderLine.objects.filter(product__in=retired, order__ordered_at__gt=NOW - 300 * DAY)
    assert not recent.exists()
    assert not DealLineItem.objects.filter(product__in=retired, deal__status="open").exists()


def test_proposals_totals_versions_and_events(demo):
    proposals = list(Proposal.objects.prefetch_related("lines").select_related("deal"))
    assert len(proposals) > 10
    for proposal in proposals:
        lines = list(proposal.lines.all())
        assert lines
        for line in lines:
            assert line.line_total == line.quantity * line.unit_price * (100 - line.discount_percent) / 100
        assert proposal.subtotal == sum(line.line_total for line in lines)
        assert proposal.total == proposal.subtotal - proposal.discount_total + proposal.tax_total
        # rounded half up, as the proposals service rounds
        assert proposal.discount_total == (proposal.subtotal * proposal.discount_percent / 100).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert proposal.tax_total == ((proposal.subtotal - proposal.discount_total) * proposal.tax_percent
                                      / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        # what the proposals service would have computed from the same lines
        service = proposal_totals([line_amount(li.quantity, li.unit_price, li.discount_percent, proposal.currency)
                                   for li in lines], proposal.discount_percent, proposal.tax_percent, proposal.currency)
        assert service == {"subtotal": proposal.subtotal, "discount_total": proposal.discount_total,
                           "tax_total": proposal.tax_total, "total": proposal.total}
        assert proposal.sent_at and proposal.link_secret
        assert proposal.number.startswith(f"Q-{proposal.sent_at.year}-") or proposal.version > 1
    by_number = defaultdict(list)
    for proposal in proposals:
        by_number[proposal.number].append(proposal)
    for versions in by_number.values():
        versions.sort(key=lambda p: p.version)
        assert [p.version for p in versions] == list(range(1, len(versions) + 1))
        assert all(p.status == "superseded" for p in versions[:-1])
        latest = versions[-1]
        expected = {"won": "accepted", "open": "sent", "lost": "declined"}[latest.deal.status]
        assert latest.status == expected
        if latest.status == "accepted":
            assert latest.subtotal == latest.deal.amount and latest.responded_at <= latest.deal.closed_at
    assert {p.status for p in proposals} == {"superseded", "sent", "accepted", "declined"}
    events = Counter(Event.objects.filter(kind="proposal").values_list("payload__action", flat=True))
    assert events["sent"] == len(proposals)
    assert events["accepted"] == sum(p.status == "accepted" for p in proposals)


def test_activities_on_deals_add_up_to_a_cost_of_sales(demo):
    activities = Activity.objects.filter(deal__isnull=False)
    assert activities.exists()
    assert not activities.filter(duration_minutes__isnull=True).exists()
    assert set(activities.values_list("kind", flat=True)) == {"call", "meeting"}
    minutes = dict(activities.values("deal__status").annotate(m=Sum("duration_minutes"))
                   .values_list("deal__status", "m"))
    assert minutes["won"] > 0 and minutes["lost"] > 0
    for activity in activities.select_related("deal")[:200]:
        event = Event.objects.get(activity=activity)
        assert event.deal_id == activity.deal_id and event.occurred_at == activity.occurred_at
        assert activity.deal.created_at <= activity.occurred_at <= (activity.deal.closed_at or NOW)
    latest = dict(activities.values("deal").annotate(m=Max("occurred_at")).values_list("deal", "m"))
    for deal in Deal.objects.all():
        assert deal.last_activity_at == max(latest.get(deal.pk, deal.created_at), deal.created_at)


def test_some_open_deals_are_stalled_and_most_have_a_next_step(demo):
    open_deals = list(Deal.objects.filter(status="open").select_related("pipeline"))
    stalled = [d for d in open_deals if NOW - d.last_activity_at > dt.timedelta(days=d.pipeline.stall_days)]
    assert 0 < len(stalled) < len(open_deals)
    with_step = [d for d in open_deals if d.next_step]
    assert len(with_step) > len(open_deals) * 0.7
    assert all(d.next_step_date for d in with_step)
    assert all(d.expected_close_date for d in open_deals)
    assert not Deal.objects.exclude(status="open").exclude(next_step="").exists()


def test_new_business_wins_more_from_referrals_than_cold_outreach(db):
    load_demo(contacts=3000, seed=2, now=NOW)
    rates = {}
    for sources in (("referral", "partner"), ("cold outreach", "import")):
        closed = Deal.objects.filter(pipeline__kind="new_business", source__in=sources, status__in=["won", "lost"])
        rates[sources] = closed.filter(status="won").count() / closed.count()
    assert rates[("referral", "partner")] > rates[("cold outreach", "import")] * 1.5
    parameters = DemoDataset.objects.get().parameters["deals"]["new_business_win_rate"]
    assert len(set(parameters["seller_multiplier"].values())) > 3


def test_parameters_are_recorded(demo):
    parameters = DemoDataset.objects.get().parameters
    assert set(parameters["orders"]["bgnbd"]) >= {"r", "alpha", "a", "b"}
    assert set(parameters["orders"]["gamma_gamma"]) >= {"p", "q", "gamma"}
    assert demo.sales["orders"] == Order.objects.count()
    assert demo.sales["deals"] == Deal.objects.count()


def test_every_sales_row_is_audited_as_demo(demo):
    audited = Counter(AuditEntry.objects.filter(source="demo", action="create").values_list("record_type",
                                                                                            flat=True))
    assert audited["sales.deal"] == Deal.objects.count()
    assert audited["sales.order"] == Order.objects.count()
    assert audited["sales.proposal"] == Proposal.objects.count()
    assert audited["sales.product"] == Product.objects.count()
    changed = AuditEntry.objects.filter(source="demo", action="update", record_type="people.contact")
    assert changed.exists()
    for record_id, changes in changed.values_list("record_id", "changes")[:50]:
        assert Contact.objects.get(pk=record_id).lifecycle_stage == changes["lifecycle_stage"][1]


def test_reset_removes_the_sales_demo_and_nothing_else(db, make_contact, seller):
    kept_rate = ExchangeRate.objects.create(currency="USD", rate="0.9", valid_from=NOW.date().replace(day=1))
    kept_cost = CostRate.objects.create(role="seller", cost_per_hour="70.00", currency="EUR")
    mine = make_contact(actor=seller, first_name="Kept", last_name="Mine", email="kept@mine.example")
    load_demo(contacts=200, seed=3, now=NOW)
    assert ExchangeRate.objects.filter(currency="USD", valid_from=kept_rate.valid_from).count() == 1
    assert CostRate.objects.get(role="seller").cost_per_hour == Decimal("70.00")
    new_business = Pipeline.objects.get(name="New business")
    upsell = Pipeline.objects.get(name="Upsell")
    product = Product.objects.get(sku="SW-PRO-1Y")
    demo_contact = Contact.objects.filter(orders__isnull=False).exclude(pk=mine.pk).first()
    demo_deal = Deal.objects.first()
    # what users made by hand, some of it pointing at demo records
    my_deal = Deal.objects.create(name="Mine", owner=seller, pipeline=upsell, stage=upsell.stages.first(),
                                  currency="EUR", amount=540, company=demo_contact.company)
    DealLineItem.objects.create(deal=my_deal, product=product, quantity=1, unit_price=540)
    DealContact.objects.create(deal=my_deal, contact=mine, role="champion")
    my_order = Order.objects.create(contact=mine, owner=seller, currency="EUR", total=540, external_id="shop-1")
    OrderLine.objects.create(order=my_order, product=product, quantity=1, unit_price=540, line_total=540)
    their_order = Order.objects.create(contact=demo_contact, currency="EUR", total=10, external_id="shop-2",
                                       deal=demo_deal)
    assert reset_demo() == 1
    assert list(Deal.objects.values_list("pk", flat=True)) == [my_deal.pk]
    assert sorted(Order.objects.values_list("external_id", flat=True)) == ["shop-1", "shop-2"]
    their_order.refresh_from_db()
    assert their_order.contact_id is None and their_order.deal_id is None
    my_deal.refresh_from_db()
    assert my_deal.company_id is None
    assert list(DealContact.objects.values_list("contact_id", flat=True)) == [mine.pk]
    assert list(OrderLine.objects.values_list("order_id", flat=True)) == [my_order.pk]
    # the product and pipeline my records use stay; the rest of the demo catalogue goes
    assert list(Product.objects.values_list("sku", flat=True)) == ["SW-PRO-1Y"]
    assert list(ProductCategory.objects.values_list("name", flat=True)) == ["Software licences"]
    assert set(Pipeline.objects.values_list("pk", flat=True)) == {new_business.pk, upsell.pk}
    assert list(ExchangeRate.objects.values_list("pk", flat=True)) == [kept_rate.pk]
    assert list(CostRate.objects.values_list("pk", flat=True)) == [kept_cost.pk]
    assert not Proposal.objects.exists() and not ProposalLine.objects.exists()
    assert not Activity.objects.exists()
    assert not AuditEntry.objects.filter(source="demo").exists()
    assert not AuditEntry.objects.filter(record_type__startswith="sales.").exists()
    assert CloseReason.objects.count() == 10  # the installation's own list stays


def test_reset_then_load_again_works(db):
    load_demo(contacts=150, seed=4, now=NOW)
    reset_demo()
    assert not Deal.objects.exists() and not Order.objects.exists() and not Product.objects.exists()
    assert list(Pipeline.objects.values_list("name", flat=True)) == ["New business"]
    summary = load_demo(contacts=150, seed=4, now=NOW)
    assert Order.objects.count() == summary.sales["orders"]


def test_demo_sellers_get_revenue_targets_and_reset_removes_them(db):
    from rapport.demo.generator import load_demo, reset_demo
    from rapport.sales.models import Target

    load_demo(contacts=400, seed=7)
    targets = Target.objects.filter(deleted_at__isnull=True)
    assert targets.filter(user__isnull=False, period_kind="month").count() >= 3
    assert targets.filter(team__isnull=False, period_kind="quarter").exists()
    assert all(t.amount > 0 and t.currency for t in targets)
    reset_demo()
    assert not Target.objects.exists()
