import pytest

from rapport.api.testing import field_errors
from rapport.leads import services
from rapport.leads.models import DisqualifyReason, Lead, LeadRequestKey
from rapport.people.models import Company, Contact
from rapport.sales.models import Deal

pytestmark = pytest.mark.django_db

NEW_LEAD = {
    "contact": {"email": "ruth@bigco.example", "first_name": "Ruth", "last_name": "Buyer"},
    "company": {"domain": "bigco.example", "name": "BigCo"},
    "title": "Needs 50 seats", "budget_amount": "5000", "budget_currency": "EUR", "authority": "decision_maker",
}


def test_create_lead_by_email_creates_contact_and_company(api_as, seller):
    response = api_as(seller).post("/leads", NEW_LEAD)
    assert response.status_code == 201, response.content
    body = response.json()
    contact = Contact.objects.get(email="ruth@bigco.example")
    assert body["contact"] == contact.pk and body["contact_name"] == "Ruth Buyer"
    assert body["company"] == Company.objects.get(domain="bigco.example").pk == contact.company_id
    assert body["source"] == "api" and body["status"] == "new" and body["budget_amount"] == "5000.00"
    assert body["owner"] == seller.pk


def test_create_lead_refuses_bad_input_with_field_errors(api_as, seller):
    client = api_as(seller)
    errors = field_errors(client.post("/leads", {**NEW_LEAD, "budget_amount": "-1", "timeline": "soon"}))
    assert ("body", "budget_amount") in errors and ("body", "timeline") in errors
    errors = field_errors(client.post("/leads", {**NEW_LEAD, "contact": {"email": "nope"}}))
    assert ("body", "contact", "email") in errors
    errors = field_errors(client.post("/leads", {**NEW_LEAD, "colour": "red"}))
    assert ("body", "colour") in errors
    errors = field_errors(client.post("/leads", {**NEW_LEAD, "budget_currency": "ABC"}))
    assert ("body", "budget_currency") in errors
    assert not Lead.objects.exists() and not Contact.objects.exists()


def test_same_key_same_body_replays_the_first_reply(api_as, seller):
    client = api_as(seller)
    client.client.defaults["HTTP_IDEMPOTENCY_KEY"] = "order-42"
    first = client.post("/leads", NEW_LEAD)
    again = client.post("/leads", dict(reversed(list(NEW_LEAD.items()))))  # same JSON, other key order
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Lead.objects.count() == 1 and Contact.objects.count() == 1


def test_same_key_other_body_is_a_conflict(api_as, seller):
    client = api_as(seller)
    client.client.defaults["HTTP_IDEMPOTENCY_KEY"] = "order-43"
    assert client.post("/leads", NEW_LEAD).status_code == 201
    response = client.post("/leads", {**NEW_LEAD, "title": "Something else"})
    assert response.status_code == 409
    assert "different request" in response.json()["detail"]
    assert Lead.objects.count() == 1


def test_keys_are_kept_per_user(api_as, seller, teammate):
    mine, theirs = api_as(seller), api_as(teammate)
    for client in (mine, theirs):
        client.client.defaults["HTTP_IDEMPOTENCY_KEY"] = "shared-key"
    assert mine.post("/leads", NEW_LEAD).status_code == 201
    other = theirs.post("/leads", {**NEW_LEAD, "contact": {"email": "tom@bigco.example"}})
    assert other.status_code == 201, other.content
    assert Lead.objects.count() == 2 and LeadRequestKey.objects.count() == 2


def test_a_refused_request_does_not_use_up_its_key(api_as, seller):
    client = api_as(seller)
    client.client.defaults["HTTP_IDEMPOTENCY_KEY"] = "retry-me"
    assert client.post("/leads", {**NEW_LEAD, "authority": "king"}).status_code == 422
    assert client.post("/leads", NEW_LEAD).status_code == 201
    client.client.defaults["HTTP_IDEMPOTENCY_KEY"] = " "
    assert ("body", "Idempotency-Key") in field_errors(client.post("/leads", NEW_LEAD))


def test_batch_creates_the_good_items_and_reports_each_bad_one(api_as, seller):
    items = [
        NEW_LEAD,
        {**NEW_LEAD, "contact": {"email": "bad"}},
        {"title": "no contact"},
        {**NEW_LEAD, "contact": {"email": "ann@bigco.example"}, "timeline": "whenever"},
        {**NEW_LEAD, "contact": {"email": "bob@bigco.example"}, "unknown": 1},
        {**NEW_LEAD, "contact": {"email": "cy@bigco.example"}},
    ]
    response = api_as(seller).post("/leads/batch", {"items": items})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["failed"]) == (2, 4)
    statuses = [r["status"] for r in body["results"]]
    assert statuses == [201, 422, 422, 422, 422, 201]
    locs = {r["index"]: [tuple(e["loc"]) for e in r["errors"]] for r in body["results"]}
    assert ("contact", "email") in locs[1]
    assert ("contact",) in locs[2]
    assert ("timeline",) in locs[3]
    assert ("unknown",) in locs[4]
    assert Lead.objects.count() == 2
    assert not Contact.objects.filter(email="ann@bigco.example").exists()  # its lead failed: no stray contact


def test_batch_limits(api_as, seller):
    client = api_as(seller)
    assert ("body", "items") in field_errors(client.post("/leads/batch", {"items": []}))
    assert ("body", "items") in field_errors(client.post("/leads/batch", {"items": [NEW_LEAD] * 501}))


def test_other_team_never_sees_the_lead(api_as, seller, other_seller, make_contact):
    lead = services.create_lead(actor=seller, contact=make_contact(seller, first_name="Secret"), data={})
    client = api_as(other_seller)
    assert client.get(f"/leads/{lead.pk}").status_code == 404
    assert client.get("/leads").json()["items"] == []
    assert client.get("/leads", {"q": "secret"}).json()["items"] == []
    assert client.patch(f"/leads/{lead.pk}", {"title": "x"}).status_code == 404
    assert client.post(f"/leads/{lead.pk}/qualify", {}).status_code == 404
    assert client.post(f"/leads/{lead.pk}/convert", {}).status_code == 404
    reason = DisqualifyReason.objects.first()
    assert client.post(f"/leads/{lead.pk}/disqualify", {"reason": reason.pk}).status_code == 404
    assert [item["id"] for item in api_as(seller).get("/leads", {"q": "secret"}).json()["items"]] == [lead.pk]


def test_list_filters_and_cursor(api_as, seller, make_contact):
    for n in range(5):
        services.create_lead(actor=seller, contact=make_contact(seller), data={"campaign": "spring" if n % 2 else ""})
    client = api_as(seller)
    first = client.get("/leads", {"limit": 2}).json()
    second = client.get("/leads", {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert len(first["items"]) == 2 and len(second["items"]) == 2
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}
    assert len(client.get("/leads", {"campaign": "spring"}).json()["items"]) == 2
    assert ("query", "status") in field_errors(client.get("/leads", {"status": "lost"}))
    assert ("query", "stauts") in field_errors(client.get("/leads", {"stauts": "new"}))
    assert ("query", "score_max") in field_errors(client.get("/leads", {"score_min": 50, "score_max": 10}))


def test_qualify_convert_and_disqualify(api_as, seller, make_contact):
    client = api_as(seller)
    lead = services.create_lead(actor=seller, contact=make_contact(seller), data={"budget_amount": "700"})
    response = client.post(f"/leads/{lead.pk}/qualify", {"authority": "finance"})
    assert response.status_code == 200 and response.json()["status"] == "qualified"
    response = client.post(f"/leads/{lead.pk}/convert", {})
    assert response.status_code == 200, response.content
    deal = Deal.objects.get(pk=response.json()["deal"])
    assert deal.lead_id == lead.pk and str(deal.amount) == "700.0000"
    assert client.get(f"/deals/{deal.pk}").json()["lead_id"] == lead.pk
    assert client.post(f"/leads/{lead.pk}/convert", {}).status_code == 403
    other = services.create_lead(actor=seller, contact=make_contact(seller), data={})
    assert ("body", "reason") in field_errors(client.post(f"/leads/{other.pk}/disqualify", {}))
    assert ("body", "reason") in field_errors(client.post(f"/leads/{other.pk}/disqualify", {"reason": 99999}))
    reason = client.get("/lead-disqualify-reasons").json()[0]
    response = client.post(f"/leads/{other.pk}/disqualify", {"reason": reason["id"], "to_nurture": True})
    assert response.json()["status"] == "nurture" and response.json()["disqualify_reason"] == reason["label"]
    assert client.post(f"/leads/{other.pk}/reopen", {}).json()["status"] == "new"


def test_list_costs_the_same_queries_for_more_leads(api_as, seller, make_contact):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from rapport.sales.models import ProductCategory

    software = ProductCategory.objects.create(name="Software")
    client = api_as(seller)

    def add(n):
        for _ in range(n):
            services.create_lead(actor=seller, contact=make_contact(seller), data={"need_categories": [software.pk]})

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/leads").status_code == 200
        return len(captured)

    add(2)
    queries()  # the first request of a session also reads the user's profile and token
    few = queries()
    add(6)
    assert queries() == few


def test_sort_by_score_pages_through_scored_leads(api_as, seller, make_contact):
    leads = [services.create_lead(actor=seller, contact=make_contact(seller), data={}) for _ in range(5)]
    for lead, score in zip(leads, (40, 90, None, 90, 10), strict=True):
        Lead.objects.filter(pk=lead.pk).update(score=score)
    client = api_as(seller)
    first = client.get("/leads", {"sort": "-score", "limit": 2}).json()
    rest = client.get("/leads", {"sort": "-score", "limit": 2, "cursor": first["next_cursor"]}).json()
    scores = [item["score"] for item in first["items"] + rest["items"]]
    assert scores == [90, 90, 40, 10] and rest["next_cursor"] is None
    assert ("query", "sort") in field_errors(client.get("/leads", {"sort": "colour"}))


def test_a_replayed_batch_creates_nothing_and_the_key_with_another_body_is_a_conflict(api_as, seller):
    client = api_as(seller)
    client.client.defaults["HTTP_IDEMPOTENCY_KEY"] = "nightly-sync-7"
    items = [NEW_LEAD, {**NEW_LEAD, "contact": {"email": "tom@bigco.example"}}, {"title": "no contact"}]
    first = client.post("/leads/batch", {"items": items})
    assert first.status_code == 200 and first.json()["created"] == 2
    again = client.post("/leads/batch", {"items": items})
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Lead.objects.count() == 2
    changed = client.post("/leads/batch", {"items": items[:1]})
    assert changed.status_code == 409 and "different request" in changed.json()["detail"]
    # The batch's key is not a key for a single lead either.
    assert client.post("/leads", NEW_LEAD).status_code == 409
    assert Lead.objects.count() == 2 and Contact.objects.count() == 2


@pytest.mark.parametrize("path, body", [
    ("/leads", {**NEW_LEAD, "need": "x" * 3_000_000}),
    ("/leads/batch", {"items": [{**NEW_LEAD, "need": "y" * 9_000}] * 300}),
])
def test_an_oversized_body_is_refused_with_a_reason_and_nothing_is_stored(api_as, seller, path, body):
    client = api_as(seller)
    client.client.defaults["HTTP_IDEMPOTENCY_KEY"] = "too-big"
    response = client.post(path, body)
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]
    assert not Lead.objects.exists() and not Contact.objects.exists() and not LeadRequestKey.objects.exists()


def test_an_edit_refuses_unknown_fields_and_statuses_it_may_not_set(api_as, seller, make_contact):
    lead = services.create_lead(actor=seller, contact=make_contact(seller), data={"title": "Ten seats"})
    lead.refresh_from_db()
    before = (lead.title, lead.status, lead.score, lead.deal_id, lead.first_response_at)
    client = api_as(seller)
    # Scores, the deal and the clock are Rapport's to set, not a client's.
    for field, value in (("score", 99), ("deal", 1), ("first_response_at", "2026-01-01T00:00:00Z"), ("colour", "red")):
        assert ("body", field) in field_errors(client.patch(f"/leads/{lead.pk}", {"title": "Changed", field: value}))
    assert ("body", "status") in field_errors(client.patch(f"/leads/{lead.pk}", {"status": "converted"}))
    assert ("body", "budget_amount") in field_errors(client.patch(f"/leads/{lead.pk}", {"budget_amount": "lots"}))
    lead.refresh_from_db()
    assert (lead.title, lead.status, lead.score, lead.deal_id, lead.first_response_at) == before
    assert before[:2] == ("Ten seats", "new") and before[2] != 99
