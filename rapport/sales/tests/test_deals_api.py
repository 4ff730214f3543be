"""/api/v1/deals, /pipelines and /close-reasons: the foundation's conventions hold for deals."""

from __future__ import annotations

import pytest

from rapport.api.testing import field_errors
from rapport.sales.models import CloseReason, Deal, Pipeline, Product, ProductPrice
from rapport.sales.selectors import deals as selectors
from rapport.timeline.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def pipeline(db):
    return Pipeline.objects.get(name="New business")


def test_create_read_move_win(seller, api_as, make_company, make_contact, pipeline):
    api = api_as(seller)
    company = make_company(seller)
    contact = make_contact(seller, company=company)
    response = api.post("/deals", {"name": "Fleet", "company": company.pk, "amount": "1500.00", "currency": "USD",
                                   "expected_close_date": "2026-12-15",
                                   "contacts": [{"contact": contact.pk, "role": "decision_maker"}]})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["amount"] == "1500.00"
    assert body["currency"] == "USD" and body["status"] == "open"
    assert body["contacts"] == [{"contact": contact.pk, "role": "decision_maker"}]
    deal_id = body["id"]
    target = selectors.stages_of(pipeline)[3]
    moved = api.post(f"/deals/{deal_id}/move", {"stage": target.pk})
    assert moved.status_code == 200 and moved.json()["stage"] == target.pk
    assert moved.json()["effective_probability"] == target.probability
    reason = CloseReason.objects.filter(outcome="won").first()
    won = api.post(f"/deals/{deal_id}/win", {"reason": reason.pk, "note": "signed", "create_order": False})
    assert won.status_code == 200, won.content
    assert won.json()["status"] == "won" and won.json()["close_reason"] == reason.label
    kinds = list(Event.objects.filter(deal_id=deal_id).order_by("id").values_list("kind", flat=True))
    assert kinds == ["deal", "stage_change", "deal"]
    listed = api.get("/deals", {"status": "won"}).json()
    assert [d["id"] for d in listed["items"]] == [deal_id]


@pytest.mark.parametrize(
    ("payload", "loc"),
    [
        ({"name": "X", "amount": "12.345"}, ("body", "amount")),
        ({"name": "X", "amount": "-1"}, ("body", "amount")),
        ({"name": "X", "currency": "ABC"}, ("body", "currency")),
        ({"name": "X", "expected_close_date": "31/12/2026"}, ("body", "expected_close_date")),
        ({"name": "X", "probability": 101}, ("body", "probability")),
        ({"name": "X", "team": 3}, ("body", "team")),
        ({"amount": "1"}, ("body", "name")),
        ({"name": "X", "stage": 99999}, ("body", "stage")),
    ],
)
def test_bad_input_is_422_naming_the_field(seller, api_as, pipeline, payload, loc):
    response = api_as(seller).post("/deals", payload)
    assert loc in field_errors(response), response.json()
    assert not Deal.objects.exists()


def test_another_team_gets_404_everywhere(seller, other_seller, api_as, pipeline):
    deal_id = api_as(seller).post("/deals", {"name": "North"}).json()["id"]
    api = api_as(other_seller)
    stage = selectors.stages_of(pipeline)[1]
    reason = CloseReason.objects.filter(outcome="lost").first()
    assert api.get(f"/deals/{deal_id}").status_code == 404
    assert api.patch(f"/deals/{deal_id}", {"name": "Mine"}).status_code == 404
    assert api.post(f"/deals/{deal_id}/move", {"stage": stage.pk}).status_code == 404
    assert api.post(f"/deals/{deal_id}/lose", {"reason": reason.pk}).status_code == 404
    assert api.post(f"/deals/{deal_id}/line-items", {"description": "x", "unit_price": "1"}).status_code == 404
    assert api.delete(f"/deals/{deal_id}").status_code == 404
    assert api.get("/deals").json()["items"] == []
    assert Deal.objects.get(pk=deal_id).name == "North"


def test_line_items_and_cursor_paging(seller, api_as, pipeline):
    api = api_as(seller)
    product = Product.objects.create(sku="SUP-1", name="Support")
    ProductPrice.objects.create(product=product, currency="EUR", unit_price="250.00")
    deal_id = api.post("/deals", {"name": "Lines", "currency": "EUR"}).json()["id"]
    item = api.post(f"/deals/{deal_id}/line-items", {"product": product.pk, "quantity": "2"})
    assert item.status_code == 201, item.content
    assert item.json()["total"] == "500.00" and item.json()["unit_price"] == "250.00"
    bad = api.post(f"/deals/{deal_id}/line-items", {"product": product.pk, "quantity": "-1"})
    assert ("body", "quantity") in field_errors(bad)
    assert api.get(f"/deals/{deal_id}").json()["amount"] == "500.00"
    for i in range(4):
        api.post("/deals", {"name": f"More {i}"})
    first = api.get("/deals", {"limit": 3}).json()
    second = api.get("/deals", {"limit": 3, "cursor": first["next_cursor"]}).json()
    ids = [d["id"] for d in first["items"] + second["items"]]
    assert len(ids) == 5 == len(set(ids)) and second["next_cursor"] is None
    assert field_errors(api.get("/deals", {"stauts": "open"}))


def test_pipelines_are_readable_by_all_and_editable_by_admins(seller, admin_user, api_as, pipeline):
    listed = api_as(seller).get("/pipelines").json()
    assert listed[0]["name"] == "New business" and len(listed[0]["stages"]) == 5
    assert api_as(seller).post("/pipelines", {"name": "Mine"}).status_code == 403
    admin = api_as(admin_user)
    created = admin.post("/pipelines", {"name": "Renewals", "kind": "renewal", "stall_days": 30})
    assert created.status_code == 201, created.content
    pid = created.json()["id"]
    a = admin.post(f"/pipelines/{pid}/stages", {"name": "Due", "probability": 60}).json()
    b = admin.post(f"/pipelines/{pid}/stages", {"name": "Quoted", "probability": 80}).json()
    reordered = admin.put(f"/pipelines/{pid}/stage-order", {"stages": [b["id"], a["id"]]})
    assert [s["name"] for s in reordered.json()] == ["Quoted", "Due"]
    assert ("body", "probability") in field_errors(admin.post(f"/pipelines/{pid}/stages", {"name": "X", "probability": 140}))
    assert ("body", "name") in field_errors(admin.post("/pipelines", {"name": "renewals"}))
    reasons = api_as(seller).get("/close-reasons", {"outcome": "lost"}).json()
    assert reasons and {r["outcome"] for r in reasons} == {"lost"}
