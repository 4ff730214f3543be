"""Lead reports: per source and campaign, time to first touch percentiles, cost, value, permissions."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from rapport.core.errors import ValidationFailed
from rapport.leads.models import DisqualifyReason, Lead
from rapport.leads.routing import reports
from rapport.sales.models import CostRate, Deal, Pipeline
from rapport.timeline.models import Activity

pytestmark = pytest.mark.django_db
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def lead_for(make_contact, admin_user):
    def make(owner, *, answered_after=None, **extra):
        created = extra.setdefault("created_at", timezone.now() - 30 * HOUR)
        if answered_after is not None:
            extra["first_response_at"] = created + answered_after * HOUR
        return Lead.objects.create(contact=make_contact(admin_user), owner=owner,
                                   team_id=owner.profile.team_id if owner else None, **extra)
    return make


def won_deal(owner, *, status="won", amount="1000"):
    pipeline = Pipeline.objects.first()
    return Deal.objects.create(name="Deal", pipeline=pipeline, stage=pipeline.stages.first(), owner=owner,
                               team_id=owner.profile.team_id, currency="EUR", amount=Decimal(amount), status=status,
                               closed_at=timezone.now())


def test_median_and_90th_percentile_by_nearest_rank(seller, lead_for):
    for hours in (1, 2, 3, 10):
        lead_for(seller, answered_after=hours, source="web_form")
    lead_for(seller, source="web_form")  # not answered: not in the percentiles
    lead_for(seller, answered_after=5, source="referral")
    touches = reports.first_touch_percentiles(Lead.objects.all(), ["source"])
    web = touches[("web_form",)]
    assert web.answered == 4
    assert web.median_hours == pytest.approx(2)
    assert web.p90_hours == pytest.approx(10)
    assert touches[("referral",)].median_hours == pytest.approx(5) == touches[("referral",)].p90_hours


def test_the_source_and_campaign_report(admin_user, seller, lead_for):
    reason = DisqualifyReason.objects.get(label="No budget")
    deal = won_deal(seller)
    lost = won_deal(seller, status="lost")
    lead_for(seller, source="campaign", campaign="Spring", status="converted", qualified_at=timezone.now(), deal=deal,
             answered_after=1)
    lead_for(seller, source="campaign", campaign="Spring", status="disqualified", disqualify_reason=reason,
             answered_after=4)
    lead_for(seller, source="campaign", campaign="Spring", status="converted", deal=lost)
    lead_for(seller, source="campaign", campaign="Spring", status="new")
    lead_for(seller, source="web_form")
    lead_for(seller, source="web_form", created_at=timezone.now() - dt.timedelta(days=400))  # outside the period
    CostRate.objects.create(role="seller", cost_per_hour=Decimal("60"), currency="EUR")
    Activity.objects.create(kind="call", owner=seller, deal=deal, duration_minutes=90)
    Activity.objects.create(kind="call", owner=seller, deal=lost, duration_minutes=30)
    report = reports.source_report(admin_user)
    spring = next(r for r in report.rows if r.campaign == "Spring")
    assert (spring.leads, spring.qualified, spring.disqualified, spring.won) == (4, 2, 1, 1)
    assert spring.qualified_rate == 0.5 and spring.conversion == 0.25
    assert spring.reasons == [("No budget", 1)]
    assert spring.median_hours == pytest.approx(1) and spring.p90_hours == pytest.approx(4)
    assert report.shows_cost and spring.cost_per_won_deal == Decimal("120.00")  # 2 h at 60 over 1 win
    web = next(r for r in report.rows if r.source == "web_form")
    assert web.leads == 1 and web.cost_per_won_deal is None and web.median_hours is None


def test_mean_predicted_value_of_the_won_customers(admin_user, seller, lead_for):
    from rapport.reports.models import CustomerScore, ModelRun

    run = ModelRun.objects.create(as_of=timezone.now().date())
    lead = lead_for(seller, source="referral", status="converted", deal=won_deal(seller))
    CustomerScore.objects.create(contact=lead.contact, run=run, as_of=run.as_of, model="bgnbd", engine_version="1",
                                 value_12m=800.0)
    unscored = lead_for(seller, source="referral", status="converted", deal=won_deal(seller))
    row = reports.source_report(admin_user).rows[0]
    assert row.mean_value == pytest.approx(800) and row.valued == 1 and row.won == 2 and unscored.pk


def test_a_seller_counts_only_their_own_leads_and_sees_no_cost(seller, teammate, manager, lead_for):
    lead_for(seller, source="referral")
    lead_for(teammate, source="referral")
    lead_for(teammate, source="event")
    seller_report = reports.source_report(seller)
    assert [(r.source, r.leads) for r in seller_report.rows] == [("referral", 1)]
    assert not seller_report.shows_cost
    manager_report = reports.source_report(manager)
    assert sum(r.leads for r in manager_report.rows) == 3 and manager_report.shows_cost


def test_first_touch_per_seller(admin_user, seller, teammate, lead_for):
    lead_for(seller, answered_after=1)
    lead_for(teammate, answered_after=6)
    rows = reports.first_touch_by(admin_user, "owner")
    assert [(r.label, r.touch.median_hours) for r in rows] == [("Tia", pytest.approx(6)), ("Sam", pytest.approx(1))]
    assert [r.label for r in reports.first_touch_by(seller, "owner")] == ["Sam"]
    with pytest.raises(ValidationFailed):
        reports.first_touch_by(admin_user, "weather")


@pytest.mark.parametrize("start, end, field", [
    ("yesterday", "", "start"), ("2026-05-01", "2026-04-01", "end"), ("2010-01-01", "2026-01-01", "end"),
])
def test_bad_periods_are_refused(admin_user, start, end, field):
    with pytest.raises(ValidationFailed) as error:
        reports.source_report(admin_user, start=start, end=end)
    assert field in error.value.errors


def test_the_page(seller, teammate, lead_for):
    lead_for(seller, source="referral", campaign="Friends", answered_after=2)
    lead_for(teammate, source="event", campaign="Trade fair")
    client = Client()
    client.force_login(seller)
    html = client.get("/leads/reports/", secure=True).content.decode()
    assert "Friends" in html and "Trade fair" not in html and "Cost per won deal" not in html
    html = client.get("/leads/reports/", {"start": "soon"}, secure=True).content.decode()
    assert "use a date such as" in html
