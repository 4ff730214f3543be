"""/api/v1/companies: every operation with good and bad input, and visibility."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.core.models import AuditEntry
from rapport.people.models import Company, CustomField

from .conftest import field_errors

pytestmark = pytest.mark.django_db


def test_create_company(seller, api_as):
    CustomField.objects.create(entity="company", key="tier", label="Tier", field_type="choice",
                               choices=["gold", "silver"])
    response = api_as(seller).post("/companies", {
        "name": "Acme Ltd", "domain": "https://www.Acme.example/about", "size_band": "50-249",
        "country": "de", "custom": {"tier": "Gold"},
    })
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Acme Ltd"
    assert body["domain"] == "acme.example"
    assert body["country"] == "DE"
    assert body["custom"] == {"tier": "gold"}
    assert body["owner"] == seller.pk and body["team"] == seller.profile.team_id
    assert AuditEntry.objects.filter(record_type="people.company", record_id=body["id"], source="api").exists()


@pytest.mark.parametrize("payload, loc", [
    ({}, ("body", "name")),
    ({"name": ""}, ("body", "name")),
    ({"name": None}, ("body", "name")),
    ({"name": "Acme", "domain": "not a domain"}, ("body", "domain")),
    ({"name": "Acme", "size_band": "huge"}, ("body", "size_band")),
    ({"name": "Acme", "country": "Germany"}, ("body", "country")),
    ({"name": "Acme", "other_domains": "acme.example"}, ("body", "other_domains")),
    ({"name": "Acme", "team": 1}, ("body", "team")),
    ({"name": "Acme", "created_by": 1}, ("body", "created_by")),
    ({"name": "Acme", "website": "acme.example"}, ("body", "website")),
    ({"name": "Acme", "custom": {"nope": 1}}, ("body", "custom", "nope")),
])
def test_create_company_rejects_bad_input(seller, api_as, payload, loc):
    assert loc in field_errors(api_as(seller).post("/companies", payload))
    assert not Company.objects.exists()


def test_read_update_delete_company(seller, api_as, make_company):
    company = make_company(seller, name="Acme", industry="Retail")
    api = api_as(seller)
    assert api.get(f"/companies/{company.pk}").json()["industry"] == "Retail"

    body = api.patch(f"/companies/{company.pk}", {"industry": "Wholesale"}).json()
    assert (body["name"], body["industry"]) == ("Acme", "Wholesale")
    assert ("body", "domain") in field_errors(api.patch(f"/companies/{company.pk}", {"domain": "%%%"}))
    assert ("body", "name") in field_errors(api.patch(f"/companies/{company.pk}", {"name": "  "}))

    assert api.delete(f"/companies/{company.pk}").status_code == 204
    assert api.get(f"/companies/{company.pk}").status_code == 404
    company.refresh_from_db()
    assert company.deleted_at is not None


def test_list_companies_with_filters_and_cursor(seller, api_as, make_company):
    for i in range(5):
        make_company(seller, name=f"Firm {i}", industry="Retail" if i % 2 else "Banking")
    api = api_as(seller)
    first = api.get("/companies", {"limit": 2, "sort": "name"}).json()
    assert [c["name"] for c in first["items"]] == ["Firm 0", "Firm 1"]
    second = api.get("/companies", {"limit": 2, "sort": "name", "cursor": first["next_cursor"]}).json()
    assert [c["name"] for c in second["items"]] == ["Firm 2", "Firm 3"]
    assert {c["name"] for c in api.get("/companies", {"industry": "Retail"}).json()["items"]} == {"Firm 1", "Firm 3"}
    assert [c["name"] for c in api.get("/companies", {"q": "firm 4"}).json()["items"]] == ["Firm 4"]


@pytest.mark.parametrize("params, loc", [
    ({"limit": 0}, ("query", "limit")),
    ({"limit": 500}, ("query", "limit")),
    ({"cursor": "@@@"}, ("query", "cursor")),
    ({"sort": "domain"}, ("query", "sort")),
    ({"cf_unknown": "x"}, ("query", "cf_unknown")),
    ({"name": "Acme"}, ("query", "name")),
])
def test_list_companies_rejects_bad_parameters(seller, api_as, params, loc):
    assert loc in field_errors(api_as(seller).get("/companies", params))


def test_seller_cannot_reach_another_teams_company(seller, other_seller, api_as, make_company):
    theirs = make_company(other_seller, name="Southern Secret")
    api = api_as(seller)
    assert api.get(f"/companies/{theirs.pk}").status_code == 404
    assert api.patch(f"/companies/{theirs.pk}", {"name": "Mine"}).status_code == 404
    assert api.delete(f"/companies/{theirs.pk}").status_code == 404
    assert api.get("/companies", {"q": "southern"}).json()["items"] == []
    theirs.refresh_from_db()
    assert (theirs.name, theirs.deleted_at) == ("Southern Secret", None)


def test_seller_cannot_give_a_company_to_another_team(seller, other_seller, api_as, make_company):
    company = make_company(seller)
    assert ("body", "owner") in field_errors(api_as(seller).patch(f"/companies/{company.pk}",
                                                                  {"owner": other_seller.pk}))
    company.refresh_from_db()
    assert company.owner == seller


def test_company_list_runs_a_constant_number_of_queries(seller, api_as, make_company,
                                                         django_assert_max_num_queries):
    api = api_as(seller)
    api.get("/companies")
    for _ in range(3):
        make_company(seller)
    with CaptureQueriesContext(connection) as three_rows:
        assert len(api.get("/companies").json()["items"]) == 3
    for _ in range(27):
        make_company(seller)
    with django_assert_max_num_queries(len(three_rows)):
        assert len(api.get("/companies").json()["items"]) == 30
