"""The deal page and its forms: facts, contacts with roles, line items, closing, activities,
the timeline, the deal form's errors, trash and restore, and who may reach any of it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from rapport.core.models import AuditEntry
from rapport.people.models import Company
from rapport.sales.models import CloseReason, Deal, DealContact, DealStatus, Product, ProductPrice
from rapport.sales.services import deals as services
from rapport.timeline.models import Activity, Event

from .deals_view_fixtures import (  # noqa: F401
    HTMX,
    as_seller_fixture,
    htmx,
    make_deal_fixture,
    pipeline_fixture,
    stages_fixture,
)


@pytest.fixture
def licence(db):
    product = Product.objects.create(sku="LIC-1", name="Annual licence")
    ProductPrice.objects.create(product=product, currency="EUR", unit_price=Decimal("100.00"))
    return product


def reason(outcome: str) -> CloseReason:
    return CloseReason.objects.filter(outcome=outcome, active=True).first()


# --- the page ----------------------------------------------------------------------------------

def test_deal_page_shows_the_facts(as_seller, seller, make_deal, make_company, stages):
    company = make_company(seller, name="Lumen Optics")
    deal = make_deal(seller, name="Lumen fleet", amount="1234.5", company=company.pk, next_step="Send the quote",
                     next_step_date="2026-12-01", expected_close_date="2026-12-20", source="Referral")
    Deal.objects.filter(pk=deal.pk).update(stage_entered_at=timezone.now() - dt.timedelta(days=9, hours=2),
                                           last_activity_at=timezone.now() - dt.timedelta(days=30))
    response = as_seller.get(reverse("deal_detail", args=[deal.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("Lumen fleet", "Lumen Optics", "1,234.50 EUR", stages[0].name, "In this stage for 9 days",
                 f"{stages[0].probability}%", "the stage's default", "Send the quote", "1 Dec 2026",
                 "20 Dec 2026", "Referral", ">Stalled</span>", "Deal created", "Proposals", "Cost of sales"):
        assert text in html, text
    assert response.context["stalled"] is True


def test_overridden_probability_is_shown_as_such(as_seller, seller, make_deal, stages):
    deal = make_deal(seller, probability=35)
    html = as_seller.get(reverse("deal_detail", args=[deal.pk])).content.decode()
    assert "35%" in html and "set on the deal" in html


def test_another_team_gets_404_on_every_deal_address(client, seller, other_seller, make_deal, make_contact,
                                                     licence, stages):
    deal = make_deal(seller)
    contact = make_contact(seller)
    services.set_deal_contact(actor=seller, deal=deal, contact=contact.pk, role="champion")
    item = services.add_line_item(actor=seller, deal=deal, data={"product": licence.pk})
    client.force_login(other_seller)
    for name in ("deal_detail", "deal_edit"):
        assert client.get(reverse(name, args=[deal.pk])).status_code == 404
    posts = [
        ("deal_edit", [deal.pk], {"name": "Mine"}), ("deal_move", [deal.pk], {"stage": stages[1].pk}),
        ("deal_delete", [deal.pk], {}), ("deal_win", [deal.pk], {"win-reason": reason("won").pk}),
        ("deal_lose", [deal.pk], {"lose-reason": reason("lost").pk}), ("deal_reopen", [deal.pk], {}),
        ("deal_contact_set", [deal.pk], {"contact": contact.pk, "role": "user"}),
        ("deal_contact_remove", [deal.pk, contact.pk], {}), ("deal_line_add", [deal.pk], {"product": licence.pk}),
        ("deal_line_edit", [deal.pk, item.pk], {f"line-{item.pk}-quantity": "9"}),
        ("deal_line_remove", [deal.pk, item.pk], {}),
        ("deal_log_activity", [deal.pk], {"kind": "note", "body": "sneaky"}),
    ]
    for name, args, data in posts:
        assert client.post(reverse(name, args=args), data).status_code == 404, name
    deal.refresh_from_db()
    assert (deal.name, deal.stage_id, deal.status, deal.deleted_at) == ("Deal 1", stages[0].pk, "open", None)
    assert deal.line_items.get().quantity == 1 and DealContact.objects.get(deal=deal).role == "champion"
    assert not Activity.objects.filter(deal=deal).exists()


def test_deal_page_query_count_does_not_grow_with_events_lines_and_contacts(as_seller, seller, make_deal,
                                                                             make_contact, licence, stages,
                                                                             django_assert_max_num_queries):
    deal = make_deal(seller)
    services.add_line_item(actor=seller, deal=deal, data={"product": licence.pk})
    services.set_deal_contact(actor=seller, deal=deal, contact=make_contact(seller).pk, role="user")
    with django_assert_max_num_queries(60) as few:
        as_seller.get(reverse("deal_detail", args=[deal.pk]))
    for i in range(20):
        services.log_deal_activity(actor=seller, deal=deal, data={"kind": "call", "duration_minutes": 5})
        services.move_deal(actor=seller, deal=deal, stage=stages[(i + 1) % len(stages)].pk)
    for _ in range(10):
        services.add_line_item(actor=seller, deal=deal, data={"description": "Setup", "unit_price": "10"})
        services.set_deal_contact(actor=seller, deal=deal, contact=make_contact(seller).pk, role="finance")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = as_seller.get(reverse("deal_detail", args=[deal.pk]))
    assert response.status_code == 200


def test_timeline_lists_the_deals_events_newest_first_and_pages(as_seller, seller, make_deal, stages):
    deal = make_deal(seller)
    services.move_deal(actor=seller, deal=deal, stage=stages[1].pk)
    services.move_deal(actor=seller, deal=deal, stage=stages[2].pk)
    page = as_seller.get(reverse("deal_detail", args=[deal.pk])).context["timeline"]
    assert [e.kind for e in page.items] == ["stage_change", "stage_change", "deal"]
    assert page.items[0].payload["to_stage"] == stages[2].pk
    only = as_seller.get(reverse("deal_detail", args=[deal.pk]), {"kind": "stage_change"},
                         **htmx("timeline-panel"))
    assert "<html" not in only.content.decode() and len(only.context["timeline"].items) == 2
    assert as_seller.get(reverse("deal_detail", args=[deal.pk]), {"kind": "nonsense"}).status_code == 404


# --- the deal form -----------------------------------------------------------------------------

def form_data(seller, **extra):
    return {"name": "Harbour cranes", "amount": "1500.00", "currency": "EUR", "owner": seller.pk,
            "expected_close_date": "2026-12-31", **extra}


def test_create_a_deal_with_a_new_company(as_seller, seller, stages):
    response = as_seller.post(reverse("deal_create"), form_data(seller, company_name="Harbour Works",
                                                                 probability="30", next_step="Site visit"))
    deal = Deal.objects.get(name="Harbour cranes")
    assert response.status_code == 302 and response.url == reverse("deal_detail", args=[deal.pk])
    assert deal.company.name == "Harbour Works" and deal.amount == Decimal("1500.00")
    assert deal.stage_id == stages[0].pk and deal.probability == 30 and deal.owner == seller
    assert deal.expected_close_date == dt.date(2026, 12, 31)


@pytest.mark.parametrize(("change", "field", "reason_text"), [
    ({"expected_close_date": "31/12/2026"}, "expected_close_date", "use a date such as 2026-12-31"),
    ({"next_step_date": "tomorrow"}, "next_step_date", "use a date such as 2026-12-31"),
    ({"amount": "10.123"}, "amount", "at most 2 decimal places for EUR"),
    ({"amount": "12.5", "currency": "JPY"}, "amount", "no decimal places for JPY"),
    ({"amount": "-5"}, "amount", "must not be negative"),
    ({"currency": "XYZ"}, "currency", "unknown currency"),
    ({"name": ""}, "name", "give the deal a name"),
    ({"probability": "140"}, "probability", "a percentage from 0 to 100"),
    ({"stage": "999999"}, "stage", "Select a valid choice"),
])
def test_bad_deal_form_rerenders_with_the_field_error(as_seller, seller, change, field, reason_text):
    response = as_seller.post(reverse("deal_create"), form_data(seller, company_name="Never Made Ltd", **change))
    assert response.status_code == 422
    form = response.context["form"]
    assert field in form.errors and reason_text in " ".join(form.errors[field])
    html = response.content.decode()
    assert 'aria-invalid="true"' in html and reason_text.replace("'", "&#x27;") in html
    assert not Deal.objects.exists()
    # The company typed on the rejected form was not created either.
    assert not Company.objects.filter(name="Never Made Ltd").exists()


def test_stage_of_another_pipeline_is_named(as_seller, seller, admin_user, pipeline):
    from rapport.sales.services import pipelines as pipeline_services

    other = pipeline_services.create_pipeline(actor=admin_user, data={"name": "Renewals"},
                                              stages=[{"name": "Due", "probability": 60}])
    due = other.stages.get()
    response = as_seller.post(reverse("deal_create"), form_data(seller, pipeline=pipeline.pk, stage=due.pk))
    assert response.status_code == 422 and "stage" in response.context["form"].errors


def test_edit_a_deal_and_see_the_change_in_its_history(as_seller, seller, make_deal, stages):
    deal = make_deal(seller, name="Old name", amount="100")
    response = as_seller.post(reverse("deal_edit", args=[deal.pk]), form_data(
        seller, name="New name", amount="250.00", pipeline=deal.pipeline_id, stage=stages[1].pk))
    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.name, deal.amount, deal.stage_id) == ("New name", Decimal("250.00"), stages[1].pk)
    html = as_seller.get(reverse("deal_detail", args=[deal.pk])).content.decode()
    assert "Old name → New name" in html
    assert Event.objects.filter(deal=deal, kind="stage_change").exists()


def test_edit_form_is_prefilled_and_locks_the_amount_of_a_priced_deal(as_seller, seller, make_deal, licence):
    deal = make_deal(seller, amount="0", expected_close_date="2026-11-30")
    services.add_line_item(actor=seller, deal=deal, data={"product": licence.pk, "quantity": "2"})
    response = as_seller.get(reverse("deal_edit", args=[deal.pk]))
    form = response.context["form"]
    assert form["expected_close_date"].value() == "2026-11-30"
    assert form.fields["amount"].disabled and str(form["amount"].value()) == "200.00"
    # A posted amount is ignored: the line items decide it.
    as_seller.post(reverse("deal_edit", args=[deal.pk]), form_data(seller, amount="5", pipeline=deal.pipeline_id))
    deal.refresh_from_db()
    assert deal.amount == Decimal("200.00") and deal.name == "Harbour cranes"


def test_new_deal_form_can_start_from_a_company(as_seller, seller, make_company):
    company = make_company(seller, name="Kestrel Air")
    form = as_seller.get(reverse("deal_create"), {"company": company.pk}).context["form"]
    assert form["company_name"].value() == "Kestrel Air"


# --- contacts ----------------------------------------------------------------------------------

def test_add_change_and_remove_a_contact_with_a_role(as_seller, seller, make_deal, make_contact, make_company):
    company = make_company(seller, name="Cedar Labs")
    ines = make_contact(seller, first_name="Ines", last_name="Okafor", company=company)
    deal = make_deal(seller, company=company.pk)
    page = as_seller.get(reverse("deal_detail", args=[deal.pk]))
    assert [c.pk for c in page.context["candidates"]] == [ines.pk]  # the company's people are offered
    response = as_seller.post(reverse("deal_contact_set", args=[deal.pk]), {"contact": ines.pk,
                                                                             "role": "decision_maker"})
    assert response.status_code == 302
    assert DealContact.objects.get(deal=deal, contact=ines).role == "decision_maker"
    html = as_seller.get(reverse("deal_detail", args=[deal.pk])).content.decode()
    assert "Ines Okafor" in html and '<option value="decision_maker" selected>' in html
    as_seller.post(reverse("deal_contact_set", args=[deal.pk]), {"contact": ines.pk, "role": "finance"})
    assert DealContact.objects.get(deal=deal, contact=ines).role == "finance"
    as_seller.post(reverse("deal_contact_remove", args=[deal.pk, ines.pk]))
    assert not DealContact.objects.filter(deal=deal).exists()


def test_contact_search_offers_visible_contacts_only(as_seller, seller, other_seller, make_deal, make_contact):
    deal = make_deal(seller)
    make_contact(seller, first_name="Rosa", last_name="Delgado")
    make_contact(other_seller, first_name="Rosalind", last_name="Hidden")
    response = as_seller.get(reverse("deal_detail", args=[deal.pk]), {"contact_q": "ros"},
                             **htmx("contact-candidates"))
    html = response.content.decode()
    assert "<html" not in html and "Rosa Delgado" in html and "Hidden" not in html


@pytest.mark.parametrize(("data", "text"), [({"role": "boss"}, "role"), ({"contact": "999999"}, "no such contact"),
                                            ({"contact": "abc"}, "contact")])
def test_bad_contact_input_is_named(as_seller, seller, make_deal, make_contact, data, text):
    deal = make_deal(seller)
    contact = make_contact(seller)
    response = as_seller.post(reverse("deal_contact_set", args=[deal.pk]),
                              {"contact": contact.pk, "role": "user", **data})
    assert response.status_code == 422 and text in response.context["contact_error"]
    assert not DealContact.objects.filter(deal=deal).exists()


def test_another_teams_contact_cannot_be_added(as_seller, seller, other_seller, make_deal, make_contact):
    deal = make_deal(seller)
    theirs = make_contact(other_seller)
    response = as_seller.post(reverse("deal_contact_set", args=[deal.pk]), {"contact": theirs.pk, "role": "user"})
    assert response.status_code == 422 and "no such contact" in response.context["contact_error"]


# --- line items --------------------------------------------------------------------------------

def test_line_items_from_the_price_book_and_custom_set_the_amount(as_seller, seller, make_deal, licence):
    deal = make_deal(seller, amount="0")
    page = as_seller.get(reverse("deal_detail", args=[deal.pk]))
    assert (str(licence.pk), "LIC-1 Annual licence (100 EUR)") in page.context["line_form"].fields["product"].choices
    as_seller.post(reverse("deal_line_add", args=[deal.pk]), {"product": licence.pk, "quantity": "3",
                                                               "discount_percent": "10"})
    as_seller.post(reverse("deal_line_add", args=[deal.pk]), {"description": "Installation", "quantity": "1",
                                                               "unit_price": "49.99"})
    deal.refresh_from_db()
    assert deal.amount == Decimal("319.99")
    html = as_seller.get(reverse("deal_detail", args=[deal.pk])).content.decode()
    assert "Annual licence" in html and "270.00 EUR" in html and "Installation" in html and "319.99 EUR" in html
    item = deal.line_items.get(description="Installation")
    response = as_seller.post(reverse("deal_line_edit", args=[deal.pk, item.pk]), {
        f"line-{item.pk}-description": "Installation", f"line-{item.pk}-quantity": "2",
        f"line-{item.pk}-unit_price": "50", f"line-{item.pk}-discount_percent": "0"})
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.amount == Decimal("370.00")
    as_seller.post(reverse("deal_line_remove", args=[deal.pk, item.pk]))
    deal.refresh_from_db()
    assert deal.amount == Decimal("270.00")


@pytest.mark.parametrize(("data", "field"), [
    ({"description": "X", "unit_price": "5", "quantity": "-1"}, "quantity"),
    ({"description": "X", "unit_price": "5", "quantity": "many"}, "quantity"),
    ({"description": "X", "unit_price": "5.001"}, "unit_price"),
    ({"description": "X"}, "unit_price"),
    ({"description": "X", "unit_price": "5", "discount_percent": "120"}, "discount_percent"),
    ({}, "product"),
    ({"product": "999999"}, "product"),
])
def test_bad_line_item_rerenders_with_the_field_error(as_seller, seller, make_deal, data, field):
    deal = make_deal(seller)
    response = as_seller.post(reverse("deal_line_add", args=[deal.pk]), {"quantity": "1", **data})
    assert response.status_code == 422
    assert field in response.context["line_form"].errors
    assert "<details class=\"add-line\" open>" in response.content.decode()
    assert not deal.line_items.exists()


def test_bad_line_edit_rerenders_that_line_with_its_error(as_seller, seller, make_deal):
    deal = make_deal(seller)
    item = services.add_line_item(actor=seller, deal=deal, data={"description": "Setup", "unit_price": "10"})
    response = as_seller.post(reverse("deal_line_edit", args=[deal.pk, item.pk]),
                              {f"line-{item.pk}-quantity": "0", f"line-{item.pk}-description": "Setup"})
    assert response.status_code == 422
    forms = {i.pk: f for i, _, f in response.context["lines"]}
    assert "quantity" in forms[item.pk].errors
    item.refresh_from_db()
    assert item.quantity == 1


# --- win, lose, reopen -------------------------------------------------------------------------

def test_win_with_a_reason_then_reopen(as_seller, seller, make_deal):
    deal = make_deal(seller)
    response = as_seller.post(reverse("deal_win", args=[deal.pk]), {"win-reason": reason("won").pk,
                                                                     "win-note": "Signed today"}, follow=True)
    deal.refresh_from_db()
    assert deal.status == DealStatus.WON and deal.close_note == "Signed today"
    html = response.content.decode()
    assert "marked won" in html and "Reopen the deal" in html and reason("won").label in html
    as_seller.post(reverse("deal_reopen", args=[deal.pk]))
    deal.refresh_from_db()
    assert deal.status == DealStatus.OPEN


def test_lose_with_a_reason(as_seller, seller, make_deal):
    deal = make_deal(seller)
    as_seller.post(reverse("deal_lose", args=[deal.pk]), {"lose-reason": reason("lost").pk})
    deal.refresh_from_db()
    assert deal.status == DealStatus.LOST and deal.close_reason == reason("lost")


@pytest.mark.parametrize(("url", "data", "form"), [
    ("deal_win", {}, "win_form"), ("deal_win", {"win-reason": "999999"}, "win_form"),
    ("deal_lose", {"lose-reason": ""}, "lose_form"),
])
def test_closing_without_a_proper_reason_is_refused(as_seller, seller, make_deal, url, data, form):
    deal = make_deal(seller)
    response = as_seller.post(reverse(url, args=[deal.pk]), data)
    assert response.status_code == 422 and "reason" in response.context[form].errors
    deal.refresh_from_db()
    assert deal.status == DealStatus.OPEN


def test_a_lost_reason_cannot_win_a_deal(as_seller, seller, make_deal):
    deal = make_deal(seller)
    response = as_seller.post(reverse("deal_win", args=[deal.pk]), {"win-reason": reason("lost").pk})
    assert response.status_code == 422
    deal.refresh_from_db()
    assert deal.status == DealStatus.OPEN


# --- activities --------------------------------------------------------------------------------

def test_log_an_activity_on_the_deal(as_seller, seller, make_deal):
    deal = make_deal(seller)
    Deal.objects.filter(pk=deal.pk).update(last_activity_at=timezone.now() - dt.timedelta(days=40))
    response = as_seller.post(reverse("deal_log_activity", args=[deal.pk]),
                              {"kind": "call", "subject": "Pricing call", "duration_minutes": "25"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "Pricing call" in html
    assert 'id="deal-minutes" hx-swap-oob="true"' in html and "<strong>25</strong>" in html
    activity = Activity.objects.get(deal=deal)
    assert activity.duration_minutes == 25 and activity.owner == seller
    response = as_seller.post(reverse("deal_log_activity", args=[deal.pk]),
                              {"kind": "meeting", "subject": "Demo", "duration_minutes": "60"})
    assert response.status_code == 302
    page = as_seller.get(reverse("deal_detail", args=[deal.pk]))
    assert page.context["minutes"] == 85 and page.context["stalled"] is False


@pytest.mark.parametrize(("data", "field"), [({"kind": "call", "duration_minutes": "lots"}, "duration_minutes"),
                                             ({"kind": "note", "body": ""}, "body"),
                                             ({"kind": "fax"}, "kind")])
def test_bad_activity_is_named(as_seller, seller, make_deal, data, field):
    deal = make_deal(seller)
    response = as_seller.post(reverse("deal_log_activity", args=[deal.pk]), data)
    assert response.status_code == 422 and field in response.context["activity_form"].errors
    response = as_seller.post(reverse("deal_log_activity", args=[deal.pk]), data, **HTMX)
    assert response["HX-Retarget"] == "#log-activity"
    assert not Activity.objects.filter(deal=deal).exists()


# --- trash -------------------------------------------------------------------------------------

def test_delete_and_restore(as_seller, seller, other_seller, client, make_deal, stages):
    deal = make_deal(seller, name="Binned")
    response = as_seller.post(reverse("deal_delete", args=[deal.pk]))
    assert response.status_code == 302
    assert as_seller.get(reverse("deal_detail", args=[deal.pk])).status_code == 404
    assert "Binned" not in as_seller.get(reverse("deal_board")).content.decode()
    trash = as_seller.get(reverse("trash")).content.decode()
    assert "Binned" in trash and reverse("deal_restore", args=[deal.pk]) in trash
    client.force_login(other_seller)
    assert "Binned" not in client.get(reverse("trash")).content.decode()
    assert client.post(reverse("deal_restore", args=[deal.pk])).status_code == 404
    as_seller.force_login(seller)
    response = as_seller.post(reverse("deal_restore", args=[deal.pk]))
    assert response.status_code == 302 and response.url == reverse("deal_detail", args=[deal.pk])
    assert AuditEntry.objects.filter(record_type="sales.deal", record_id=deal.pk, action="restore").exists()
    assert as_seller.post(reverse("deal_restore", args=[deal.pk])).status_code == 404  # not in the trash now
