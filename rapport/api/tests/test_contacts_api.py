"""/api/v1/contacts: every operation with good and bad input, visibility and mass assignment."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.core.models import AuditEntry
from rapport.people.models import Contact, CustomField

from .conftest import field_errors

pytestmark = pytest.mark.django_db


@pytest.fixture
def budget_field(db):
    return CustomField.objects.create(entity="contact", key="budget", label="Budget", field_type="number")


# --- create -----------------------------------------------------------------------------------

def test_create_normalises_and_returns_the_contact(seller, api_as, make_company, budget_field):
    company = make_company(seller)
    response = api_as(seller).post("/contacts", {
        "first_name": " Ann ", "last_name": "Lee", "email": "Ann.Lee@Example.COM", "phone": "+44 20 7946 0958",
        "company": company.pk, "lifecycle_stage": "customer", "tags": ["webinar", "VIP", "webinar"],
        "country": "gb", "custom": {"budget": "12,500"},
    })

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["first_name"] == "Ann"
    assert body["email"] == "ann.lee@example.com"
    assert body["phone"] == "+442079460958"
    assert body["company"] == company.pk
    assert body["owner"] == seller.pk
    assert body["team"] == seller.profile.team_id
    assert body["lifecycle_stage"] == "customer"
    assert body["tags"] == ["vip", "webinar"]
    assert body["country"] == "GB"
    assert body["custom"] == {"budget": 12500}
    assert body["created_at"].endswith("Z")
    contact = Contact.objects.get(pk=body["id"])
    assert contact.created_by == seller
    entry = AuditEntry.objects.get(record_type="people.contact", record_id=contact.pk)
    assert (entry.action, entry.source, entry.actor) == ("create", "api", seller)


@pytest.mark.parametrize("field, value", [
    ("email", "not-an-email"),
    ("email", "ann@@example.com"),
    ("phone", "call me maybe"),
    ("phone", "+44 12"),
    ("country", "United Kingdom"),
    ("time_zone", "Mars/Olympus"),
    ("first_name", "x" * 101),
])
def test_create_rejects_malformed_values_naming_the_field(seller, api_as, field, value):
    response = api_as(seller).post("/contacts", {"first_name": "Ann", field: value})
    errors = field_errors(response)
    assert ("body", field) in errors
    assert errors[("body", field)]
    assert not Contact.objects.exists()


@pytest.mark.parametrize("field", ["emial", "team", "created_by", "deleted_at", "id", "name_key", "created_at"])
def test_create_rejects_unknown_and_read_only_fields(seller, api_as, field):
    response = api_as(seller).post("/contacts", {"first_name": "Ann", field: 1})
    errors = field_errors(response)
    assert ("body", field) in errors
    assert response.json()["detail"][0]["type"] == "extra_forbidden"
    assert not Contact.objects.exists()


@pytest.mark.parametrize("payload, loc", [
    ({"first_name": 123}, ("body", "first_name")),
    ({"first_name": "Ann", "tags": "vip"}, ("body", "tags")),
    ({"first_name": "Ann", "owner": "boss"}, ("body", "owner")),
    ({"first_name": "Ann", "company": {"id": 1}}, ("body", "company")),
    ({"first_name": "Ann", "custom": ["x"]}, ("body", "custom")),
    ({"first_name": "Ann", "lifecycle_stage": "boss"}, ("body", "lifecycle_stage")),
    ({"first_name": "Ann", "other_emails": ["ok@example.com", "nope"]}, ("body", "other_emails")),
])
def test_create_rejects_wrong_types_and_bad_choices(seller, api_as, payload, loc):
    assert loc in field_errors(api_as(seller).post("/contacts", payload))
    assert not Contact.objects.exists()


def test_create_needs_a_name_or_email(seller, api_as):
    assert ("body", "first_name") in field_errors(api_as(seller).post("/contacts", {}))


def test_create_rejects_a_duplicate_email(seller, api_as, make_contact):
    make_contact(seller, email="ann@example.com")
    errors = field_errors(api_as(seller).post("/contacts", {"first_name": "Ann", "email": "ANN@example.com"}))
    assert "already" in errors[("body", "email")]
    assert Contact.objects.count() == 1


def test_create_rejects_bad_custom_values_under_custom(seller, api_as, budget_field):
    errors = field_errors(api_as(seller).post("/contacts", {"first_name": "Ann", "custom": {"budget": "lots"}}))
    assert ("body", "custom", "budget") in errors
    errors = field_errors(api_as(seller).post("/contacts", {"first_name": "Ann", "custom": {"colour": "red"}}))
    assert ("body", "custom", "colour") in errors


def test_create_rejects_a_company_the_user_cannot_see(seller, other_seller, api_as, make_company):
    hidden = make_company(other_seller)
    errors = field_errors(api_as(seller).post("/contacts", {"first_name": "Ann", "company": hidden.pk}))
    assert ("body", "company") in errors


def test_malformed_json_is_refused(seller, api_as):
    response = api_as(seller).client.post("/api/v1/contacts", "{not json", content_type="application/json",
                                          secure=True)
    assert response.status_code in (400, 422)
    assert not Contact.objects.exists()


# --- read -------------------------------------------------------------------------------------

def test_read_returns_the_contact(seller, api_as, make_contact):
    contact = make_contact(seller, first_name="Ann", tags=["vip"])
    response = api_as(seller).get(f"/contacts/{contact.pk}")
    assert response.status_code == 200
    assert response.json()["id"] == contact.pk
    assert response.json()["tags"] == ["vip"]


def test_read_missing_or_trashed_is_404(seller, api_as, make_contact):
    contact = make_contact(seller)
    api = api_as(seller)
    assert api.get("/contacts/999999").status_code == 404
    assert api.delete(f"/contacts/{contact.pk}").status_code == 204
    response = api.get(f"/contacts/{contact.pk}")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found"}


def test_non_numeric_id_is_refused(seller, api_as):
    assert api_as(seller).get("/contacts/abc").status_code in (404, 422)


# --- list -------------------------------------------------------------------------------------

def test_list_walks_every_page_with_the_cursor(seller, api_as, make_contact):
    made = {make_contact(seller).pk for _ in range(7)}
    api = api_as(seller)
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = api.get("/contacts", params).json()
        seen += [c["id"] for c in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == sorted(made, reverse=True)  # newest first, no repeats, none missed


def test_list_sorts_by_name(seller, api_as, make_contact):
    for name in ("Cleo", "Abe", "Bea"):
        make_contact(seller, first_name=name, last_name="X")
    body = api_as(seller).get("/contacts", {"sort": "name"}).json()
    assert [c["first_name"] for c in body["items"]] == ["Abe", "Bea", "Cleo"]


def test_list_filters(seller, api_as, make_contact, make_company, teammate, budget_field):
    acme = make_company(seller)
    ann = make_contact(seller, first_name="Ann", lifecycle_stage="customer", tags=["vip"], company=acme,
                       custom={"budget": 500})
    bob = make_contact(teammate, first_name="Bob", lifecycle_stage="lead", email="bob@corp.example")
    api = api_as(seller)

    def ids(**params):
        response = api.get("/contacts", params)
        assert response.status_code == 200, response.content
        return {c["id"] for c in response.json()["items"]}

    assert ids() == {ann.pk, bob.pk}
    assert ids(stage="customer") == {ann.pk}
    assert ids(tag="vip") == {ann.pk}
    assert ids(owner="me") == {ann.pk}
    assert ids(owner=str(teammate.pk)) == {bob.pk}
    assert ids(company=acme.pk) == {ann.pk}
    assert ids(q="bob@corp") == {bob.pk}
    assert ids(q="ann") == {ann.pk}
    assert ids(cf_budget="500") == {ann.pk}
    assert ids(cf_budget="501") == set()


@pytest.mark.parametrize("params, loc", [
    ({"limit": 0}, ("query", "limit")),
    ({"limit": 201}, ("query", "limit")),
    ({"limit": "many"}, ("query", "limit")),
    ({"cursor": "not-a-cursor"}, ("query", "cursor")),
    ({"cursor": "WyJ4Il0"}, ("query", "cursor")),  # valid base64 JSON, wrong shape
    ({"stage": "boss"}, ("query", "stage")),
    ({"sort": "email"}, ("query", "sort")),
    ({"owner": "someone"}, ("query", "owner")),
    ({"company": "acme"}, ("query", "company")),
    ({"cf_colour": "red"}, ("query", "cf_colour")),
    ({"stag": "lead"}, ("query", "stag")),
    ({"page": "2"}, ("query", "page")),
])
def test_list_rejects_bad_parameters(seller, api_as, make_contact, params, loc):
    make_contact(seller)
    assert loc in field_errors(api_as(seller).get("/contacts", params))


def test_list_rejects_a_cursor_with_a_value_of_the_wrong_type(seller, api_as, make_contact):
    from rapport.core.pagination import encode_cursor

    make_contact(seller)
    cursor = encode_cursor(["not a date", 5])
    assert ("query", "cursor") in field_errors(api_as(seller).get("/contacts", {"sort": "-updated", "cursor": cursor}))


def test_list_limit_bounds_are_accepted(seller, api_as, make_contact):
    make_contact(seller)
    api = api_as(seller)
    assert api.get("/contacts", {"limit": 1}).status_code == 200
    assert api.get("/contacts", {"limit": 200}).status_code == 200


def test_list_runs_a_constant_number_of_queries(seller, api_as, make_contact, django_assert_max_num_queries):
    api = api_as(seller)
    api.get("/contacts")  # first use stamps last_used_at; keep that write out of the comparison
    for _ in range(3):
        make_contact(seller, tags=["a", "b"])
    with CaptureQueriesContext(connection) as three_rows:
        assert len(api.get("/contacts").json()["items"]) == 3
    for _ in range(27):
        make_contact(seller, tags=["a", "c"])
    with django_assert_max_num_queries(len(three_rows)):
        body = api.get("/contacts").json()
    assert len(body["items"]) == 30
    assert all(c["tags"] in (["a", "b"], ["a", "c"]) for c in body["items"])


# --- update -----------------------------------------------------------------------------------

def test_patch_changes_only_the_fields_sent(seller, api_as, make_contact):
    contact = make_contact(seller, first_name="Ann", last_name="Lee", job_title="CTO", tags=["vip"])
    response = api_as(seller).patch(f"/contacts/{contact.pk}", {"job_title": "CEO", "lifecycle_stage": "customer"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["first_name"], body["last_name"], body["job_title"]) == ("Ann", "Lee", "CEO")
    assert body["tags"] == ["vip"]
    entry = AuditEntry.objects.filter(record_id=contact.pk, action="update").get()
    assert entry.source == "api"
    assert entry.changes["job_title"] == ["CTO", "CEO"]
    assert "first_name" not in entry.changes


def test_patch_can_clear_a_field_with_null(seller, api_as, make_contact):
    contact = make_contact(seller, first_name="Ann", phone="+442079460958")
    body = api_as(seller).patch(f"/contacts/{contact.pk}", {"phone": None}).json()
    assert body["phone"] == ""


@pytest.mark.parametrize("payload, loc", [
    ({"email": "broken@"}, ("body", "email")),
    ({"phone": "12"}, ("body", "phone")),
    ({"lifecycle_stage": "vip"}, ("body", "lifecycle_stage")),
    ({"team": 2}, ("body", "team")),
    ({"deleted_at": None}, ("body", "deleted_at")),
    ({"tags": [1, 2]}, ("body", "tags", 0)),
])
def test_patch_rejects_bad_input_and_changes_nothing(seller, api_as, make_contact, payload, loc):
    contact = make_contact(seller, first_name="Ann", email="ann@example.com")
    assert loc in field_errors(api_as(seller).patch(f"/contacts/{contact.pk}", payload))
    contact.refresh_from_db()
    assert (contact.email, contact.deleted_at, contact.lifecycle_stage) == ("ann@example.com", None, "lead")


# --- delete -----------------------------------------------------------------------------------

def test_delete_moves_to_the_trash(seller, api_as, make_contact):
    contact = make_contact(seller)
    response = api_as(seller).delete(f"/contacts/{contact.pk}")
    assert response.status_code == 204
    assert response.content == b""
    contact.refresh_from_db()
    assert contact.deleted_at is not None
    assert AuditEntry.objects.filter(record_id=contact.pk, action="delete", source="api").exists()


def test_delete_twice_is_404(seller, api_as, make_contact):
    contact = make_contact(seller)
    api = api_as(seller)
    assert api.delete(f"/contacts/{contact.pk}").status_code == 204
    assert api.delete(f"/contacts/{contact.pk}").status_code == 404


# --- visibility: another team's contact does not exist for this seller ------------------------

def test_seller_cannot_reach_another_teams_contact(seller, other_seller, api_as, make_contact):
    theirs = make_contact(other_seller, first_name="Hidden", last_name="Person", email="hidden@south.example")
    api = api_as(seller)

    for response in (api.get(f"/contacts/{theirs.pk}"),
                     api.patch(f"/contacts/{theirs.pk}", {"first_name": "Mine"}),
                     api.delete(f"/contacts/{theirs.pk}")):
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found"}
    assert api.get("/contacts").json()["items"] == []
    for q in ("Hidden", "hidden@south", "Person"):
        assert api.get("/contacts", {"q": q}).json()["items"] == []
    assert api.get("/contacts", {"owner": str(other_seller.pk)}).json()["items"] == []
    theirs.refresh_from_db()
    assert (theirs.first_name, theirs.deleted_at) == ("Hidden", None)


def test_hidden_and_missing_contacts_answer_identically(seller, other_seller, api_as, make_contact):
    theirs = make_contact(other_seller)
    api = api_as(seller)
    hidden, missing = api.get(f"/contacts/{theirs.pk}"), api.get("/contacts/987654")
    assert (hidden.status_code, hidden.json()) == (missing.status_code, missing.json())


def test_teammate_and_marketer_see_the_contact(seller, teammate, marketer, api_as, make_contact):
    contact = make_contact(seller)
    assert api_as(teammate).get(f"/contacts/{contact.pk}").status_code == 200
    assert api_as(marketer).get(f"/contacts/{contact.pk}").status_code == 200


# --- mass assignment: owner and team ----------------------------------------------------------

def test_seller_cannot_give_a_contact_to_another_teams_user(seller, other_seller, api_as, make_contact):
    contact = make_contact(seller)
    errors = field_errors(api_as(seller).patch(f"/contacts/{contact.pk}", {"owner": other_seller.pk}))
    assert ("body", "owner") in errors
    contact.refresh_from_db()
    assert contact.owner == seller and contact.team_id == seller.profile.team_id


def test_seller_cannot_create_a_contact_owned_by_another_team(seller, other_seller, api_as):
    assert ("body", "owner") in field_errors(api_as(seller).post("/contacts", {"first_name": "Ann",
                                                                              "owner": other_seller.pk}))
    assert not Contact.objects.exists()


def test_seller_cannot_give_a_contact_even_to_a_teammate(seller, teammate, api_as, make_contact):
    contact = make_contact(seller)
    assert ("body", "owner") in field_errors(api_as(seller).patch(f"/contacts/{contact.pk}", {"owner": teammate.pk}))


def test_seller_cannot_take_over_another_teams_contact(seller, other_seller, api_as, make_contact):
    theirs = make_contact(other_seller)
    response = api_as(seller).patch(f"/contacts/{theirs.pk}", {"owner": seller.pk})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.owner == other_seller


def test_seller_cannot_clear_the_owner(seller, api_as, make_contact):
    contact = make_contact(seller)
    assert ("body", "owner") in field_errors(api_as(seller).patch(f"/contacts/{contact.pk}", {"owner": None}))


def test_owner_must_be_an_active_user(admin_user, api_as, make_contact):
    contact = make_contact(admin_user)
    assert ("body", "owner") in field_errors(api_as(admin_user).patch(f"/contacts/{contact.pk}", {"owner": 99999}))


def test_manager_assigns_within_the_team_only(manager, seller, other_seller, api_as, make_contact):
    contact = make_contact(seller)
    api = api_as(manager)
    response = api.patch(f"/contacts/{contact.pk}", {"owner": manager.pk})
    assert response.status_code == 200 and response.json()["owner"] == manager.pk
    assert ("body", "owner") in field_errors(api.patch(f"/contacts/{contact.pk}", {"owner": other_seller.pk}))


def test_admin_moves_a_contact_to_another_team_and_the_team_follows(admin_user, seller, other_seller, api_as,
                                                                     make_contact):
    contact = make_contact(seller)
    body = api_as(admin_user).patch(f"/contacts/{contact.pk}", {"owner": other_seller.pk}).json()
    assert body["owner"] == other_seller.pk
    assert body["team"] == other_seller.profile.team_id
    assert api_as(seller).get(f"/contacts/{contact.pk}").status_code == 404


# --- global search ----------------------------------------------------------------------------

def test_search_finds_contacts_and_companies_the_user_may_see(seller, other_seller, api_as, make_contact,
                                                              make_company):
    mine = make_contact(seller, first_name="Grace", last_name="Hopper", email="grace@navy.example")
    make_contact(other_seller, first_name="Grace", last_name="Kelly", email="grace@monaco.example")
    company = make_company(seller, name="Grace Labs", domain="gracelabs.example")
    make_company(other_seller, name="Grace Hidden", domain="gracehidden.example")
    api = api_as(seller)

    body = api.get("/search", {"q": "grace"}).json()
    assert [c["id"] for c in body["contacts"]] == [mine.pk]
    assert [c["id"] for c in body["companies"]] == [company.pk]
    assert api.get("/search", {"q": "grace@monaco"}).json()["contacts"] == []
    assert api.get("/search", {"q": "gracehidden.example"}).json()["companies"] == []


def test_search_input_is_checked(seller, api_as):
    api = api_as(seller)
    assert ("query", "q") in field_errors(api.get("/search"))
    assert ("query", "limit") in field_errors(api.get("/search", {"q": "ab", "limit": 0}))
    assert ("query", "type") in field_errors(api.get("/search", {"q": "ab", "type": "contact"}))
    assert api.get("/search", {"q": "a"}).json() == {"contacts": [], "companies": []}
