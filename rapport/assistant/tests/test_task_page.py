"""The task page: what it shows, changing and reassigning a task from it, and who may."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from rapport.assistant.models import Task, TaskStatus
from rapport.assistant.services import tasks as services
from rapport.core.models import AuditEntry, Profile

NOW = timezone.now()


@pytest.fixture(autouse=True)
def _paris(seller, teammate, manager):
    # Times on the page are the assignee's; a zone away from UTC catches a page that forgets it.
    Profile.objects.filter(user__in=[seller, teammate, manager]).update(time_zone="Europe/Paris")
    for user in (seller, teammate, manager):
        user.__dict__.pop("_rapport_profile", None)


def _task(actor, title="Call Casey back", **data):
    return services.create_task(actor=actor, data={"title": title, "due_date": "2031-03-04", "due_time": "09:30",
                                                   **data})


def _form(task, **changes) -> dict:
    """The form as the page fills it, with some fields changed."""
    from rapport.assistant.views.task_page import initial_of, zone_for

    data = initial_of(task, zone_for(task, task.assignee))
    data.update(changes)
    return data


def _page(client, task):
    return client.get(reverse("task_detail", args=[task.pk]), secure=True)


def test_the_page_shows_the_task_why_it_exists_and_its_history(client, seller, make_contact):
    contact = make_contact(seller, first_name="Ines", last_name="Okafor")
    task = _task(seller, contact=contact.pk, notes="Ask about the second site", recurrence="weekly")
    Task.objects.filter(pk=task.pk).update(reason="Deal without activity for 20 days")
    client.force_login(seller)
    page = _page(client, task)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Call Casey back" in html and "Ask about the second site" in html and "Every week" in html
    assert "Deal without activity for 20 days" in html and "Added by hand" in html
    assert f'href="{reverse("contact_detail", args=[contact.pk])}"' in html
    assert "Tuesday 4 March 2031 09:30" in html and "Europe/Paris" in html  # the assignee's time
    assert 'value="09:30"' in html and 'value="2031-03-04"' in html
    assert "History" in html and "Created" in html


def test_change_the_due_time_title_and_priority(client, seller):
    task = _task(seller)
    client.force_login(seller)
    reply = client.post(reverse("task_detail", args=[task.pk]), _form(
        task, title="Call Casey about the renewal", due_date="2031-03-05", due_time="", priority="high"), secure=True)
    assert reply.status_code == 302 and reply["Location"] == reverse("task_detail", args=[task.pk])
    task.refresh_from_db()
    assert task.title == "Call Casey about the renewal" and task.priority == "high"
    # A date without a time: all day, from midnight in Paris (23:00 UTC the day before in March).
    assert task.all_day and task.due_at == dt.datetime(2031, 3, 4, 23, 0, tzinfo=dt.UTC)
    entry = AuditEntry.objects.filter(record_type="assistant.task", record_id=task.pk, action="update").get()
    assert {"title", "priority", "due_at", "all_day"} <= set(entry.changes)
    assert "Task saved." in _page(client, task).content.decode()


def test_reassign_to_a_teammate(client, seller, teammate):
    task = _task(seller)
    client.force_login(seller)
    reply = client.post(reverse("task_detail", args=[task.pk]), _form(task, assignee=str(teammate.pk)), secure=True)
    assert reply.status_code == 302
    task.refresh_from_db()
    assert task.assignee == teammate and task.team_id == Profile.objects.get(user=teammate).team_id
    assert task.due_at == dt.datetime(2031, 3, 4, 8, 30, tzinfo=dt.UTC)  # the due time did not move
    assert "given to Tia" in client.get(reply["Location"], secure=True).content.decode()


def test_a_time_typed_while_reassigning_is_read_in_the_zone_the_page_showed(client, seller, teammate):
    Profile.objects.filter(user=teammate).update(time_zone="America/New_York")
    task = _task(seller)
    client.force_login(seller)
    client.post(reverse("task_detail", args=[task.pk]),
                _form(task, assignee=str(teammate.pk), due_date="2031-03-05", due_time="10:00"), secure=True)
    task.refresh_from_db()
    assert task.assignee == teammate and not task.all_day
    assert task.due_at == dt.datetime(2031, 3, 5, 9, 0, tzinfo=dt.UTC)  # 10:00 in Paris, not in New York
    # A date alone stays the new assignee's whole day.
    client.force_login(teammate)
    task.assignee.__dict__.pop("_rapport_profile", None)
    client.post(reverse("task_detail", args=[task.pk]),
                _form(task, assignee=str(seller.pk), due_date="2031-03-06", due_time=""), secure=True)
    task.refresh_from_db()
    assert task.assignee == seller and task.all_day
    assert task.due_at == dt.datetime(2031, 3, 5, 23, 0, tzinfo=dt.UTC)  # midnight in Paris


def test_the_assignee_list_offers_only_whom_the_seller_may_give_tasks_to(client, seller, teammate, other_seller):
    task = _task(seller)
    client.force_login(seller)
    html = _page(client, task).content.decode()
    select = re.search(r'<select name="assignee".*?</select>', html, re.S).group(0)
    assert f'value="{teammate.pk}"' in select and f'value="{seller.pk}" selected' in select
    assert f'value="{other_seller.pk}"' not in select


def test_a_seller_cannot_give_a_task_to_someone_in_another_team(client, seller, other_seller):
    task = _task(seller)
    client.force_login(seller)
    reply = client.post(reverse("task_detail", args=[task.pk]),
                        _form(task, assignee=str(other_seller.pk), title="Changed too"), secure=True)
    html = reply.content.decode()
    assert reply.status_code == 422
    assert re.search(r'id="id_assignee_error">you may only give tasks to yourself or people in your team', html)
    assert 'value="Changed too"' in html  # what was typed is kept
    task.refresh_from_db()
    assert task.assignee == seller and task.title == "Call Casey back"


def test_a_manager_reassigns_their_teams_task(client, manager, seller, teammate):
    task = _task(seller)
    client.force_login(manager)
    client.post(reverse("task_detail", args=[task.pk]), _form(task, assignee=str(teammate.pk)), secure=True)
    task.refresh_from_db()
    assert task.assignee == teammate


def test_bad_input_gets_an_error_next_to_each_field_and_nothing_is_saved(client, seller):
    task = _task(seller)
    client.force_login(seller)
    reply = client.post(reverse("task_detail", args=[task.pk]), _form(
        task, title="", due_date="31/12/2031", recurrence="days", recurrence_days="0", priority="urgent",
        remind_at="soon", assignee="abc"), secure=True)
    html = reply.content.decode()
    assert reply.status_code == 422
    for field, text in (("title", "say what is to be done"), ("due_date", "use a date such as"),
                        ("recurrence_days", "every N days needs N"), ("priority", "choose one of"),
                        ("remind_at", "use a date and time"), ("assignee", "must be a user id")):
        assert re.search(rf'id="id_{field}_error">{text}', html), field
    assert 'value="31/12/2031"' in html
    task.refresh_from_db()
    assert task.title == "Call Casey back" and task.recurrence == "" and task.priority == "normal"
    assert not AuditEntry.objects.filter(record_type="assistant.task", action="update").exists()


def test_saving_a_new_title_keeps_the_snooze_and_an_old_every_n_days_goes_with_its_rhythm(client, seller):
    task = _task(seller, recurrence="days", recurrence_days=3)
    services.snooze_task(actor=seller, task=task, until="tomorrow")
    client.force_login(seller)
    client.post(reverse("task_detail", args=[task.pk]), _form(task, title="Renamed"), secure=True)
    task.refresh_from_db()
    assert task.title == "Renamed" and task.snoozed_until is not None
    # Weekly now; the old "3" still in the N box is the old rhythm's, not a mistake to report.
    reply = client.post(reverse("task_detail", args=[task.pk]), _form(task, recurrence="weekly"), secure=True)
    assert reply.status_code == 302
    task.refresh_from_db()
    assert task.recurrence == "weekly" and task.recurrence_days is None
    reply = client.post(reverse("task_detail", args=[task.pk]), _form(task), secure=True)
    assert reply.status_code == 302 and "Nothing changed" in client.get(reply["Location"], secure=True).content.decode()


def test_another_teams_task_is_404_and_a_teammates_is_read_only(client, seller, teammate, other_seller):
    theirs = _task(other_seller)
    mate = _task(teammate)
    client.force_login(seller)
    assert _page(client, theirs).status_code == 404
    reply = client.post(reverse("task_detail", args=[theirs.pk]), _form(theirs, title="Mine"), secure=True)
    assert reply.status_code == 404
    assert client.post(reverse("task_reopen", args=[theirs.pk]), secure=True).status_code == 404
    assert client.get(reverse("task_detail", args=[999999]), secure=True).status_code == 404
    page = _page(client, mate)
    assert page.status_code == 200 and b'name="title"' not in page.content and b"Only the person" in page.content
    reply = client.post(reverse("task_detail", args=[mate.pk]), _form(mate, title="Taken over"), secure=True)
    assert reply.status_code == 403
    theirs.refresh_from_db()
    mate.refresh_from_db()
    assert theirs.title == mate.title == "Call Casey back"


def test_done_then_reopen_from_the_page(client, seller):
    task = _task(seller)
    client.force_login(seller)
    here = reverse("task_detail", args=[task.pk])
    reply = client.post(reverse("task_complete", args=[task.pk]), {"next": here}, secure=True)
    assert reply.status_code == 302 and reply["Location"] == here
    page = client.get(here, secure=True).content.decode()
    assert "Reopen it to change it" in page and 'name="title"' not in page
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    client.post(reverse("task_reopen", args=[task.pk]), secure=True)
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN and task.completed_at is None
    reply = client.post(reverse("task_reopen", args=[task.pk]), secure=True)  # already open
    assert "already open" in client.get(reply["Location"], secure=True).content.decode()


def test_the_task_list_today_and_the_record_card_link_to_the_page(client, seller, make_contact):
    contact = make_contact(seller)
    task = services.create_task(actor=seller, data={"title": "Due now", "contact": contact.pk,
                                                    "due_at": (NOW - dt.timedelta(hours=1)).isoformat()})
    bare = services.create_task(actor=seller, data={"title": "No record",
                                                    "due_at": (NOW - dt.timedelta(hours=1)).isoformat()})
    link = f'href="{reverse("task_detail", args=[task.pk])}"'
    client.force_login(seller)
    assert link in client.get(reverse("task_list"), secure=True).content.decode()
    assert link in client.get(reverse("record_tasks") + f"?contact={contact.pk}", secure=True).content.decode()
    today = client.get(reverse("today"), secure=True).content.decode()
    assert f'<a href="{reverse("task_detail", args=[task.pk])}" class="line-link">Due now</a>' in today
    # Without a record link, the title is what the `o` key opens.
    assert f'<a href="{reverse("task_detail", args=[bare.pk])}" class="line-link" data-open>No record</a>' in today
