"""Routing a new lead: rules of each kind, their order, capacity, round-robin, fallback, the reason."""

import datetime as dt
import os

import pytest
from django.core import mail

from rapport.core.models import AuditEntry, Profile, Team
from rapport.leads.models import AssignmentRule, Lead, LeadNotice, RoundRobinTurn, SellerCapacity
from rapport.leads.routing import route_new_lead
from rapport.leads.routing.assignment import routing_settings, take_turn

pytestmark = pytest.mark.django_db


@pytest.fixture
def make_lead(admin_user, make_contact, make_company):
    def make(*, country="DE", industry="Software", size_band="1000+", source="web_form", **extra):
        company = make_company(admin_user, country=country, industry=industry, size_band=size_band)
        contact = make_contact(admin_user, company=company)
        return Lead.objects.create(contact=contact, company=company, source=source, **extra)
    return make


def rule(name, position=0, **kwargs):
    return AssignmentRule.objects.create(name=name, position=position, **kwargs)


def routed(lead):
    route_new_lead(lead)
    lead.refresh_from_db()
    return lead


@pytest.mark.parametrize("condition, matching, other", [
    ({"countries": ["DE", "AT", "CH"]}, {"country": "AT"}, {"country": "FR"}),
    ({"industries": ["software"]}, {"industry": "Software"}, {"industry": "Retail"}),
    ({"size_bands": ["1000+", "250-999"]}, {"size_band": "250-999"}, {"size_band": "1-9"}),
    ({"sources": ["referral"]}, {"source": "referral"}, {"source": "web_form"}),
])
def test_each_kind_of_condition(condition, matching, other, make_lead, seller, teammate):
    rule("Territory", assign_to=seller, **condition)
    routing_settings().__class__.objects.filter(pk=1).update(fallback_owner=teammate)
    assert routed(make_lead(**matching)).owner == seller
    missed = routed(make_lead(**other))
    assert missed.owner == teammate
    assert missed.assignment_reason == "No rule matched → fallback owner Tia"


def test_a_condition_on_a_blank_fact_does_not_match(make_lead, seller):
    rule("Germany", countries=["DE"], assign_to=seller)
    assert routed(make_lead(country="")).owner is None


def test_first_matching_rule_wins_and_inactive_or_deleted_rules_are_skipped(make_lead, seller, teammate,
                                                                          other_seller):
    rule("Retired", position=0, countries=["DE"], assign_to=other_seller, active=False)
    rule("Trashed", position=1, countries=["DE"], assign_to=other_seller, deleted_at=dt.datetime.now(dt.UTC))
    rule("DACH", position=2, countries=["DE", "AT"], assign_to=seller)
    rule("Everyone", position=3, assign_to=teammate)
    lead = routed(make_lead())
    assert lead.owner == seller and lead.team_id == seller.profile.team_id
    assert lead.assignment_reason == "Rule 'DACH' → Sam"
    assert routed(make_lead(country="FR")).owner == teammate  # the catch-all rule: no conditions


def test_round_robin_takes_turns_fairly(make_lead, seller, teammate, manager, teams):
    rule("North", team=teams["north"])
    owners = [routed(make_lead()).owner for _ in range(6)]
    assert owners.count(seller) == 3 and owners.count(teammate) == 3
    assert owners[0] != owners[1]  # alternating, not three in a row
    assert manager not in owners  # managers are not in the circle


def test_round_robin_skips_a_seller_at_capacity_and_says_so(make_lead, seller, teammate, teams):
    SellerCapacity.objects.create(user=seller, max_open_leads=1)
    Lead.objects.create(contact=make_lead().contact, owner=seller, status="working")
    rule("DACH enterprise", team=teams["north"])
    leads = [routed(make_lead()) for _ in range(3)]
    assert {lead.owner for lead in leads} == {teammate}
    assert any(lead.assignment_reason == "Rule 'DACH enterprise' → round-robin in Team North: Tia; "
                                         "skipped Sam (at capacity 1)" for lead in leads)


def test_closed_leads_do_not_count_against_capacity(make_lead, seller, teams):
    SellerCapacity.objects.create(user=seller, max_open_leads=1)
    Lead.objects.create(contact=make_lead().contact, owner=seller, status="converted")
    rule("Sam", assign_to=seller)
    assert routed(make_lead()).owner == seller


def test_everyone_at_capacity_goes_to_the_fallback_owner(make_lead, seller, teammate, manager, teams):
    settings = routing_settings()
    settings.default_capacity = 0
    settings.fallback_owner = manager
    settings.save()
    SellerCapacity.objects.create(user=teammate, max_open_leads=5, accepts_leads=False)
    rule("North", team=teams["north"])
    lead = routed(make_lead())
    assert lead.owner == manager
    assert lead.assignment_reason == ("Rule 'North' → round-robin in Team North: everyone is at capacity → fallback "
                                      "owner Mona; skipped Sam (at capacity 0), Tia (not taking leads)")


def test_a_direct_rule_whose_seller_is_full_falls_back(make_lead, seller, manager):
    SellerCapacity.objects.create(user=seller, max_open_leads=0)
    routing_settings().__class__.objects.filter(pk=1).update(fallback_owner=manager)
    rule("Key accounts", assign_to=seller)
    lead = routed(make_lead())
    assert lead.owner == manager
    assert lead.assignment_reason == "Rule 'Key accounts' → Sam → fallback owner Mona; skipped Sam (at capacity 0)"


def test_without_fallback_the_lead_waits_unassigned(make_lead):
    lead = routed(make_lead())
    assert lead.owner is None
    assert lead.assignment_reason == "No rule matched; no fallback owner is set: left unassigned"
    assert lead.response_due_at is not None  # the clock runs even so


def test_a_team_without_sellers(make_lead, teams):
    rule("South", team=Team.objects.create(name="Empty"))
    assert "the team has no active sellers" in routed(make_lead()).assignment_reason


def test_routing_is_audited_sets_the_deadline_and_tells_the_owner(make_lead, seller, django_capture_on_commit_callbacks):
    rule("Sam", assign_to=seller)
    lead = make_lead(created_at=dt.datetime(2026, 11, 27, 16, 0, tzinfo=dt.UTC))  # a Friday
    with django_capture_on_commit_callbacks(execute=True):
        routed(lead)
    # Default SLA: 4 business hours, Monday to Friday 9 to 5 UTC.
    assert lead.response_due_at == dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
    entry = AuditEntry.objects.get(record_type="leads.lead", record_id=lead.pk, source="routing")
    assert entry.changes["owner"] == [None, seller.pk]
    assert entry.changes["assignment_reason"] == ["", "Rule 'Sam' → Sam"]
    notice = LeadNotice.objects.get(recipient=seller, lead=lead)
    assert notice.kind == "handoff" and "New lead for you" in notice.message
    assert notice.message.endswith("First response due Mon 30 Nov 12:00 (UTC).")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [seller.email]


def test_the_owner_is_told_once_even_when_qualified_later(make_lead, seller, django_capture_on_commit_callbacks):
    from rapport.leads.routing import lead_qualified

    rule("Sam", assign_to=seller)
    with django_capture_on_commit_callbacks(execute=True):
        lead = routed(make_lead())
        lead.status = "qualified"
        lead_qualified(lead)
    assert LeadNotice.objects.filter(lead=lead).count() == 1 and len(mail.outbox) == 1


def test_closed_leads_are_not_routed(make_lead, seller):
    rule("Sam", assign_to=seller)
    lead = routed(make_lead(status="nurture"))
    assert lead.owner is None and lead.response_due_at is None


def test_a_lead_created_through_the_service_is_routed(admin_user, make_lead, make_contact, seller, teams):
    from rapport.leads.services import create_lead

    rule("North", team=teams["north"], sources=["api"])
    lead = create_lead(actor=admin_user, contact=make_lead().contact, data={}, source_label="api")
    lead.refresh_from_db()
    assert lead.owner == seller and "round-robin in Team North" in lead.assignment_reason


def test_turns_are_consecutive(teams, db):
    from django.db import transaction

    with transaction.atomic():
        assert [take_turn(teams["north"].pk) for _ in range(3)] == [1, 2, 3]
    assert RoundRobinTurn.objects.get(team=teams["north"]).turns == 3


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                    reason="SQLite runs one writing transaction at a time; the race needs PostgreSQL")
@pytest.mark.single_process
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_routers_at_the_same_moment_never_share_a_turn(teams):
    """Eight threads each take a turn in their own transaction, all released at once: the UPDATE
    before the read makes each wait for the previous one, so the turns are 1 to 8 with no repeat."""
    import threading

    from django.db import connections, transaction

    team_id = teams["north"].pk
    RoundRobinTurn.objects.create(team_id=team_id)
    barrier = threading.Barrier(8, timeout=10)
    turns, errors = [], []

    def route():
        try:
            barrier.wait()
            with transaction.atomic():
                turns.append(take_turn(team_id))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=route) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sorted(turns) == list(range(1, 9))


def test_profiles_of_inactive_sellers_are_left_out(make_lead, seller, teammate, teams):
    teammate.is_active = False
    teammate.save()
    Profile.objects.filter(user=seller).update(role="seller")
    rule("North", team=teams["north"])
    assert {routed(make_lead()).owner for _ in range(3)} == {seller}
