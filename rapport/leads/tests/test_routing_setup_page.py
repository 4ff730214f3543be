"""The routing set-up page: admins edit rules and settings, managers set capacities, sellers get 404."""

import pytest
from django.test import Client

from rapport.leads.models import AssignmentRule, RoutingSettings, SellerCapacity

pytestmark = pytest.mark.django_db


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def test_who_may_open_the_page(admin_user, manager, seller):
    assert client_for(seller).get("/leads/routing/", secure=True).status_code == 404
    html = client_for(manager).get("/leads/routing/", secure=True).content.decode()
    assert "Assignment rules" in html and "Add a rule" not in html  # managers read the rules
    assert "Add a rule" in client_for(admin_user).get("/leads/routing/", secure=True).content.decode()
    assert client_for(manager).post("/leads/routing/rules/new/", {"name": "X"}, secure=True).status_code == 404


def test_an_admin_adds_edits_and_removes_a_rule(admin_user, teams, seller):
    client = client_for(admin_user)
    response = client.post("/leads/routing/rules/new/", {
        "name": "DACH enterprise", "countries": "de, at", "size_bands": ["1000+"], "sources": ["web_form"],
        "target": f"team:{teams['north'].pk}", "active": "1"}, secure=True)
    assert response.status_code == 302
    rule = AssignmentRule.objects.get()
    assert rule.countries == ["DE", "AT"] and rule.team == teams["north"] and rule.active
    html = client.get(f"/leads/routing/rules/{rule.pk}/", secure=True).content.decode()
    assert f'value="team:{teams["north"].pk}" selected' in html
    client.post(f"/leads/routing/rules/{rule.pk}/", {"name": "Sam's", "target": f"user:{seller.pk}"}, secure=True)
    rule.refresh_from_db()
    assert rule.assign_to == seller and rule.team is None and not rule.active and rule.countries == []
    client.post(f"/leads/routing/rules/{rule.pk}/delete/", secure=True)
    rule.refresh_from_db()
    assert rule.deleted_at is not None


def test_a_bad_rule_is_shown_back_with_its_errors(admin_user):
    response = client_for(admin_user).post("/leads/routing/rules/new/", {"name": "Nowhere", "countries": "Germany"},
                                           secure=True)
    html = response.content.decode()
    assert response.status_code == 422
    assert "give the leads to a user, or choose a team" in html and 'value="Germany"' in html
    assert not AssignmentRule.objects.exists()


def test_settings_form(admin_user, manager):
    client = client_for(admin_user)
    response = client.post("/leads/routing/settings/", {
        "fallback_owner": manager.pk, "default_capacity": "30", "first_response_hours": "2",
        "time_zone": "Europe/Berlin", "hours_mon": "08:00-12:00, 13:00–17:00", "hours_fri": "9:00-13:00",
        "holidays": "2026-12-25\n2026-12-26"}, secure=True)
    assert response.status_code == 302
    settings = RoutingSettings.objects.get(pk=1)
    assert settings.business_hours == {"mon": [["08:00", "12:00"], ["13:00", "17:00"]], "fri": [["09:00", "13:00"]]}
    assert settings.fallback_owner == manager and settings.default_capacity == 30
    bad = client.post("/leads/routing/settings/", {"default_capacity": "30", "first_response_hours": "2",
                                                   "time_zone": "UTC", "hours_tue": "morning"}, secure=True)
    assert bad.status_code == 422 and "write spans as 09:00–17:00" in bad.content.decode()
    assert RoutingSettings.objects.get(pk=1).time_zone == "Europe/Berlin"


def test_a_manager_sets_capacity_for_their_sellers_only(manager, seller, other_seller):
    client = client_for(manager)
    client.post(f"/leads/routing/capacity/{seller.pk}/", {"max_open_leads": "12"}, secure=True)
    capacity = SellerCapacity.objects.get(user=seller)
    assert capacity.max_open_leads == 12 and not capacity.accepts_leads  # box left unticked
    assert client.post(f"/leads/routing/capacity/{other_seller.pk}/", {"max_open_leads": "1"},
                       secure=True).status_code == 404
    response = client.post(f"/leads/routing/capacity/{seller.pk}/", {"max_open_leads": "many"}, secure=True,
                           follow=True)
    assert "a whole number from 0 to 100,000" in response.content.decode()
