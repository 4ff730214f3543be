"""/api/v1/proposals: the foundation's conventions (422 field errors, cursor pages, 404 for what
the caller may not see) hold for proposals."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from rapport.api.testing import field_errors
from rapport.sales.models import DealStatus, Proposal, ProposalStatus
from rapport.sales.selectors import proposals as selectors
from rapport.sales.services import proposals as services

from .proposals_fixtures import (  # noqa: F401 - fixtures
    buyer_fixture,
    customer_company_fixture,
    deal_fixture,
    make_deal,
    products_fixture,
)

pytestmark = pytest.mark.django_db


def test_create_read_send_and_accept_through_the_link(seller, api_as, deal):
    api = api_as(seller)
    response = api.post("/proposals", {"deal": deal.pk, "discount_percent": "5", "tax_percent": 20,
                                       "valid_until": "2099-01-31", "notes": "Thanks"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["version"], body["currency"]) == ("draft", 1, "EUR")
    assert (body["subtotal"], body["discount_total"], body["tax_total"], body["total"]) == (
        "1274.00", "63.70", "242.06", "1452.36")
    assert (body["discount_percent"], body["tax_percent"]) == ("5.00", "20.00")
    assert body["customer_url"] is None and body["expired"] is False and body["valid_until"] == "2099-01-31"
    assert body["lines"][0] == {"product": deal.line_items.first().product_id, "sku": "LIC-100",
                                "description": "Team licence", "quantity": "3", "unit_price": "120",
                                "discount_percent": "10.00", "line_total": "324.00"}

    sent = api.post(f"/proposals/{body['id']}/send", {})
    assert sent.status_code == 200 and sent.json()["status"] == "sent"
    url = sent.json()["customer_url"]
    proposal = Proposal.objects.get(pk=body["id"])
    assert url.endswith(f"/p/{selectors.link_token(proposal)}/")
    assert api.get(f"/proposals/{proposal.pk}").json()["customer_url"] == url

    # The link works for someone with no account at all.
    path = url.split("testserver", 1)[1]
    customer = Client()
    assert customer.get(path).status_code == 200
    assert customer.post(path + "accept/", {"name": "Hana"}).status_code == 302
    read = api.get(f"/proposals/{proposal.pk}").json()
    assert read["status"] == "accepted" and read["responder_name"] == "Hana"
    deal.refresh_from_db()
    assert deal.status == DealStatus.WON


def test_new_version_through_the_api(seller, api_as, deal):
    api = api_as(seller)
    v1 = api.post("/proposals", {"deal": deal.pk, "tax_percent": "20"}).json()
    api.post(f"/proposals/{v1['id']}/send", {})
    v2 = api.post(f"/proposals/{v1['id']}/versions", {"discount_percent": "10"})
    assert v2.status_code == 201, v2.content
    assert (v2.json()["number"], v2.json()["version"], v2.json()["tax_percent"]) == (v1["number"], 2, "20.00")
    old = api.get(f"/proposals/{v1['id']}").json()
    # A superseded version offers no link: it would only tell the customer it was replaced.
    assert old["status"] == "superseded" and old["customer_url"] is None
    again = api.post(f"/proposals/{v1['id']}/versions", {})
    assert field_errors(again) == {("body", "proposal"): f"version 2 of {v1['number']} is the current one; "
                                                         "make the new version from it"}


@pytest.mark.parametrize(("payload", "loc", "msg"), [
    ({"discount_percent": 120}, ("body", "discount_percent"), "a percentage from 0 to 100"),
    ({"discount_percent": "-0.01"}, ("body", "discount_percent"), "a percentage from 0 to 100"),
    ({"tax_percent": "19.125"}, ("body", "tax_percent"), "at most 2 decimal places"),
    ({"tax_percent": 7.125}, ("body", "tax_percent"), "at most 2 decimal places"),
    ({"valid_until": "2001-01-01"}, ("body", "valid_until"), "must be today or later"),
    ({"notes": "x" * 5001}, ("body", "notes"), "at most 5000 characters"),
])
def test_bad_terms_are_422_naming_the_field(seller, api_as, deal, payload, loc, msg):
    response = api_as(seller).post("/proposals", {"deal": deal.pk, **payload})
    assert field_errors(response) == {loc: msg}
    assert not Proposal.objects.exists()


@pytest.mark.parametrize("payload", [
    {"tax_percent": "lots"}, {"valid_until": "31/12/2030"}, {"total": "1"}, {"deal": "first"},
])
def test_unparsable_or_unknown_fields_are_422(seller, api_as, deal, payload):
    errors = field_errors(api_as(seller).post("/proposals", {"deal": deal.pk, **payload}))
    (field,) = payload
    assert ("body", field) in errors


def test_a_deal_without_lines_or_a_missing_deal_is_422(seller, api_as, products):
    empty = make_deal(seller, lines=[])
    api = api_as(seller)
    assert "no line items" in field_errors(api.post("/proposals", {"deal": empty.pk}))[("body", "deal")]
    assert field_errors(api.post("/proposals", {"deal": 999999})) == {("body", "deal"): "no such deal"}
    assert ("body", "deal") in field_errors(api.post("/proposals", {}))


def test_another_team_sees_nothing(seller, other_seller, api_as, deal):
    mine = api_as(seller).post("/proposals", {"deal": deal.pk}).json()
    api = api_as(other_seller)
    for path in (f"/proposals/{mine['id']}", f"/proposals/{mine['id']}/pdf"):
        assert api.get(path).status_code == 404, path
    assert api.post(f"/proposals/{mine['id']}/send", {}).status_code == 404
    assert api.post(f"/proposals/{mine['id']}/versions", {}).status_code == 404
    assert api.get("/proposals").json()["items"] == []
    assert api.get("/proposals", {"deal": deal.pk}).json()["items"] == []
    # Their deal id in a body is as unknown to them as a deal that does not exist.
    assert field_errors(api.post("/proposals", {"deal": deal.pk})) == {("body", "deal"): "no such deal"}
    assert Proposal.objects.get().status == ProposalStatus.DRAFT


def test_unauthenticated_is_401(deal):
    assert Client().get("/api/v1/proposals", secure=True).status_code == 401


def test_list_by_deal_pages_with_constant_queries(seller, api_as, deal, products):
    other = make_deal(seller, name="Other", lines=[{"description": "X", "unit_price": "1"}])
    for _ in range(3):
        services.create_proposal(actor=seller, deal=deal, data={})
    services.create_proposal(actor=seller, deal=other, data={})
    api = api_as(seller)
    first = api.get("/proposals", {"deal": deal.pk, "limit": 2}).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = api.get("/proposals", {"deal": deal.pk, "limit": 2, "cursor": first["next_cursor"]}).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert {p["deal"] for p in first["items"] + rest["items"]} == {deal.pk}
    assert all(len(p["lines"]) == 2 for p in first["items"] + rest["items"])

    def count(limit):
        with CaptureQueriesContext(connection) as queries:
            assert api.get("/proposals", {"limit": limit}).status_code == 200
        return len(queries)

    assert count(1) == count(4)


def test_bad_list_parameters_are_422(seller, api_as):
    api = api_as(seller)
    assert ("query", "status") in field_errors(api.get("/proposals", {"status": "pending"}))
    assert ("query", "dael") in field_errors(api.get("/proposals", {"dael": "1"}))
    assert ("query", "cursor") in field_errors(api.get("/proposals", {"cursor": "garbage!"}))


def test_pdf_through_the_api(seller, api_as, deal):
    api = api_as(seller)
    created = api.post("/proposals", {"deal": deal.pk}).json()
    response = api.get(f"/proposals/{created['id']}/pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
