"""/api/v1/activities and /api/v1/events: logging time with customers and reading the timeline."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rapport.core.models import AuditEntry
from rapport.timeline import services as timeline
from rapport.timeline.models import Activity, Event

from .conftest import field_errors

pytestmark = pytest.mark.django_db


def test_log_a_call_against_a_contact(seller, api_as, make_contact, make_company):
    company = make_company(seller)
    contact = make_contact(seller, company=company)
    when = "2026-01-15T09:30:00Z"
    response = api_as(seller).post("/activities", {
        "kind": "call", "contact": contact.pk, "duration_minutes": 25, "outcome": "connected",
        "subject": "Renewal", "occurred_at": when,
    })
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["contact"], body["company"]) == ("call", contact.pk, company.pk)
    assert body["duration_minutes"] == 25
    assert body["occurred_at"] == "2026-01-15T09:30:00Z"
    assert body["owner"] == seller.pk
    event = Event.objects.get(activity_id=body["id"])
    assert (event.kind, event.contact_id, event.payload["minutes"]) == ("call", contact.pk, 25)
    assert AuditEntry.objects.filter(record_type="timeline.activity", record_id=body["id"], source="api").exists()


def test_log_a_meeting_against_a_company(seller, api_as, make_company):
    company = make_company(seller)
    body = api_as(seller).post("/activities", {"kind": "meeting", "company": company.pk,
                                               "attendees": ["Ann", "Bob"], "duration_minutes": 60}).json()
    assert (body["company"], body["contact"], body["attendees"]) == (company.pk, None, ["Ann", "Bob"])


@pytest.mark.parametrize("payload, loc", [
    ({"kind": "note"}, ("body", "body")),
    ({"kind": "email"}, ("body", "subject")),
    ({"kind": "lunch", "body": "x"}, ("body", "kind")),
    ({"body": "x"}, ("body", "kind")),
    ({"kind": "call", "duration_minutes": -5}, ("body", "duration_minutes")),
    ({"kind": "call", "duration_minutes": 5000}, ("body", "duration_minutes")),
    ({"kind": "call", "duration_minutes": "long"}, ("body", "duration_minutes")),
    ({"kind": "call", "outcome": "great"}, ("body", "outcome")),
    ({"kind": "email", "subject": "Hi", "direction": "sideways"}, ("body", "direction")),
    ({"kind": "call", "occurred_at": "yesterday"}, ("body", "occurred_at")),
    ({"kind": "call", "occurred_at": "2999-01-01T00:00:00Z"}, ("body", "occurred_at")),
    ({"kind": "call", "owner": 1}, ("body", "owner")),
    ({"kind": "call", "team": 1}, ("body", "team")),
])
def test_log_activity_rejects_bad_input(seller, api_as, make_contact, payload, loc):
    contact = make_contact(seller)
    assert loc in field_errors(api_as(seller).post("/activities", {"contact": contact.pk, **payload}))
    assert not Activity.objects.exists()


def test_log_activity_needs_a_record(seller, api_as):
    assert ("body", "contact") in field_errors(api_as(seller).post("/activities", {"kind": "note", "body": "x"}))


def test_cannot_log_against_a_hidden_contact_or_company(seller, other_seller, api_as, make_contact, make_company):
    contact, company = make_contact(other_seller), make_company(other_seller)
    api = api_as(seller)
    errors = field_errors(api.post("/activities", {"kind": "note", "body": "x", "contact": contact.pk}))
    assert errors[("body", "contact")] == "no such contact"
    errors = field_errors(api.post("/activities", {"kind": "note", "body": "x", "company": company.pk}))
    assert errors[("body", "company")] == "no such company"
    missing = field_errors(api.post("/activities", {"kind": "note", "body": "x", "contact": 987654}))
    assert missing[("body", "contact")] == "no such contact"
    assert not Activity.objects.exists()


def test_read_update_delete_activity(seller, api_as, make_contact):
    contact = make_contact(seller)
    api = api_as(seller)
    activity_id = api.post("/activities", {"kind": "note", "contact": contact.pk, "body": "Likes golf"}).json()["id"]

    assert api.get(f"/activities/{activity_id}").json()["body"] == "Likes golf"
    body = api.patch(f"/activities/{activity_id}", {"body": "Likes tennis"}).json()
    assert body["body"] == "Likes tennis"
    assert Event.objects.get(activity_id=activity_id).summary == "Note: Likes tennis"
    assert ("body", "kind") in field_errors(api.patch(f"/activities/{activity_id}", {"kind": "call"}))
    assert ("body", "contact") in field_errors(api.patch(f"/activities/{activity_id}", {"contact": contact.pk}))

    assert api.delete(f"/activities/{activity_id}").status_code == 204
    assert api.get(f"/activities/{activity_id}").status_code == 404
    assert api.get("/events", {"contact": contact.pk, "kind": "note"}).json()["items"] == []


def test_another_teams_activity_is_404(seller, other_seller, api_as, make_contact):
    theirs = make_contact(other_seller)
    activity = timeline.log_activity(actor=other_seller, data={"kind": "note", "body": "secret"}, contact=theirs)
    api = api_as(seller)
    assert api.get(f"/activities/{activity.pk}").status_code == 404
    assert api.patch(f"/activities/{activity.pk}", {"body": "mine"}).status_code == 404
    assert api.delete(f"/activities/{activity.pk}").status_code == 404
    activity.refresh_from_db()
    assert (activity.body, activity.deleted_at) == ("secret", None)


# --- events -----------------------------------------------------------------------------------

def test_events_of_a_contact_newest_first_filtered_by_kind(seller, api_as, make_contact):
    contact = make_contact(seller)
    now = timezone.now()
    for days, kind in ((3, "call"), (2, "note"), (1, "call")):
        timeline.log_activity(actor=seller, contact=contact, data={
            "kind": kind, "body": f"{kind} {days}", "occurred_at": now - dt.timedelta(days=days)})
    api = api_as(seller)

    kinds = [e["kind"] for e in api.get("/events", {"contact": contact.pk}).json()["items"]]
    assert kinds == ["record", "call", "note", "call"]
    calls = api.get("/events", {"contact": contact.pk, "kind": "call"}).json()["items"]
    assert [e["summary"] for e in calls] == ["Call: call 1", "Call: call 3"]
    assert all(e["occurred_at"].endswith("Z") for e in calls)


def test_events_pages_with_the_cursor(seller, api_as, make_contact):
    contact = make_contact(seller)
    for i in range(4):
        timeline.log_activity(actor=seller, contact=contact, data={"kind": "note", "body": f"n{i}"})
    api = api_as(seller)
    first = api.get("/events", {"contact": contact.pk, "limit": 3}).json()
    second = api.get("/events", {"contact": contact.pk, "limit": 3, "cursor": first["next_cursor"]}).json()
    ids = [e["id"] for e in first["items"] + second["items"]]
    assert len(ids) == 5 and len(set(ids)) == 5
    assert second["next_cursor"] is None


def test_events_of_a_company(seller, api_as, make_contact, make_company):
    company = make_company(seller)
    contact = make_contact(seller, company=company)
    timeline.log_activity(actor=seller, contact=contact, data={"kind": "note", "body": "via contact"})
    summaries = [e["summary"] for e in api_as(seller).get("/events", {"company": company.pk}).json()["items"]]
    assert "Note: via contact" in summaries


def test_unfiltered_events_show_only_what_the_user_may_see(seller, other_seller, api_as, make_contact):
    mine, theirs = make_contact(seller), make_contact(other_seller)
    timeline.log_activity(actor=seller, contact=mine, data={"kind": "note", "body": "mine"})
    timeline.log_activity(actor=other_seller, contact=theirs, data={"kind": "note", "body": "theirs"})
    api = api_as(seller)
    items = api.get("/events").json()["items"]
    assert {e["contact"] for e in items} == {mine.pk}
    assert [e["summary"] for e in api.get("/events", {"kind": "note"}).json()["items"]] == ["Note: mine"]
    assert api.get("/events", {"contact": theirs.pk}).status_code == 404


@pytest.mark.parametrize("params, loc", [
    ({"kind": "party"}, ("query", "kind")),
    ({"limit": 0}, ("query", "limit")),
    ({"limit": 201}, ("query", "limit")),
    ({"cursor": "%%"}, ("query", "cursor")),
    ({"contact": "ann"}, ("query", "contact")),
    ({"contact_id": "1"}, ("query", "contact_id")),
])
def test_events_reject_bad_parameters(seller, api_as, make_contact, params, loc):
    make_contact(seller)
    assert loc in field_errors(api_as(seller).get("/events", params))


def test_events_list_runs_a_constant_number_of_queries(seller, api_as, make_contact, django_assert_max_num_queries):
    contact = make_contact(seller)
    api = api_as(seller)
    api.get("/events")
    for _ in range(2):
        timeline.log_activity(actor=seller, contact=contact, data={"kind": "note", "body": "x"})
    with CaptureQueriesContext(connection) as few:
        assert len(api.get("/events", {"contact": contact.pk}).json()["items"]) == 3
    for _ in range(27):
        timeline.log_activity(actor=seller, contact=contact, data={"kind": "note", "body": "x"})
    with django_assert_max_num_queries(len(few)):
        assert len(api.get("/events", {"contact": contact.pk}).json()["items"]) == 30


def test_only_the_author_or_their_manager_changes_an_activity(seller, teammate, manager, admin_user, api_as,
                                                              make_contact):
    contact = make_contact(seller)
    activity = timeline.log_activity(actor=seller, data={"kind": "call", "duration_minutes": 30}, contact=contact)

    # The teammate sees it on the timeline but may not rewrite the seller's logged time.
    colleague = api_as(teammate)
    assert colleague.get(f"/activities/{activity.pk}").status_code == 200
    response = colleague.patch(f"/activities/{activity.pk}", {"duration_minutes": 300})
    assert response.status_code == 403 and "detail" in response.json()
    assert colleague.delete(f"/activities/{activity.pk}").status_code == 403
    activity.refresh_from_db()
    assert (activity.duration_minutes, activity.deleted_at) == (30, None)

    assert api_as(manager).patch(f"/activities/{activity.pk}", {"duration_minutes": 35}).status_code == 200
    assert api_as(admin_user).patch(f"/activities/{activity.pk}", {"duration_minutes": 40}).status_code == 200
    assert api_as(seller).delete(f"/activities/{activity.pk}").status_code == 204
