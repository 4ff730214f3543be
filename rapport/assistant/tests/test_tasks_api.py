"""/api/v1/tasks: bad input named per field, filters and cursor, complete/snooze, permissions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from rapport.api.testing import field_errors
from rapport.assistant.models import Task, TaskStatus
from rapport.core.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("data", "field", "words"), [
    ({"title": "x", "due_at": "next tuesday-ish"}, "due_at", "date and time"),
    ({"title": "x", "due_date": "2026-13-45"}, "due_date", "date such as"),
    ({"title": "x", "due_time": "14:30"}, "due_date", "needs a due date"),
    ({"title": "x", "due_date": "2026-12-01", "due_time": "25:99"}, "due_time", "time such as"),
    ({"title": "x", "due_at": "2026-12-01", "due_date": "2026-12-01"}, "due_at", "either"),
    ({"title": "x", "due_at": "20266-01-01"}, "due_at", "date"),
    ({"title": "x", "assignee": 987654}, "assignee", "no active user"),
    ({"title": "x", "due_at": "2026-12-01", "recurrence": "fortnightly"}, "recurrence", "choose"),
    ({"title": "x", "due_at": "2026-12-01", "recurrence": "days"}, "recurrence_days", "N"),
    ({"title": "x", "due_at": "2026-12-01", "recurrence": "days", "recurrence_days": 0}, "recurrence_days", "1"),
    ({"title": "x", "due_at": "2026-12-01", "recurrence": "weekly", "recurrence_days": 3}, "recurrence_days", "only"),
    ({"title": "x", "recurrence": "daily"}, "recurrence", "due date"),
    ({"title": "   "}, "title", "say what"),
    ({"title": "x", "priority": "urgent!!"}, "priority", "choose"),
    ({"title": "x", "contact": 999999}, "contact", "no contact"),
    ({"title": "x", "status": "done"}, "status", "Extra inputs"),
])
def test_bad_input_is_refused_naming_the_field(api_as, seller, data, field, words):
    reply = api_as(seller).post("/tasks", data)
    errors = field_errors(reply)
    assert words.lower() in errors[("body", field)].lower(), errors
    assert not Task.objects.exists()


def test_cannot_assign_outside_the_team_or_relate_hidden_records(api_as, seller, other_seller, make_contact):
    hidden = make_contact(other_seller)
    errors = field_errors(api_as(seller).post("/tasks", {"title": "x", "assignee": other_seller.pk,
                                                         "contact": hidden.pk}))
    assert "your team" in errors[("body", "assignee")]
    assert ("body", "contact") in errors


def test_create_read_update_and_audit(api_as, seller, teammate, make_contact):
    contact = make_contact(seller)
    client = api_as(seller)
    reply = client.post("/tasks", {"title": "Call back", "due_date": "2031-03-04", "due_time": "09:30",
                                   "contact": contact.pk, "priority": "high"})
    assert reply.status_code == 201, reply.content
    body = reply.json()
    assert body["due_at"].startswith("2031-03-04T09:30") and body["all_day"] is False
    assert body["assignee"] == seller.pk and body["company"] == contact.company_id and body["origin"] == "manual"
    task_id = body["id"]
    assert client.get(f"/tasks/{task_id}").json()["title"] == "Call back"
    reply = client.patch(f"/tasks/{task_id}", {"assignee": teammate.pk, "due_at": "2031-03-05"})
    assert reply.status_code == 200 and reply.json()["assignee"] == teammate.pk and reply.json()["all_day"]
    entry = AuditEntry.objects.filter(record_type="assistant.task", record_id=task_id, action="update").get()
    assert entry.changes["assignee"] == [seller.pk, teammate.pk]


def test_list_filters_and_cursor(api_as, seller):
    client = api_as(seller)
    now = timezone.now()
    for i in range(5):
        client.post("/tasks", {"title": f"T{i}", "due_at": (now + dt.timedelta(days=i - 2, hours=12)).isoformat()})
    page = client.get("/tasks", {"limit": 2}).json()
    assert [t["title"] for t in page["items"]] == ["T0", "T1"] and page["next_cursor"]
    second = client.get("/tasks", {"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [t["title"] for t in second["items"]] == ["T2", "T3"]
    overdue = client.get("/tasks", {"overdue": "true"}).json()["items"]
    assert {t["title"] for t in overdue} == {"T0", "T1"} and all(t["overdue"] for t in overdue)
    assert field_errors(client.get("/tasks", {"stauts": "open"}))[("query", "stauts")] == "unknown parameter"
    assert ("query", "status") in field_errors(client.get("/tasks", {"status": "finished"}))
    assert ("query", "cursor") in field_errors(client.get("/tasks", {"cursor": "garbage!"}))


def test_complete_makes_the_next_occurrence_once(api_as, seller):
    client = api_as(seller)
    due = (timezone.now() - dt.timedelta(days=1)).replace(microsecond=0)
    task = client.post("/tasks", {"title": "Weekly report", "due_at": due.isoformat(), "recurrence": "weekly"}).json()
    reply = client.post(f"/tasks/{task['id']}/complete", {})
    assert reply.status_code == 200
    body = reply.json()
    assert body["task"]["status"] == "done" and body["task"]["completed_at"]
    following = body["next"]
    assert following["previous"] == task["id"] and following["recurrence"] == "weekly"
    assert dt.datetime.fromisoformat(following["due_at"]) == due + dt.timedelta(weeks=1)
    again = client.post(f"/tasks/{task['id']}/complete", {})
    assert ("body", "status") in field_errors(again)
    assert Task.objects.count() == 2


def test_monthly_keeps_the_day_where_it_can():
    from rapport.assistant.services.tasks import next_due

    task = Task(title="x", recurrence="monthly", due_at=dt.datetime(2020, 1, 31, 9, tzinfo=dt.UTC))
    # Stepped past today: far in the past, it lands on the first month-end after today.
    assert next_due(task) > timezone.now()
    assert next_due(task).day in (28, 29, 30, 31)


def test_snooze_and_its_bad_input(api_as, seller):
    client = api_as(seller)
    task = client.post("/tasks", {"title": "Later", "due_at": timezone.now().isoformat()}).json()
    reply = client.post(f"/tasks/{task['id']}/snooze", {"until": "tomorrow"})
    assert reply.status_code == 200 and reply.json()["snoozed_until"]
    past = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    assert "future" in field_errors(client.post(f"/tasks/{task['id']}/snooze", {"until": past}))[("body", "until")]
    assert ("body", "until") in field_errors(client.post(f"/tasks/{task['id']}/snooze", {"until": "whenever"}))
    assert ("body", "until") in field_errors(client.post(f"/tasks/{task['id']}/snooze", {}))


def test_permissions(api_as, seller, teammate, manager, other_seller):
    task = api_as(seller).post("/tasks", {"title": "Mine", "due_at": "2031-01-01"}).json()
    # Another team: not even visible.
    assert api_as(other_seller).get(f"/tasks/{task['id']}").status_code == 404
    assert api_as(other_seller).post(f"/tasks/{task['id']}/complete", {}).status_code == 404
    assert task["id"] not in [t["id"] for t in api_as(other_seller).get("/tasks").json()["items"]]
    # A teammate sees it but may not change it; the team's manager may.
    assert api_as(teammate).get(f"/tasks/{task['id']}").status_code == 200
    assert api_as(teammate).post(f"/tasks/{task['id']}/cancel", {}).status_code == 403
    assert api_as(manager).post(f"/tasks/{task['id']}/cancel", {}).json()["status"] == TaskStatus.CANCELLED
    assert api_as(seller).delete(f"/tasks/{task['id']}").status_code == 204
    assert api_as(seller).get(f"/tasks/{task['id']}").status_code == 404


def test_agenda_endpoint(api_as, seller, teammate, manager):
    api_as(teammate).post("/tasks", {"title": "Tia's", "due_at": timezone.now().isoformat()})
    assert api_as(seller).get("/agenda", {"user": teammate.pk}).status_code == 403
    body = api_as(manager).get("/agenda", {"user": teammate.pk}).json()
    assert [line["title"] for line in body["lines"]] == ["Tia's"] and body["lines"][0]["value_at_risk"] == "0.00"


def test_rules_are_tuned_by_admins_only(api_as, seller, admin_user):
    rules = api_as(seller).get("/follow-up-rules").json()
    stalled = next(r for r in rules if r["kind"] == "stalled_deal")
    assert api_as(seller).patch(f"/follow-up-rules/{stalled['id']}", {"days": 3}).status_code == 403
    reply = api_as(admin_user).patch(f"/follow-up-rules/{stalled['id']}", {"days": 21, "enabled": False})
    assert reply.json()["days"] == 21 and reply.json()["enabled"] is False
    bad = api_as(admin_user).patch(f"/follow-up-rules/{stalled['id']}", {"settings": {"look_back_days": -4}})
    assert ("body", "settings", "look_back_days") in field_errors(bad)
