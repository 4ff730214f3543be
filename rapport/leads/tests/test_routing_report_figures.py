"""Lead reports against figures worked out by hand from the same leads.

A few hundred leads in every state, over several sources, campaigns, owners and teams, with
won and lost deals, logged time by roles priced in two currencies (one converted at the rate of
the deal's close date) and by a role without a rate, scored and unscored customers, deleted
leads and leads outside the period. Every figure of every row is recomputed here in plain
Python from the rows created, for an admin, a manager and a seller, so a faster report must
still say exactly the same.
"""

import datetime as dt
import math
import random
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.contrib.auth import get_user_model

from rapport.core.models import Profile
from rapport.leads.models import DisqualifyReason, Lead
from rapport.leads.routing import reports
from rapport.people.models import Contact
from rapport.reports.models import CustomerScore, ModelRun
from rapport.sales.models import CostRate, Deal, ExchangeRate, Pipeline
from rapport.timeline.models import Activity

pytestmark = pytest.mark.django_db

SOURCES = ["web_form", "referral", "campaign", "event"]
CAMPAIGNS = ["", "Spring", "Trade fair"]
TODAY = dt.datetime.now(dt.UTC).date()
START, END = TODAY - dt.timedelta(days=60), TODAY
NOON = dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC)
RATE_CHANGE = TODAY - dt.timedelta(days=20)  # USD is worth 0.9 EUR before, 0.8 from then on
RATES = {"seller": (Decimal("60"), "EUR"), "manager": (Decimal("45"), "USD")}


def usd_in_eur(day: dt.date) -> Decimal:
    return Decimal("0.8") if day >= RATE_CHANGE else Decimal("0.9")


@pytest.fixture
def world(admin_user, manager, seller, teammate, other_seller):
    """Leads with known outcomes; returns what the expected figures are computed from."""
    rng = random.Random(20261124)
    CostRate.objects.create(role="seller", cost_per_hour=RATES["seller"][0], currency="EUR")
    CostRate.objects.create(role="manager", cost_per_hour=RATES["manager"][0], currency="USD")
    ExchangeRate.objects.create(currency="USD", rate=Decimal("0.9"), valid_from=TODAY - dt.timedelta(days=400))
    ExchangeRate.objects.create(currency="USD", rate=Decimal("0.8"), valid_from=RATE_CHANGE)
    reasons = list(DisqualifyReason.objects.order_by("pk")[:3])
    pipeline = Pipeline.objects.first()
    stage = pipeline.stages.first()
    run = ModelRun.objects.create(as_of=TODAY)
    owners = [seller, teammate, other_seller, manager, None]
    workers = [seller, teammate, manager, admin_user]  # who logs time on deals (admin has no rate)
    leads = []
    for i in range(240):
        owner = rng.choice(owners)
        team_id = Profile.objects.get(user=owner).team_id if owner else None
        contact = Contact.objects.create(first_name="Figure", last_name=f"Prospect {i}",
                                         email=f"figure{i}@figures.example")
        if rng.random() < 0.5:
            CustomerScore.objects.create(contact=contact, run=run, as_of=TODAY, model="bgnbd", engine_version="1",
                                         value_12m=float(rng.randrange(100, 5000)))
        days_ago = rng.choice([rng.uniform(0, 60), rng.uniform(0, 60), rng.uniform(61, 120)])
        created = NOON - dt.timedelta(days=days_ago)
        fields = {"source": rng.choice(SOURCES), "campaign": rng.choice(CAMPAIGNS), "created_at": created,
                  "owner": owner, "team_id": team_id, "contact": contact}
        if rng.random() < 0.75:
            fields["first_response_at"] = created + dt.timedelta(minutes=rng.randrange(1, 72 * 60))
        if rng.random() < 0.05:
            fields["first_response_at"] = created - dt.timedelta(minutes=30)  # logged before the lead: 0 h
        outcome = rng.random()
        if outcome < 0.3:
            status = rng.choice(["won", "lost", "open"])
            closed = None if (status == "won" and rng.random() < 0.1) else created + dt.timedelta(days=rng.uniform(0, 5))
            deal = Deal.objects.create(name=f"Figure deal {i}", pipeline=pipeline, stage=stage, owner=owner or seller,
                                       currency="EUR", amount=Decimal(1000), status=status,
                                       closed_at=closed if status != "open" else None)
            fields.update(status="converted", deal=deal, qualified_at=created + dt.timedelta(hours=1))
            for _ in range(rng.randrange(0, 4)):
                Activity.objects.create(kind="call", owner=rng.choice(workers), deal=deal,
                                        duration_minutes=rng.choice([0, 7, 25, 50, 95]),
                                        deleted_at=NOON if rng.random() < 0.1 else None)
        elif outcome < 0.5:
            fields.update(status="disqualified", disqualify_reason=rng.choice(reasons))
        elif outcome < 0.55:
            fields.update(status="nurture", disqualify_reason=rng.choice(reasons))  # sent to nurture with a reason
        elif outcome < 0.65:
            fields.update(status="qualified", qualified_at=created + dt.timedelta(hours=2))
        elif outcome < 0.7:
            fields.update(status="working", qualified_at=created + dt.timedelta(hours=2))  # qualified, then reopened
        else:
            fields["status"] = rng.choice(["new", "working"])
        if rng.random() < 0.04:
            fields["deleted_at"] = NOON
        leads.append(Lead.objects.create(**fields))
    return leads


def counted_by(user, lead):
    """Who counts which lead, by the rule the reports page states."""
    profile = Profile.objects.get(user=user)
    if user.is_superuser or profile.role in ("admin", "marketer"):
        return True
    if profile.role == "seller":
        return lead.owner_id == user.pk
    return lead.team_id == profile.team_id or lead.owner_id == user.pk


def in_report(user, lead):
    return lead.deleted_at is None and START <= lead.created_at.astimezone(dt.UTC).date() <= END \
        and counted_by(user, lead)


def nearest_rank(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    n = len(times)
    return times[math.ceil(0.5 * n) - 1], times[math.ceil(0.9 * n) - 1]


def hours(lead) -> float:
    return max((lead.first_response_at - lead.created_at).total_seconds(), 0) / 3600


def expected_rows(user, leads):
    """{(source, campaign): figures} worked out lead by lead."""
    groups = defaultdict(list)
    for lead in leads:
        if in_report(user, lead):
            groups[(lead.source, lead.campaign)].append(lead)
    roles = {p.user_id: p.role for p in Profile.objects.all()}
    result = {}
    for key, members in groups.items():
        won = [lead for lead in members if lead.deal and lead.deal.status == "won"]
        answered = [hours(lead) for lead in members if lead.first_response_at]
        values = [CustomerScore.objects.filter(contact=lead.contact).values_list("value_12m", flat=True).first()
                  for lead in won]
        values = [v for v in values if v is not None]
        cost, missing = Decimal(0), set()
        for lead in members:
            if not lead.deal or lead.deal.status not in ("won", "lost"):
                continue
            day = (lead.deal.closed_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).date()
            for activity in Activity.objects.filter(deal=lead.deal, deleted_at__isnull=True, duration_minutes__gt=0):
                role = roles.get(activity.owner_id)
                if role not in RATES:
                    missing.add(role)
                    continue
                per_hour, currency = RATES[role]
                amount = Decimal(activity.duration_minutes) * per_hour / 60
                cost += amount * (usd_in_eur(day) if currency == "USD" else 1)
        reasons = Counter(lead.disqualify_reason.label for lead in members if lead.disqualify_reason_id)
        result[key] = {
            "leads": len(members),
            "qualified": sum(1 for lead in members
                             if lead.qualified_at or lead.status in ("qualified", "converted")),
            "disqualified": sum(1 for lead in members if lead.status == "disqualified"),
            "reasons": sorted(reasons.items(), key=lambda item: (-item[1], item[0])),
            "won": len(won),
            "answered": len(answered),
            "touch": nearest_rank(answered) if answered else (None, None),
            "mean_value": sum(values) / len(values) if values else None,
            "valued": len(values),
            "cost_per_won_deal": (cost / len(won)).quantize(Decimal("0.01"), ROUND_HALF_UP) if won else None,
            "missing": missing,
        }
    return result


def assert_report_matches(user, leads):
    report = reports.source_report(user, start=START, end=END, today=TODAY)
    expected = expected_rows(user, leads)
    assert {(r.source, r.campaign) for r in report.rows} == set(expected)
    assert [r.leads for r in report.rows] == sorted((e["leads"] for e in expected.values()), reverse=True)
    for row in report.rows:
        want = expected[(row.source, row.campaign)]
        assert (row.leads, row.qualified, row.disqualified, row.won, row.answered, row.valued) == (
            want["leads"], want["qualified"], want["disqualified"], want["won"], want["answered"], want["valued"]
        ), (row.source, row.campaign)
        assert row.reasons == want["reasons"]
        assert (row.median_hours, row.p90_hours) == (pytest.approx(want["touch"][0], abs=1e-6),
                                                      pytest.approx(want["touch"][1], abs=1e-6))
        assert row.mean_value == pytest.approx(want["mean_value"])
        if report.shows_cost:
            assert row.cost_per_won_deal == want["cost_per_won_deal"], (row.source, row.campaign)
        else:
            assert row.cost is None
    if report.shows_cost:
        assert set(report.missing_rates) == set().union(*(e["missing"] for e in expected.values()))
    return report


def test_the_admin_report_matches_figures_worked_out_by_hand(admin_user, world):
    report = assert_report_matches(admin_user, world)
    # The data covers what the report must get right, or this test would prove little.
    assert report.total_leads > 100 and report.missing_rates == ["admin"]
    assert sum(r.won for r in report.rows) > 5 and any(r.reasons for r in report.rows)
    assert any(r.valued < r.won for r in report.rows)
    assert any(lead.deal and lead.deal.closed_at is None and in_report(admin_user, lead) for lead in world)


def test_the_manager_and_seller_reports_match_their_own_leads(manager, seller, world):
    manager_report = assert_report_matches(manager, world)
    seller_report = assert_report_matches(seller, world)
    assert 0 < seller_report.total_leads < manager_report.total_leads
    assert not seller_report.shows_cost and manager_report.shows_cost


@pytest.mark.parametrize("viewer", ["admin_user", "manager", "seller"])
def test_time_to_first_touch_per_seller_and_source_matches(request, viewer, world):
    user = request.getfixturevalue(viewer)
    names = {u.pk: u.get_full_name() or u.username for u in get_user_model().objects.all()}
    for by, key, label in (("owner", "owner_id", lambda k: names[k] if k else "Unassigned"),
                           ("source", "source", lambda k: reports.SOURCE_LABELS[k])):
        times = defaultdict(list)
        for lead in world:
            if in_report(user, lead) and lead.first_response_at:
                times[getattr(lead, key)].append(hours(lead))
        rows = reports.first_touch_by(user, by, start=START, end=END, today=TODAY)
        assert len(rows) == len(times)
        got = {r.label: r.touch for r in rows}
        for k, values in times.items():
            touch = got[label(k)]
            assert touch.answered == len(values)
            assert (touch.median_hours, touch.p90_hours) == pytest.approx(nearest_rank(values), abs=1e-6)
        medians = [r.touch.median_hours for r in rows]
        assert medians == sorted(medians, reverse=True)


@pytest.mark.parametrize("viewer", ["admin_user", "manager", "seller"])
def test_the_page_reads_the_same_figures_as_the_single_reports(request, viewer, world):
    user = request.getfixturevalue(viewer)
    page = reports.reports_page(user, start=START, end=END, today=TODAY)
    assert page.report == reports.source_report(user, start=START, end=END, today=TODAY)
    assert page.by_owner == reports.first_touch_by(user, "owner", start=START, end=END, today=TODAY)
    assert page.by_source == reports.first_touch_by(user, "source", start=START, end=END, today=TODAY)
