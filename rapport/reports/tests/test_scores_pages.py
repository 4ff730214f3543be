"""Scores where people see them: the Relationship panel, the contact list's filters and sort, the
API, and the Scores page. A seller never sees another team's scores, anywhere."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from rapport.reports.models import CustomerScore, ModelRun

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2025, 6, 30)
COMPONENTS = {"alive": 90, "recency": 40, "engagement": 25, "contact": 51, "deals": None}


@pytest.fixture(name="run")
def run_fixture(db):
    return ModelRun.objects.create(as_of=AS_OF, engine_version="1", status="done", chosen_model="bg_nbd",
                                   fits={"health_weights": {"alive": 30, "recency": 25, "engagement": 15,
                                                            "contact": 15, "deals": 15},
                                         "contacts": {"typical_interval_days": 45.0}})


def make_score(run, customer, **fields) -> CustomerScore:
    kind = "company" if customer.__class__.__name__ == "Company" else "contact"
    values = dict(as_of=AS_OF, model="bg_nbd", engine_version="1", frequency=12, recency=40, age=60, orders=13,
                  revenue=Decimal("1040.00"), probability_alive=0.9, expected_purchases_12m=6.5,
                  expected_order_value=82.0, value_12m=533.0, lifetime_value=1200.0, health=62,
                  usual_interval_days=30.0, events_recent=2, events_before=8,
                  last_order_at=dt.datetime(2025, 5, 20, tzinfo=dt.UTC),
                  last_contacted_at=dt.datetime(2025, 4, 18, tzinfo=dt.UTC), health_components=COMPONENTS)
    values.update(fields)
    return CustomerScore.objects.create(run=run, owner=customer.owner, team=customer.team, **{kind: customer},
                                        **values)


def test_contact_page_shows_the_relationship_panel(client, seller, make_contact, run):
    contact = make_contact(seller)
    make_score(run, contact)
    client.force_login(seller)
    html = client.get(reverse("contact_detail", args=[contact.pk])).content.decode()
    assert "Relationship" in html
    assert "533.00 EUR" in html and "1,200.00 EUR" in html  # 12-month and lifetime value
    assert "90% chance" in html and "6.5 in the next 12 months" in html
    assert "62/100" in html
    assert "no contact in 74 days while they usually buy every 30 days" in html
    assert "activity down from 8 to 2 events" in html
    assert "As of 30 Jun 2025" in html and "BG/NBD" in html
    assert "Not scored yet" not in html


def test_contact_page_without_a_score_says_how_to_get_one(client, seller, make_contact):
    contact = make_contact(seller)
    client.force_login(seller)
    html = client.get(reverse("contact_detail", args=[contact.pk])).content.decode()
    assert "Relationship" in html and "Not scored yet: run a refresh." in html


def test_company_page_shows_its_own_score(client, seller, make_company, run):
    company = make_company(seller)
    client.force_login(seller)
    assert "Not scored yet: run a refresh." in client.get(reverse("company_detail", args=[company.pk])).content.decode()
    make_score(run, company, value_12m=9876.0)
    html = client.get(reverse("company_detail", args=[company.pk])).content.decode()
    assert "9,876.00 EUR" in html and "Not scored yet" not in html


def test_a_seller_never_sees_another_teams_scores(client, seller, other_seller, make_contact, make_company, run,
                                                  api_as):
    theirs = make_contact(other_seller, first_name="Hidden")
    their_company = make_company(other_seller)
    make_score(run, theirs, health=10, lifetime_value=99999.0)
    make_score(run, their_company)
    client.force_login(seller)
    assert client.get(reverse("contact_detail", args=[theirs.pk])).status_code == 404
    for params in ({"health": "at_risk"}, {"alive": "likely"}, {"sort": "-value"}, {"sort": "value"}):
        html = client.get(reverse("contact_list"), params).content.decode()
        assert theirs.email not in html and "99,999" not in html
    api = api_as(seller)
    for url in (f"/contacts/{theirs.pk}/score", f"/companies/{their_company.pk}/score",
                "/contacts/999999/score"):
        response = api.get(url)
        assert response.status_code == 404 and response.json() == {"detail": "Not found"}
    listed = api.get("/contacts", {"health": "at_risk"}).json()["items"]
    assert listed == []


def test_api_gives_the_score_with_reasons(seller, make_contact, make_company, run, api_as):
    contact = make_contact(seller)
    make_score(run, contact)
    company = make_company(seller)
    api = api_as(seller)
    body = api.get(f"/contacts/{contact.pk}/score").json()
    assert body["contact"] == contact.pk and body["company"] is None
    assert body["currency"] == "EUR" and body["value_12m"] == 533.0 and body["lifetime_value"] == 1200.0
    assert body["probability_alive"] == 0.9 and body["health"] == 62 and body["as_of"] == "2025-06-30"
    assert body["health_components"]["deals"] is None
    assert {"component": "contact", "score": 51,
            "text": "no contact in 74 days while they usually buy every 30 days"} in body["reasons"]
    missing = api.get(f"/companies/{company.pk}/score")
    assert missing.status_code == 404 and missing.json()["detail"].startswith("Not scored yet")
    assert api.get(f"/contacts/{contact.pk}/score", {"verbose": "1"}).status_code == 422


def test_list_filters_by_health_band_and_chance_alive(client, seller, make_contact, run):
    healthy = make_contact(seller, first_name="Hale")
    watch = make_contact(seller, first_name="Wanda")
    at_risk = make_contact(seller, first_name="Risa")
    unscored = make_contact(seller, first_name="Una")
    make_score(run, healthy, health=85, probability_alive=0.95)
    make_score(run, watch, health=55, probability_alive=0.5)
    make_score(run, at_risk, health=20, probability_alive=0.1)
    client.force_login(seller)

    def listed(**params):
        html = client.get(reverse("contact_list"), params).content.decode()
        return {c.first_name for c in (healthy, watch, at_risk, unscored) if c.email in html}

    assert listed(health="healthy") == {"Hale"}
    assert listed(health="watch") == {"Wanda"}
    assert listed(health="at_risk") == {"Risa"}
    assert listed(alive="unlikely") == {"Risa"}
    assert listed(alive="likely", health="healthy") == {"Hale"}
    assert listed() == {"Hale", "Wanda", "Risa", "Una"}
    html = client.get(reverse("contact_list"), {"health": "sick"}).content.decode()
    assert "health: choose one of: healthy, watch, at_risk" in html
    html = client.get(reverse("contact_list"), {"alive": "maybe"}).content.decode()
    assert "alive: choose one of: likely, uncertain, unlikely" in html


def test_list_sorts_by_value_across_pages(seller, teammate, make_contact, run):
    from rapport.people.selectors import list_contacts

    contacts = [make_contact(seller if i % 2 else teammate) for i in range(7)]
    values = [300.0, 100.0, 700.0, 100.0, 500.0, 0.0, 250.0]
    for contact, value in zip(contacts, values, strict=True):
        make_score(run, contact, lifetime_value=value)
    make_contact(seller)  # unscored: no value to sort by
    seen, cursor = [], None
    while True:
        page = list_contacts(seller, {"sort": "-value"}, cursor=cursor, size=3)
        seen += [c.pk for c in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    expected = [c.pk for _, c in sorted(zip(values, contacts, strict=True), key=lambda vc: (-vc[0], -vc[1].pk))]
    assert seen == expected
    ascending = [c.pk for c in list_contacts(seller, {"sort": "value"}, size=50).items]
    assert ascending == [c.pk for _, c in sorted(zip(values, contacts, strict=True), key=lambda vc: (vc[0], vc[1].pk))]


def test_api_list_refuses_a_bad_band(seller, api_as):
    response = api_as(seller).get("/contacts", {"health": "great"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "health"]


def test_contact_list_query_count_does_not_grow_with_scored_rows(client, seller, make_contact, run,
                                                                 django_assert_max_num_queries):
    client.force_login(seller)
    for _ in range(3):
        make_score(run, make_contact(seller))
    with django_assert_max_num_queries(25) as few:
        client.get(reverse("contact_list"), {"sort": "-value"})
    for _ in range(20):
        make_score(run, make_contact(seller))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("contact_list"), {"sort": "-value"})
    assert response.status_code == 200


def test_scores_page_and_refresh_now(client, admin_user, manager, seller, django_capture_on_commit_callbacks):
    client.force_login(seller)
    assert client.get(reverse("score_runs")).status_code == 404
    client.force_login(manager)
    html = client.get(reverse("score_runs")).content.decode()
    assert "Latest refreshes" in html and "Refresh now" not in html
    assert client.post(reverse("score_refresh")).status_code == 403
    assert not ModelRun.objects.exists()
    client.force_login(admin_user)
    assert "Refresh now" in client.get(reverse("score_runs")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("score_refresh"))
    assert response.status_code == 302
    run = ModelRun.objects.get()
    assert run.requested_by == admin_user and run.status == "done"  # the immediate task backend ran it
    html = client.get(reverse("score_runs")).content.decode()
    assert "no orders with a customer yet" in html
