from decimal import Decimal

import pytest

from rapport.core.errors import NotAllowed, NotVisible, ValidationFailed
from rapport.core.models import AuditEntry
from rapport.leads import services
from rapport.leads.models import DisqualifyReason, Lead, LeadSource, LeadStatus
from rapport.sales.models import Deal, DealContact, Pipeline, ProductCategory
from rapport.timeline.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def contact(seller, make_contact, make_company):
    return make_contact(seller, company=make_company(seller))


@pytest.fixture
def reason():
    return DisqualifyReason.objects.get(label="No budget")


def test_create_lead_records_facts_audit_and_timeline(seller, contact):
    software = ProductCategory.objects.create(name="Software")
    lead = services.create_lead(actor=seller, contact=contact, data={
        "title": "Wants 40 seats", "budget_amount": "12000.50", "budget_currency": "eur",
        "authority": "decision_maker", "timeline": "quarter", "need_categories": [software.pk, "software"],
        "need": "Their spreadsheets broke", "campaign": "Spring webinar",
    })
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW
    assert lead.source == LeadSource.MANUAL
    assert lead.budget_amount == Decimal("12000.50") and lead.budget_currency == "EUR"
    assert lead.company == contact.company
    assert list(lead.need_categories.all()) == [software]
    # Nobody named an owner and no routing rule exists yet: the seller who typed it keeps it.
    assert lead.owner == seller and lead.team_id == seller.profile.team_id
    assert AuditEntry.objects.filter(record_type="leads.lead", record_id=lead.pk, action="create").exists()
    event = Event.objects.get(kind="lead", contact=contact)
    assert event.payload == {"lead": lead.pk, "action": "created", "source": "manual"}


def test_create_lead_through_the_api_defaults_its_source(seller, contact):
    assert services.create_lead(actor=seller, contact=contact, data={}, source_label="api").source == "api"


@pytest.mark.parametrize("data, field, reason", [
    ({"budget_currency": "XYZ", "budget_amount": "10"}, "budget_currency", ""),
    ({"budget_amount": "-5"}, "budget_amount", "negative"),
    ({"budget_amount": "ten"}, "budget_amount", "number"),
    ({"budget_amount": "10.001", "budget_currency": "EUR"}, "budget_amount", "decimal"),
    ({"authority": "king"}, "authority", "choose one of"),
    ({"timeline": "someday"}, "timeline", "choose one of"),
    ({"budget_band": "lots"}, "budget_band", "choose one of"),
    ({"source": "carrier pigeon"}, "source", "choose one of"),
    ({"need_categories": ["Hardware"]}, "need_categories", "no such product category: Hardware"),
    ({"title": "x" * 201}, "title", "at most 200"),
    ({"status": "qualified"}, "status", "own action"),
    ({"team": 1}, "team", "follows the owner"),
    ({"colour": "red"}, "colour", "unknown field"),
    ({"first_touch_at": "yesterday"}, "first_touch_at", "date and time"),
    ({"first_touch_at": "2999-01-01T00:00"}, "first_touch_at", "future"),
    ({"owner": "abc"}, "owner", "user id"),
])
def test_create_lead_refuses_bad_input_naming_the_field(seller, contact, data, field, reason):
    with pytest.raises(ValidationFailed) as exc:
        services.create_lead(actor=seller, contact=contact, data=data)
    assert field in exc.value.errors
    assert reason.lower() in exc.value.errors[field].lower()
    assert not Lead.objects.exists()


def test_a_seller_cannot_give_a_lead_to_another_team(seller, other_seller, contact):
    with pytest.raises(ValidationFailed) as exc:
        services.create_lead(actor=seller, contact=contact, data={"owner": other_seller.pk})
    assert "owner" in exc.value.errors


def test_qualify_then_convert_creates_the_right_deal(seller, contact):
    lead = services.create_lead(actor=seller, contact=contact, data={
        "title": "Forty seats", "budget_amount": "9000", "budget_currency": "GBP", "authority": "champion"})
    lead = services.qualify_lead(actor=seller, lead=lead, data={"timeline": "now"})
    assert lead.status == LeadStatus.QUALIFIED and lead.qualified_at and lead.timeline == "now"
    with pytest.raises(NotAllowed):
        services.qualify_lead(actor=seller, lead=lead)
    pipeline = Pipeline.objects.get()
    lead = services.convert_lead(actor=seller, lead=lead, data={"pipeline": pipeline.pk})
    deal = Deal.objects.get()
    assert lead.status == LeadStatus.CONVERTED and lead.converted_at
    assert lead.deal == deal and deal.lead_id == lead.pk
    assert deal.amount == Decimal("9000") and deal.currency == "GBP"
    assert deal.company == contact.company and deal.owner == seller and deal.pipeline == pipeline
    assert deal.name == f"{contact.company.name} – Forty seats"
    assert DealContact.objects.get(deal=deal).role == "champion"
    assert Event.objects.filter(kind="lead", payload__action="converted").exists()
    with pytest.raises(NotAllowed):
        services.convert_lead(actor=seller, lead=lead)
    with pytest.raises(NotAllowed):
        services.update_lead(actor=seller, lead=lead, data={"title": "changed"})


def test_convert_takes_the_sellers_amount_and_refuses_bad_deal_input(seller, contact):
    lead = services.create_lead(actor=seller, contact=contact, data={"budget_band": "1k_10k"})
    with pytest.raises(ValidationFailed) as exc:
        services.convert_lead(actor=seller, lead=lead, data={"pipeline": 999_999})
    assert exc.value.errors == {"pipeline": "no such pipeline"}
    with pytest.raises(ValidationFailed) as exc:
        services.convert_lead(actor=seller, lead=lead, data={"probability": 5})
    assert exc.value.errors == {"probability": "unknown field"}
    lead = services.convert_lead(actor=seller, lead=lead, data={"amount": "2500", "currency": "USD"})
    assert lead.deal.amount == Decimal("2500") and lead.deal.currency == "USD"
    assert DealContact.objects.get(deal=lead.deal).role == "other"


def test_disqualify_needs_a_listed_reason(seller, contact, reason):
    lead = services.create_lead(actor=seller, contact=contact, data={})
    for bad in (None, "", 999_999, "x"):
        with pytest.raises(ValidationFailed) as exc:
            services.disqualify_lead(actor=seller, lead=lead, reason=bad)
        assert "reason" in exc.value.errors
    reason.active = False
    reason.save()
    with pytest.raises(ValidationFailed):
        services.disqualify_lead(actor=seller, lead=lead, reason=reason.pk)
    reason.active = True
    reason.save()
    lead = services.disqualify_lead(actor=seller, lead=lead, reason=reason.pk, note="Said so on the call")
    assert lead.status == LeadStatus.DISQUALIFIED and lead.disqualify_reason == reason and lead.disqualified_at
    with pytest.raises(NotAllowed):
        services.disqualify_lead(actor=seller, lead=lead, reason=reason.pk)
    lead = services.reopen_lead(actor=seller, lead=lead)
    assert lead.status == LeadStatus.NEW and lead.disqualify_reason is None


def test_nurture_instead_of_the_bin(seller, contact, reason):
    lead = services.create_lead(actor=seller, contact=contact, data={})
    lead = services.disqualify_lead(actor=seller, lead=lead, reason=reason, to_nurture=True)
    assert lead.status == LeadStatus.NURTURE and lead.disqualify_reason == reason
    assert Event.objects.filter(kind="lead", payload__action="nurtured").exists()
    with pytest.raises(NotAllowed):
        services.convert_lead(actor=seller, lead=lead)


def test_other_team_cannot_change_a_lead(seller, other_seller, contact, reason):
    lead = services.create_lead(actor=seller, contact=contact, data={})
    for call in (lambda: services.qualify_lead(actor=other_seller, lead=lead),
                 lambda: services.convert_lead(actor=other_seller, lead=lead),
                 lambda: services.disqualify_lead(actor=other_seller, lead=lead, reason=reason),
                 lambda: services.update_lead(actor=other_seller, lead=lead, data={"title": "mine"})):
        with pytest.raises(NotVisible):
            call()
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW and lead.title == ""


def test_update_lead_audits_changes_and_moves_new_to_working(seller, teammate, contact):
    lead = services.create_lead(actor=seller, contact=contact, data={})
    lead = services.update_lead(actor=seller, lead=lead, data={"status": "working", "budget_band": "10k_50k"})
    assert lead.status == LeadStatus.WORKING
    entry = AuditEntry.objects.get(record_type="leads.lead", record_id=lead.pk, action="update", source="web")
    assert entry.changes["budget_band"] == ["", "10k_50k"] and entry.changes["status"] == ["new", "working"]


def test_bulk_actions_report_each_failure(seller, other_seller, contact, make_contact, reason):
    mine = services.create_lead(actor=seller, contact=contact, data={})
    theirs = services.create_lead(actor=other_seller, contact=make_contact(other_seller), data={})
    with pytest.raises(ValidationFailed):
        services.bulk_leads(actor=seller, lead_ids=[mine.pk], action="disqualify", reason=None)
    result = services.bulk_leads(actor=seller, lead_ids=[mine.pk, theirs.pk], action="nurture", reason=reason.pk)
    assert result == {"done": 1, "failed": {theirs.pk: "not found"}}
    result = services.bulk_leads(actor=seller, lead_ids=[mine.pk], action="nurture", reason=reason.pk)
    assert result["done"] == 0 and "open" in result["failed"][mine.pk]


def test_prospect_by_email_creates_or_reuses_the_contact(seller, other_seller, make_contact):
    contact, company = services.find_or_create_prospect(
        actor=seller, contact={"email": "New.Person@Example.com", "first_name": "New"},
        company={"domain": "https://www.newco.example/", "name": "NewCo"})
    assert contact.email == "new.person@example.com" and company.domain == "newco.example"
    assert contact.company == company
    again, same = services.find_or_create_prospect(actor=seller, contact={"email": "new.person@example.com",
                                                                          "last_name": "Person"},
                                                   company={"domain": "newco.example"})
    assert again.pk == contact.pk and same.pk == company.pk and again.last_name == "Person"
    hidden = make_contact(other_seller, email="hidden@example.com")
    with pytest.raises(ValidationFailed) as exc:
        services.find_or_create_prospect(actor=seller, contact={"email": hidden.email})
    assert "may not see" in exc.value.errors["contact.email"]
    with pytest.raises(ValidationFailed) as exc:
        services.find_or_create_prospect(actor=seller, contact={"email": "not-an-email"})
    assert "contact.email" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:
        services.find_or_create_prospect(actor=seller, contact={"id": hidden.pk})
    assert exc.value.errors == {"contact.id": "no such contact"}
