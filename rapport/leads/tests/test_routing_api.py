"""/api/v1/lead-routing: rules, settings and capacities; admins write, bad input named."""

import pytest

from rapport.api.testing import field_errors
from rapport.core.models import AuditEntry
from rapport.leads.models import AssignmentRule, RoutingSettings, SellerCapacity

pytestmark = pytest.mark.django_db


def test_an_admin_keeps_the_rules(api_as, admin_user, seller, teams):
    api = api_as(admin_user)
    created = api.post("/lead-routing/rules", {"name": "DACH enterprise", "countries": ["de", "AT"],
                                               "size_bands": ["1000+"], "team": teams["north"].pk})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["countries"] == ["DE", "AT"] and body["team"] == teams["north"].pk and body["position"] == 10
    rule_id = body["id"]
    changed = api.patch(f"/lead-routing/rules/{rule_id}", {"team": None, "assign_to": seller.pk, "active": False})
    assert changed.status_code == 200 and changed.json()["assign_to"] == seller.pk
    assert [r["id"] for r in api.get("/lead-routing/rules").json()] == [rule_id]
    assert api.delete(f"/lead-routing/rules/{rule_id}").status_code == 204
    assert api.get("/lead-routing/rules").json() == []
    assert api.get(f"/lead-routing/rules/{rule_id}").status_code == 404
    assert AuditEntry.objects.filter(record_type="leads.assignmentrule", record_id=rule_id).count() == 3


@pytest.mark.parametrize("data, field", [
    ({"name": "", "assign_to": 1}, "name"),
    ({"name": "X"}, "assign_to"),
    ({"name": "X", "assign_to": 999999}, "assign_to"),
    ({"name": "X", "team": 999999}, "team"),
    ({"name": "X", "countries": ["Germany"], "team": None, "assign_to": None}, "countries"),
    ({"name": "X", "size_bands": ["huge"]}, "size_bands"),
    ({"name": "X", "sources": ["pigeon"]}, "sources"),
    ({"name": "X", "position": -1}, "position"),
    ({"name": "X", "colour": "red"}, "colour"),
])
def test_bad_rules_are_refused_with_the_field_named(api_as, admin_user, data, field):
    response = api_as(admin_user).post("/lead-routing/rules", data)
    assert any(field in loc for loc in field_errors(response))
    assert not AssignmentRule.objects.exists()


def test_a_rule_names_a_user_or_a_team_not_both(api_as, admin_user, seller, teams):
    response = api_as(admin_user).post("/lead-routing/rules", {"name": "X", "assign_to": seller.pk,
                                                               "team": teams["north"].pk})
    assert ("body", "team") in field_errors(response)


def test_sellers_and_managers_may_not_change_routing(api_as, seller, manager):
    assert api_as(seller).post("/lead-routing/rules", {"name": "Mine", "assign_to": seller.pk}).status_code == 403
    assert api_as(seller).get("/lead-routing/rules").status_code == 403
    assert api_as(manager).get("/lead-routing/rules").status_code == 200
    assert api_as(manager).post("/lead-routing/rules", {"name": "Mine", "assign_to": manager.pk}).status_code == 403
    assert api_as(manager).patch("/lead-routing/settings", {"default_capacity": 5}).status_code == 403
    assert api_as(seller).get("/lead-routing/settings").status_code == 403


def test_settings_are_validated_and_saved(api_as, admin_user, manager):
    api = api_as(admin_user)
    default = api.get("/lead-routing/settings").json()
    assert default["business_hours"]["mon"] == [["09:00", "17:00"]] and default["first_response_hours"] == "4.00"
    response = api.patch("/lead-routing/settings", {
        "fallback_owner": manager.pk, "first_response_hours": "2.5", "time_zone": "Europe/Berlin",
        "business_hours": {"mon": [["08:00", "12:00"], ["13:00", "18:00"]], "fri": [["08:00", "14:00"]]},
        "holidays": ["2026-12-25", "2026-12-24"]})
    assert response.status_code == 200, response.content
    settings = RoutingSettings.objects.get(pk=1)
    assert settings.fallback_owner == manager and settings.holidays == ["2026-12-24", "2026-12-25"]
    bad = api.patch("/lead-routing/settings", {"time_zone": "Mars/Base", "first_response_hours": "-1",
                                               "business_hours": {"mon": [["18:00", "08:00"]]},
                                               "holidays": ["Christmas"]})
    errors = field_errors(bad)
    assert set(errors) >= {("body", "time_zone"), ("body", "first_response_hours"), ("body", "business_hours", "mon"),
                           ("body", "holidays")}
    assert RoutingSettings.objects.get(pk=1).time_zone == "Europe/Berlin"  # nothing half-saved


def test_capacity_by_an_admin_or_the_sellers_manager(api_as, admin_user, manager, seller, other_seller):
    assert api_as(manager).put(f"/lead-routing/capacities/{seller.pk}", {"max_open_leads": 20}).status_code == 200
    assert SellerCapacity.objects.get(user=seller).max_open_leads == 20
    assert api_as(manager).put(f"/lead-routing/capacities/{other_seller.pk}",
                               {"max_open_leads": 20}).status_code == 403
    assert api_as(seller).put(f"/lead-routing/capacities/{seller.pk}", {"max_open_leads": 999}).status_code == 403
    response = api_as(admin_user).put(f"/lead-routing/capacities/{seller.pk}", {"max_open_leads": -3})
    assert ("body", "max_open_leads") in field_errors(response)
    assert api_as(admin_user).put("/lead-routing/capacities/999999", {"max_open_leads": 3}).status_code == 404
