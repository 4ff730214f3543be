"""Order services: recording purchases (every bad input named), upserts on the external id, orders
from won deals, trash and restore, and who may do what."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rapport.core.errors import NotAllowed, NotVisible, ValidationFailed
from rapport.core.models import AuditEntry
from rapport.people import services as people_services
from rapport.sales.models import CloseReason, Order, OrderLine, Pipeline
from rapport.sales.selectors import orders as selectors
from rapport.sales.services import deals as deal_services
from rapport.sales.services import orders as services
from rapport.timeline.models import Event

from .orders_fixtures import catalogue_fixture, customer_fixture, order_data, other_customer_fixture  # noqa: F401

pytestmark = pytest.mark.django_db


def purchase_events(contact):
    return list(Event.objects.filter(kind="purchase", contact=contact))


# --- recording ----------------------------------------------------------------------------------

def test_record_purchase_computes_totals_and_records_one_event_and_an_audit_entry(seller, customer, catalogue):
    recorded = services.record_purchase(actor=seller, data=order_data(customer, external_id="SHOP-1"), source="api")

    order = recorded.order
    assert recorded.outcome == "created" and recorded.created
    assert order.total == Decimal("277.00")
    lines = {line.product.sku: line for line in order.lines.all()}
    assert lines["BEAN-1"].line_total == Decimal("37.00")
    assert lines["GRIND-2"].quantity == Decimal("1.000") and lines["GRIND-2"].line_total == Decimal("240.00")
    assert (order.owner, order.team_id) == (seller, seller.profile.team_id)
    assert order.company == customer.company  # the company the contact bought for
    assert order.ordered_at.isoformat() == "2026-01-15T10:00:00+00:00"
    (event,) = purchase_events(customer)
    assert event.company == customer.company and event.occurred_at == order.ordered_at
    assert event.payload == {"order": order.pk, "total": "277.00", "currency": "EUR", "channel": "web",
                             "categories": ["Coffee", "Equipment"]}
    assert "277.00 EUR" in event.summary
    entry = AuditEntry.objects.get(record_type="sales.order", record_id=order.pk)
    assert (entry.action, entry.source, entry.actor) == ("create", "api", seller)
    assert entry.changes["total"] == [None, "277.00"]
    assert entry.changes["lines"] == [None, [["BEAN-1", "2.000", "18.50"], ["GRIND-2", "1.000", "240.00"]]]


def test_owner_and_team_follow_the_customer_not_the_actor(admin_user, seller, customer, catalogue):
    order = services.record_purchase(actor=admin_user, data=order_data(customer)).order
    assert order.owner == seller and order.team_id == seller.profile.team_id
    assert order.created_by == admin_user


def test_customer_by_email_or_domain_product_by_id_and_price_from_the_price_book(seller, customer, catalogue):
    order = services.record_purchase(actor=seller, data={
        "contact_email": "  BEA@beanthere.example ", "currency": "eur", "ordered_at": "2026-01-02",
        "lines": [{"product": catalogue["beans"].pk, "quantity": "0.5"}],
    }).order
    assert order.contact == customer and order.currency == "EUR"
    assert order.total == Decimal("9.25")  # 0.5 x 18.50 from the price book
    assert order.ordered_at.isoformat() == "2026-01-02T00:00:00+00:00"
    assert order.channel == "other"

    by_domain = services.record_purchase(actor=seller, data={
        "company_domain": "https://www.BeanThere.example/", "currency": "EUR",
        "lines": [{"sku": "MUG-3", "quantity": 3, "unit_price": "4.99"}]}).order
    assert by_domain.contact is None and by_domain.company == customer.company
    assert by_domain.total == Decimal("14.97")
    event = Event.objects.get(kind="purchase", payload__order=by_domain.pk)
    assert event.contact is None and event.company == customer.company
    assert event.payload["categories"] == []  # the mug has no category


def test_line_total_rounds_half_up_to_the_currency(seller, customer, catalogue):
    order = services.record_purchase(actor=seller, data=order_data(customer, lines=[
        {"sku": "MUG-3", "quantity": "0.333", "unit_price": "10.05"}])).order
    assert order.total == Decimal("3.35")  # 3.34665 → 3.35


@pytest.mark.parametrize(("change", "field", "reason"), [
    ({"lines": [{"sku": "BEAN-1", "quantity": "-1", "unit_price": "1"}]}, "lines.0.quantity", "more than zero"),
    ({"lines": [{"sku": "BEAN-1", "quantity": "0", "unit_price": "1"}]}, "lines.0.quantity", "more than zero"),
    ({"lines": [{"sku": "BEAN-1", "quantity": "1.0005", "unit_price": "1"}]}, "lines.0.quantity", "decimal"),
    ({"lines": [{"sku": "BEAN-1", "quantity": "lots", "unit_price": "1"}]}, "lines.0.quantity", "not a number"),
    ({"lines": [{"sku": "BEAN-1", "unit_price": "1"}]}, "lines.0.quantity", "quantity"),
    ({"lines": [{"sku": "BEAN-1", "quantity": 1, "unit_price": "-0.01"}]}, "lines.0.unit_price", "negative"),
    ({"lines": [{"sku": "BEAN-1", "quantity": 1, "unit_price": "10.005"}]}, "lines.0.unit_price", "decimal"),
    ({"lines": [{"sku": "BEAN-1", "quantity": 1, "unit_price": "ten"}]}, "lines.0.unit_price", "not a number"),
    ({"currency": "JPY", "lines": [{"sku": "BEAN-1", "quantity": 1, "unit_price": "10.5"}]},
     "lines.0.unit_price", "no decimal places for JPY"),
    ({"currency": "XYZ"}, "currency", "unknown currency"),
    ({"currency": ""}, "currency", "choose a currency"),
    ({"lines": [{"sku": "NOPE-9", "quantity": 1, "unit_price": "1"}]}, "lines.0.sku", "no product with SKU 'NOPE-9'"),
    ({"lines": [{"product": 999999, "quantity": 1, "unit_price": "1"}]}, "lines.0.product", "no such product"),
    ({"lines": [{"product": "abc", "quantity": 1, "unit_price": "1"}]}, "lines.0.product", "whole number"),
    ({"lines": [{"quantity": 1, "unit_price": "1"}]}, "lines.0.product", "id"),
    ({"lines": [{"sku": "MUG-3", "quantity": 1}]}, "lines.0.unit_price", "no EUR price"),
    ({"lines": [{"sku": "BEAN-1", "quantity": 1, "colour": "red"}]}, "lines.0.colour", "unknown field"),
    ({"lines": ["BEAN-1"]}, "lines.0", "each line"),
    ({"lines": []}, "lines", "at least one line"),
    ({"lines": None}, "lines", "at least one line"),
    ({"ordered_at": "31/01/2026"}, "ordered_at", "not a date"),
    ({"ordered_at": "2026-02-30"}, "ordered_at", "not a date"),
    ({"ordered_at": "2999-01-01"}, "ordered_at", "future"),
    ({"ordered_at": 20260101}, "ordered_at", "date"),
    ({"channel": "carrier pigeon"}, "channel", "choose one of"),
    ({"external_id": "x" * 101}, "external_id", "at most 100"),
    ({"is_subscription": "yes"}, "is_subscription", "true or false"),
    ({"owner": 1}, "owner", "customer's owner"),
    ({"team": 1}, "team", "customer's owner"),
    ({"colour": "red"}, "colour", "unknown field"),
    ({"contact": None}, "contact", "needs a customer"),
    ({"contact": 999999}, "contact", "no such contact"),
    ({"contact": "me"}, "contact", "whole number"),
    ({"contact": None, "contact_email": "nobody@nowhere.example"}, "contact_email", "no contact you can see"),
    ({"contact": None, "contact_email": "not-an-email"}, "contact_email", ""),
    ({"contact": None, "company": 999999}, "company", "no such company"),
    ({"contact": None, "company_domain": "unknown.example"}, "company_domain", "no company you can see"),
    ({"contact_email": "bea@beanthere.example"}, "contact_email", "not both"),
    ({"company": 1, "company_domain": "beanthere.example"}, "company_domain", "not both"),
    ({"lines": [{"sku": "BEAN-1", "quantity": "100000000000", "unit_price": "1"}]}, "lines.0.quantity",
     "too large"),
    ({"lines": [{"sku": "BEAN-1", "quantity": "9999999", "unit_price": "999999"}]}, "lines", "too large"),
])
def test_bad_input_is_refused_naming_the_field(seller, customer, catalogue, change, field, reason):
    with pytest.raises(ValidationFailed) as caught:
        services.record_purchase(actor=seller, data=order_data(customer, **change))
    assert field in caught.value.errors, caught.value.errors
    assert reason in caught.value.errors[field]
    assert not Order.objects.exists() and not Event.objects.filter(kind="purchase").exists()


def test_every_bad_line_is_named_at_once(seller, customer, catalogue):
    with pytest.raises(ValidationFailed) as caught:
        services.record_purchase(actor=seller, data=order_data(customer, currency="EUR", lines=[
            {"sku": "BEAN-1", "quantity": 1, "unit_price": "1"},
            {"sku": "NOPE", "quantity": -2, "unit_price": "1.001"}]))
    assert set(caught.value.errors) == {"lines.1.sku", "lines.1.quantity", "lines.1.unit_price"}


def test_deleted_products_are_unknown_but_inactive_ones_can_still_be_bought(seller, customer, catalogue):
    catalogue["grinder"].active = False
    catalogue["grinder"].save()
    assert services.record_purchase(actor=seller, data=order_data(customer)).created
    catalogue["mug"].deleted_at = catalogue["mug"].created_at
    catalogue["mug"].save()
    with pytest.raises(ValidationFailed) as caught:
        services.record_purchase(actor=seller, data=order_data(customer, lines=[
            {"sku": "MUG-3", "quantity": 1, "unit_price": "1"}]))
    assert "lines.0.sku" in caught.value.errors


# --- permissions -------------------------------------------------------------------------------

def test_a_seller_cannot_record_an_order_for_another_teams_customer(seller, other_customer, catalogue):
    with pytest.raises(ValidationFailed) as caught:
        services.record_purchase(actor=seller, data=order_data(other_customer))
    assert caught.value.errors == {"contact": "no such contact"}  # same answer as a missing contact
    with pytest.raises(ValidationFailed) as caught:
        services.record_purchase(actor=seller, data=order_data(other_customer, contact=None,
                                                               contact_email="olaf@south.example"))
    assert "contact_email" in caught.value.errors
    assert not Order.objects.exists()


def test_a_seller_cannot_read_or_delete_another_teams_order(seller, other_seller, other_customer, catalogue):
    order = services.record_purchase(actor=other_seller, data=order_data(other_customer)).order
    with pytest.raises(NotVisible):
        selectors.get_order(seller, order.pk)
    with pytest.raises(NotVisible):
        services.delete_order(actor=seller, order=order)
    assert selectors.get_order(other_seller, order.pk) == order


def test_an_external_id_of_an_order_the_actor_cannot_see_is_refused(seller, other_seller, customer,
                                                                     other_customer, catalogue):
    services.record_purchase(actor=other_seller, data=order_data(other_customer, external_id="SHOP-7"))
    with pytest.raises(ValidationFailed) as caught:
        services.record_purchase(actor=seller, data=order_data(customer, external_id="SHOP-7"))
    assert "cannot see" in caught.value.errors["external_id"]
    assert Order.objects.get().contact == other_customer


def test_whoever_sees_the_customer_now_sees_its_orders(admin_user, seller, other_seller, customer, catalogue):
    order = services.record_purchase(actor=seller, data=order_data(customer)).order
    people_services.update_contact(actor=admin_user, contact=customer, data={"owner": other_seller.pk})
    # The order stays with the team it was made in, and the contact's new owner sees it too.
    assert selectors.get_order(seller, order.pk) == order
    assert selectors.get_order(other_seller, order.pk) == order
    assert [o.pk for o in selectors.contact_purchases(other_seller, customer.pk).orders] == [order.pk]


# --- idempotency and upserts ------------------------------------------------------------------

def test_the_same_external_id_again_returns_the_order_without_a_second_one(seller, customer, catalogue):
    first = services.record_purchase(actor=seller, data=order_data(customer, external_id="SHOP-1"))
    again = services.record_purchase(actor=seller, data=order_data(customer, external_id=" SHOP-1 "))

    assert again.outcome == "unchanged" and not again.created
    assert again.order.pk == first.order.pk
    assert Order.objects.count() == 1 and OrderLine.objects.count() == 2
    assert len(purchase_events(customer)) == 1
    assert AuditEntry.objects.filter(record_type="sales.order").count() == 1


def test_a_replay_without_a_date_or_channel_keeps_the_orders(seller, customer, catalogue):
    services.record_purchase(actor=seller, data=order_data(customer, external_id="SHOP-1"))
    data = order_data(customer, external_id="SHOP-1")
    del data["ordered_at"], data["channel"]
    assert services.record_purchase(actor=seller, data=data).outcome == "unchanged"


def test_the_same_external_id_with_new_content_updates_the_order_in_place(seller, customer, catalogue):
    first = services.record_purchase(actor=seller, data=order_data(customer, external_id="SHOP-1")).order
    changed = services.record_purchase(actor=seller, data=order_data(customer, external_id="SHOP-1", lines=[
        {"sku": "BEAN-1", "quantity": "3", "unit_price": "18.50"}], ordered_at="2026-01-16"))

    assert changed.outcome == "updated" and changed.order.pk == first.pk
    order = Order.objects.get()
    assert order.total == Decimal("55.50")
    assert [(line.product.sku, line.quantity) for line in order.lines.all()] == [("BEAN-1", Decimal("3.000"))]
    (event,) = purchase_events(customer)  # still one purchase event, now telling the new content
    assert event.payload["total"] == "55.50" and event.payload["categories"] == ["Coffee"]
    assert event.occurred_at.date().isoformat() == "2026-01-16"
    entry = AuditEntry.objects.get(record_type="sales.order", action="update")
    assert entry.changes["total"] == ["277.00", "55.50"]
    assert entry.changes["lines"] == [[["BEAN-1", "2.000", "18.50"], ["GRIND-2", "1.000", "240.00"]],
                                      [["BEAN-1", "3.000", "18.50"]]]


def test_moving_an_order_to_another_customer_moves_its_event_and_owner(admin_user, seller, teammate, customer,
                                                                      make_contact, catalogue):
    services.record_purchase(actor=admin_user, data=order_data(customer, external_id="SHOP-1"))
    other = make_contact(teammate, email="t@example.com")
    order = services.record_purchase(actor=admin_user, data=order_data(other, external_id="SHOP-1")).order
    assert order.contact == other and order.owner == teammate
    assert purchase_events(customer) == []
    assert len(purchase_events(other)) == 1


def test_an_external_id_in_the_trash_is_refused(seller, customer, catalogue):
    order = services.record_purchase(actor=seller, data=order_data(customer, external_id="SHOP-1")).order
    services.delete_order(actor=seller, order=order)
    with pytest.raises(ValidationFailed) as caught:
        services.record_purchase(actor=seller, data=order_data(customer, external_id="SHOP-1"))
    assert "trash" in caught.value.errors["external_id"]


def test_orders_without_external_id_are_never_merged(seller, customer, catalogue):
    services.record_purchase(actor=seller, data=order_data(customer))
    services.record_purchase(actor=seller, data=order_data(customer))
    assert Order.objects.count() == 2 and len(purchase_events(customer)) == 2


# --- trash --------------------------------------------------------------------------------------

def test_delete_takes_the_purchase_off_the_timeline_and_restore_brings_it_back(seller, customer, catalogue):
    order = services.record_purchase(actor=seller, data=order_data(customer)).order
    services.delete_order(actor=seller, order=order)
    assert purchase_events(customer) == []
    with pytest.raises(NotVisible):
        selectors.get_order(seller, order.pk)
    assert list(selectors.trashed_orders(seller)) == [order]

    services.restore_order(actor=seller, order_id=order.pk)
    (event,) = purchase_events(customer)
    assert event.payload["order"] == order.pk and event.occurred_at == order.ordered_at
    actions = list(AuditEntry.objects.filter(record_type="sales.order").order_by("id").values_list("action", flat=True))
    assert actions == ["create", "delete", "restore"]


def test_restore_refuses_orders_not_in_the_actors_trash(seller, other_seller, customer, catalogue):
    order = services.record_purchase(actor=seller, data=order_data(customer)).order
    with pytest.raises(NotAllowed):
        services.restore_order(actor=seller, order_id=order.pk)  # not deleted
    services.delete_order(actor=seller, order=order)
    with pytest.raises(NotAllowed):
        services.restore_order(actor=other_seller, order_id=order.pk)


# --- won deals ----------------------------------------------------------------------------------

@pytest.fixture
def won_reason(db):
    return CloseReason.objects.filter(outcome="won").first()


def _deal(seller, buyer, **data):
    return deal_services.create_deal(actor=seller, data={
        "name": "Office coffee", "company": buyer.company.pk, "currency": "EUR",
        "contacts": [{"contact": buyer.pk, "role": "decision_maker"}], **data})


def test_a_won_deal_becomes_an_order_of_its_product_lines(seller, customer, catalogue, won_reason):
    deal = _deal(seller, customer)
    deal_services.add_line_item(actor=seller, deal=deal, data={
        "product": catalogue["beans"].pk, "quantity": "10", "unit_price": "18.50", "discount_percent": "10"})
    deal_services.add_line_item(actor=seller, deal=deal, data={"description": "Installation", "unit_price": "99"})
    deal.refresh_from_db()

    result = services.create_order_for_won_deal(actor=seller, deal=deal)

    assert result.created and result.order.deal == deal
    order = result.order
    assert (order.contact, order.company, order.channel, order.currency) == (customer, customer.company, "sales", "EUR")
    assert order.total == Decimal("166.50")  # 10 x 16.65 (18.50 less 10%)
    assert result.skipped == ["Installation: no product"]
    event = Event.objects.get(kind="purchase")
    assert event.deal == deal and event.contact == customer

    again = services.create_order_for_won_deal(actor=seller, deal=deal)
    assert not again.created and again.order == order and Order.objects.count() == 1


def test_a_won_deal_without_line_items_makes_no_order_and_says_why(seller, customer, catalogue, won_reason):
    deal = _deal(seller, customer)
    result = services.create_order_for_won_deal(actor=seller, deal=deal)
    assert result.order is None and not result.created
    assert "no line items" in result.reason
    assert not Order.objects.exists() and not Event.objects.filter(kind="purchase").exists()


def test_a_won_deal_with_only_described_items_makes_no_order(seller, customer, catalogue):
    deal = _deal(seller, customer)
    deal_services.add_line_item(actor=seller, deal=deal, data={"description": "Consulting", "unit_price": "500"})
    result = services.create_order_for_won_deal(actor=seller, deal=deal)
    assert result.order is None and "names a product" in result.reason
    assert result.skipped == ["Consulting: no product"]


def test_a_deal_without_a_customer_makes_no_order(seller, catalogue):
    deal = deal_services.create_deal(actor=seller, data={"name": "Walk-in", "currency": "EUR"})
    deal_services.add_line_item(actor=seller, deal=deal, data={"product": catalogue["beans"].pk, "quantity": 1})
    result = services.create_order_for_won_deal(actor=seller, deal=deal)
    assert result.order is None and "customer" in result.reason


def test_winning_a_deal_through_the_deal_services_records_the_purchase(seller, customer, catalogue, won_reason):
    deal = _deal(seller, customer)
    deal_services.add_line_item(actor=seller, deal=deal, data={"product": catalogue["grinder"].pk, "quantity": 2})
    deal = deal_services.win_deal(actor=seller, deal=deal, reason=won_reason.pk)
    order = Order.objects.get(deal=deal)
    assert order.total == Decimal("480.00")
    assert order.ordered_at == deal.closed_at
    assert order.is_subscription is (Pipeline.objects.get(pk=deal.pipeline_id).kind == "renewal")
