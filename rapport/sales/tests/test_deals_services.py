"""Deal services: the rules of creating, moving, closing and pricing deals, and who may."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from rapport.core.errors import NotAllowed, NotVisible, ValidationFailed
from rapport.core.models import AuditEntry
from rapport.sales.models import CloseReason, Deal, DealContact, DealStatus, Pipeline, Product, ProductPrice
from rapport.sales.selectors import deals as selectors
from rapport.sales.services import deals as services
from rapport.sales.services import pipelines as pipeline_services
from rapport.timeline.models import Event


@pytest.fixture
def pipeline(db):
    return Pipeline.objects.get(name="New business")


def stages(pipeline):
    return selectors.stages_of(pipeline)


def test_create_defaults_to_first_stage_owner_and_base_currency(seller, pipeline, settings):
    deal = services.create_deal(actor=seller, data={"name": "Fleet renewal", "amount": "1200.50"})
    assert deal.stage == stages(pipeline)[0]
    assert deal.owner == seller and deal.team_id == seller.profile.team_id
    assert deal.currency == settings.RAPPORT_BASE_CURRENCY
    assert deal.amount == Decimal("1200.50")
    assert deal.effective_probability == stages(pipeline)[0].probability
    event = Event.objects.get(deal=deal)
    assert event.kind == "deal" and event.payload["action"] == "created"
    assert AuditEntry.objects.filter(record_type="sales.deal", record_id=deal.pk, action="create").exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "X", "expected_close_date": "31/12/2026"}, "expected_close_date"),
        ({"name": "X", "expected_close_date": "2026-02-30"}, "expected_close_date"),
        ({"name": "X", "amount": "10.123", "currency": "EUR"}, "amount"),
        ({"name": "X", "amount": "-5"}, "amount"),
        ({"name": "X", "amount": "lots"}, "amount"),
        ({"name": "X", "currency": "XYZ"}, "currency"),
        ({"name": "X", "amount": "10.5", "currency": "JPY"}, "amount"),
        ({"name": "X", "probability": 150}, "probability"),
        ({"name": "X", "probability": "high"}, "probability"),
        ({"name": "X", "stage": 999999}, "stage"),
        ({"name": "X", "pipeline": 999999}, "pipeline"),
        ({"name": "X", "company": 999999}, "company"),
        ({"name": "X", "status": "won"}, "status"),
        ({"name": "X", "team": 1}, "team"),
        ({"name": "X", "contacts": [{"contact": 999999, "role": "champion"}]}, "contacts.0.contact"),
        ({"name": "X" * 201}, "name"),
    ],
)
def test_create_rejects_bad_input_naming_the_field(seller, pipeline, data, field):
    with pytest.raises(ValidationFailed) as exc:
        services.create_deal(actor=seller, data=data)
    assert field in exc.value.errors
    assert not Deal.objects.exists()


def test_stage_of_another_pipeline_is_refused(seller, admin_user, pipeline):
    other = pipeline_services.create_pipeline(actor=admin_user, data={"name": "Renewals", "kind": "renewal"},
                                              stages=[{"name": "Due", "probability": 60}])
    with pytest.raises(ValidationFailed) as exc:
        services.create_deal(actor=seller, data={"name": "X", "pipeline": pipeline.pk,
                                                 "stage": stages(other)[0].pk})
    assert "stage" in exc.value.errors


def test_move_records_days_in_previous_stage(seller, pipeline):
    deal = services.create_deal(actor=seller, data={"name": "Move me"})
    Deal.objects.filter(pk=deal.pk).update(stage_entered_at=timezone.now() - dt.timedelta(days=6, hours=1))
    target = stages(pipeline)[2]
    deal = services.move_deal(actor=seller, deal=deal, stage=target.pk)
    deal.refresh_from_db()
    assert deal.stage == target
    event = Event.objects.get(deal=deal, kind="stage_change")
    assert event.payload["from_name"] == stages(pipeline)[0].name
    assert event.payload["to_stage"] == target.pk
    assert 6.0 <= event.payload["days_in_previous"] < 6.1
    assert "after 6 days" in event.summary


def test_cannot_move_a_closed_deal(seller, pipeline):
    deal = services.create_deal(actor=seller, data={"name": "Closed"})
    reason = CloseReason.objects.filter(outcome="lost").first()
    services.lose_deal(actor=seller, deal=deal, reason=reason.pk)
    with pytest.raises(ValidationFailed) as exc:
        services.move_deal(actor=seller, deal=deal, stage=stages(pipeline)[1].pk)
    assert "reopen" in exc.value.errors["stage"]


def test_closing_requires_a_reason_of_the_right_outcome(seller, pipeline):
    deal = services.create_deal(actor=seller, data={"name": "Why"})
    lost_reason = CloseReason.objects.filter(outcome="lost").first()
    for bad in (None, "", lost_reason.pk, 999999, "abc"):
        with pytest.raises(ValidationFailed) as exc:
            services.win_deal(actor=seller, deal=deal, reason=bad, create_order=False)
        assert "reason" in exc.value.errors
    retired = CloseReason.objects.create(outcome="won", label="Old reason", active=False)
    with pytest.raises(ValidationFailed):
        services.win_deal(actor=seller, deal=deal, reason=retired.pk, create_order=False)
    deal.refresh_from_db()
    assert deal.status == DealStatus.OPEN


def test_win_lose_reopen_leave_events_and_probability(seller, pipeline):
    deal = services.create_deal(actor=seller, data={"name": "Win", "probability": 35})
    assert deal.effective_probability == 35
    won = CloseReason.objects.filter(outcome="won").first()
    deal = services.win_deal(actor=seller, deal=deal, reason=won.pk, note="Signed", create_order=False)
    assert deal.status == DealStatus.WON and deal.closed_at and deal.effective_probability == 100
    with pytest.raises(ValidationFailed):
        services.lose_deal(actor=seller, deal=deal, reason=CloseReason.objects.filter(outcome="lost").first().pk)
    deal = services.reopen_deal(actor=seller, deal=deal)
    assert deal.status == DealStatus.OPEN and deal.close_reason is None
    actions = list(Event.objects.filter(deal=deal, kind="deal").order_by("id").values_list("payload__action", flat=True))
    assert actions == ["created", "won", "reopened"]


def test_line_items_price_from_book_and_set_amount(seller, pipeline):
    product = Product.objects.create(sku="LIC-1", name="Licence")
    ProductPrice.objects.create(product=product, currency="EUR", unit_price=Decimal("100.00"))
    deal = services.create_deal(actor=seller, data={"name": "Lines", "currency": "EUR"})
    services.add_line_item(actor=seller, deal=deal, data={"product": product.pk, "quantity": "3", "discount_percent": "10"})
    item = services.add_line_item(actor=seller, deal=deal, data={"description": "Setup", "unit_price": "49.99"})
    deal.refresh_from_db()
    assert deal.amount == Decimal("319.99")  # 3 x 100 - 10% + 49.99
    with pytest.raises(ValidationFailed) as exc:
        services.update_deal(actor=seller, deal=deal, data={"amount": "5"})
    assert "line items" in exc.value.errors["amount"]
    services.remove_line_item(actor=seller, deal=deal, item_id=item.pk)
    deal.refresh_from_db()
    assert deal.amount == Decimal("270.00")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"product": None, "description": ""}, "product"),
        ({"description": "x", "unit_price": "1", "quantity": "-2"}, "quantity"),
        ({"description": "x", "unit_price": "1", "quantity": "0"}, "quantity"),
        ({"description": "x", "unit_price": "1.001"}, "unit_price"),
        ({"description": "x", "unit_price": "-1"}, "unit_price"),
        ({"description": "x", "unit_price": "1", "discount_percent": "120"}, "discount_percent"),
        ({"product": 999999}, "product"),
        ({"description": "x"}, "unit_price"),
        ({"description": "x", "unit_price": "1", "colour": "red"}, "colour"),
    ],
)
def test_line_item_bad_input(seller, pipeline, data, field):
    deal = services.create_deal(actor=seller, data={"name": "Lines", "currency": "EUR"})
    with pytest.raises(ValidationFailed) as exc:
        services.add_line_item(actor=seller, deal=deal, data=data)
    assert field in exc.value.errors
    assert not deal.line_items.exists()


def test_product_without_a_price_in_the_deal_currency_needs_a_price(seller, pipeline):
    product = Product.objects.create(sku="LIC-2", name="Licence")
    ProductPrice.objects.create(product=product, currency="USD", unit_price=Decimal("10"))
    deal = services.create_deal(actor=seller, data={"name": "EUR deal", "currency": "EUR"})
    with pytest.raises(ValidationFailed) as exc:
        services.add_line_item(actor=seller, deal=deal, data={"product": product.pk})
    assert "EUR" in exc.value.errors["unit_price"]


def test_another_team_cannot_see_or_change_a_deal(seller, teammate, other_seller, manager, pipeline):
    deal = services.create_deal(actor=seller, data={"name": "North deal"})
    for outsider in (other_seller,):
        with pytest.raises(NotVisible):
            selectors.get_deal(outsider, deal.pk)
        with pytest.raises(NotVisible):
            services.update_deal(actor=outsider, deal=deal, data={"name": "Mine now"})
        with pytest.raises(NotVisible):
            services.move_deal(actor=outsider, deal=deal, stage=stages(pipeline)[1].pk)
        assert not selectors.deal_queryset(outsider).filter(pk=deal.pk).exists()
    assert selectors.get_deal(teammate, deal.pk) == deal
    assert selectors.get_deal(manager, deal.pk) == deal


def test_owner_assignment_rules(seller, other_seller, manager, teammate, pipeline):
    with pytest.raises(ValidationFailed) as exc:
        services.create_deal(actor=seller, data={"name": "Gift", "owner": other_seller.pk})
    assert "owner" in exc.value.errors
    deal = services.create_deal(actor=manager, data={"name": "Assigned", "owner": teammate.pk})
    assert deal.owner == teammate and deal.team_id == teammate.profile.team_id


def test_contacts_with_roles_only_visible_ones(seller, other_seller, make_contact, pipeline):
    mine = make_contact(seller)
    theirs = make_contact(other_seller)
    deal = services.create_deal(actor=seller, data={"name": "People", "contacts": [{"contact": mine.pk, "role": "champion"}]})
    assert DealContact.objects.get(deal=deal).role == "champion"
    with pytest.raises(ValidationFailed):
        services.set_deal_contact(actor=seller, deal=deal, contact=theirs.pk, role="finance")
    with pytest.raises(ValidationFailed):
        services.set_deal_contact(actor=seller, deal=deal, contact=mine.pk, role="boss")
    services.set_deal_contact(actor=seller, deal=deal, contact=mine.pk, role="decision_maker")
    assert DealContact.objects.get(deal=deal).role == "decision_maker"


def test_logged_activity_counts_minutes_and_clears_stall(seller, pipeline):
    deal = services.create_deal(actor=seller, data={"name": "Quiet"})
    Deal.objects.filter(pk=deal.pk).update(last_activity_at=timezone.now() - dt.timedelta(days=30))
    deal = selectors.get_deal(seller, deal.pk)
    assert selectors.is_stalled(deal)
    assert selectors.filter_deals(selectors.deal_queryset(seller), {"stalled": "1"}).filter(pk=deal.pk).exists()
    services.log_deal_activity(actor=seller, deal=deal, data={"kind": "call", "duration_minutes": 25, "body": "Rang"})
    services.log_deal_activity(actor=seller, deal=deal, data={"kind": "meeting", "duration_minutes": 60, "subject": "Demo"})
    deal = selectors.get_deal(seller, deal.pk)
    assert not selectors.is_stalled(deal)
    assert selectors.deal_minutes(deal) == 85


def test_pipeline_admin_rules(admin_user, seller, pipeline):
    with pytest.raises(NotAllowed):
        pipeline_services.create_pipeline(actor=seller, data={"name": "Mine"})
    first = stages(pipeline)[0]
    deal = services.create_deal(actor=seller, data={"name": "Stays"})
    pipeline_services.update_stage(actor=admin_user, stage=first, data={"name": "Discovery", "probability": 15})
    order = [s.pk for s in reversed(stages(pipeline))]
    pipeline_services.reorder_stages(actor=admin_user, pipeline=pipeline, stage_ids=order)
    deal.refresh_from_db()
    assert deal.stage_id == first.pk and deal.stage.name == "Discovery"
    assert [s.pk for s in stages(pipeline)] == order
    with pytest.raises(ValidationFailed):
        pipeline_services.remove_stage(actor=admin_user, stage=first)
    with pytest.raises(ValidationFailed):
        pipeline_services.reorder_stages(actor=admin_user, pipeline=pipeline, stage_ids=order[:-1])
    with pytest.raises(ValidationFailed):
        pipeline_services.delete_pipeline(actor=admin_user, pipeline=pipeline)


def test_board_counts_totals_per_currency_and_pages(seller, other_seller, pipeline):
    first, second = stages(pipeline)[:2]
    for i in range(25):
        services.create_deal(actor=seller, data={"name": f"D{i}", "amount": "100", "currency": "EUR"})
    services.create_deal(actor=seller, data={"name": "Dollar", "amount": "50", "currency": "USD", "stage": second.pk,
                                             "probability": 40})
    services.create_deal(actor=other_seller, data={"name": "Hidden", "amount": "999"})
    columns = selectors.board(seller, pipeline, {})
    by_stage = {c.stage.pk: c for c in columns}
    assert by_stage[first.pk].count == 25
    assert by_stage[first.pk].totals == {"EUR": Decimal("2500")}
    assert by_stage[first.pk].weighted["EUR"] == Decimal("2500") * first.probability / 100
    assert len(by_stage[first.pk].page.items) == selectors.BOARD_PAGE and by_stage[first.pk].page.next_cursor
    assert by_stage[second.pk].totals == {"USD": Decimal("50")}
    assert by_stage[second.pk].weighted == {"USD": Decimal("20")}
    rest = selectors.board_column(seller, first, {}, cursor=by_stage[first.pk].page.next_cursor)
    assert len(rest.items) == 5 and rest.next_cursor is None
    with pytest.raises(ValidationFailed):
        selectors.board(seller, pipeline, {"close_month": "2026-13"})
