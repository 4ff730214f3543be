"""After the meeting (the outcome prompt and form), task reminders and the daily digest."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from rapport.assistant.models import MailKind, Meeting, MeetingAttendee, MeetingStatus, SentEmail
from rapport.assistant.selectors import meetings as selectors
from rapport.assistant.services import calendar_feeds, meetings
from rapport.core.errors import ValidationFailed
from rapport.timeline.models import Activity

pytestmark = pytest.mark.django_db


def _past_meeting(seller, contact, *, hours_ago: int = 2, deal=None) -> Meeting:
    """A meeting that already happened (made directly: the service refuses past times)."""
    start = timezone.now() - dt.timedelta(hours=hours_ago)
    meeting = Meeting.objects.create(title="Site visit", starts_at=start, ends_at=start + dt.timedelta(hours=1),
                                     organiser=seller, contact=contact, deal=deal, created_by=seller)
    MeetingAttendee.objects.create(meeting=meeting, contact=contact, name=str(contact), email=contact.email)
    return meeting


def test_an_ended_meeting_asks_for_its_outcome_which_lands_on_the_timeline(seller, make_contact):
    contact = make_contact(seller)
    meeting = _past_meeting(seller, contact)
    assert selectors.awaiting_outcome(seller) == [meeting]
    with pytest.raises(ValidationFailed) as caught:
        meetings.record_outcome(actor=seller, meeting=meeting, note="  ")
    assert caught.value.errors == {"note": "write a short note on how the meeting went"}

    done = meetings.record_outcome(actor=seller, meeting=meeting, note="They want a quote for 40 seats.",
                                   next_step="Send the quote")
    assert done.status == MeetingStatus.DONE and selectors.awaiting_outcome(seller) == []
    activity = Activity.objects.get(kind="meeting", contact=contact)
    assert activity.duration_minutes == 60 and activity.occurred_at == meeting.starts_at
    assert activity.body == "They want a quote for 40 seats.\n\nNext step: Send the quote"
    assert activity.events.get().summary.startswith("Meeting (60 min): Site visit")


def test_the_outcome_can_make_a_follow_up_task(seller, make_contact):
    contact = make_contact(seller)
    meeting = _past_meeting(seller, contact)
    due = timezone.localdate() + dt.timedelta(days=3)
    done = meetings.record_outcome(actor=seller, meeting=meeting, note="Good", next_step="Call back about pricing",
                                   follow_up_on=due.isoformat())
    task = done.follow_up
    assert task.title == "Call back about pricing" and task.contact_id == contact.pk and task.assignee_id == seller.pk
    with pytest.raises(ValidationFailed) as caught:
        meetings.record_outcome(actor=seller, meeting=_past_meeting(seller, contact), note="x",
                                follow_up_on="2020-01-01", next_step="y")
    assert caught.value.errors == {"follow_up_on": "the follow-up cannot be in the past"}


def test_no_outcome_before_the_meeting(smtp_server, seller, make_contact):
    contact = make_contact(seller)
    start = timezone.now() + dt.timedelta(days=1)
    meeting = meetings.schedule_meeting(actor=seller, data={
        "title": "Soon", "starts_at": start.isoformat(), "duration_minutes": 30, "attendee_contacts": [contact.pk]})
    with pytest.raises(ValidationFailed) as caught:
        meetings.record_outcome(actor=seller, meeting=meeting, note="Went well")
    assert "has not started yet" in caught.value.errors["note"]


def test_outcome_page_is_the_prompt(client, seller, make_contact):
    meeting = _past_meeting(seller, make_contact(seller))
    client.force_login(seller)
    detail = client.get(f"/meetings/{meeting.pk}/", secure=True).content.decode()
    assert "How did it go?" in detail
    bad = client.post(f"/meetings/{meeting.pk}/outcome/", {"note": ""}, secure=True)
    assert bad.status_code == 422 and "write a short note" in bad.content.decode()
    good = client.post(f"/meetings/{meeting.pk}/outcome/", {"note": "Fine", "next_step": ""}, secure=True)
    assert good.status_code == 302
    meeting.refresh_from_db()
    assert meeting.outcome_note == "Fine"


def test_daily_digest_is_sent_once_and_respects_the_opt_out(smtp_server, seller, teammate, make_contact):
    contact = make_contact(seller)
    start = timezone.now() + dt.timedelta(minutes=30)
    meetings.schedule_meeting(actor=seller, data={"title": "Coffee with Casey", "starts_at": start.isoformat(),
                                                  "duration_minutes": 30, "attendee_contacts": [contact.pk]})
    _past_meeting(seller, contact, hours_ago=30)
    calendar_feeds.set_mail_preferences(actor=teammate, data={"daily_digest": False})
    smtp_server.messages.clear()

    out = StringIO()
    call_command("assistant", "digest", "--day", start.date().isoformat(), stdout=out)
    assert "1 sent" in out.getvalue()
    [digest] = smtp_server.messages
    assert digest.rcpt_tos == ["sam_seller@example.com"]
    text = digest.message.get_content()
    assert "Coffee with Casey" in text and "How did these meetings go?" in text and "Site visit" in text
    assert SentEmail.objects.filter(kind=MailKind.DIGEST).count() == 1

    call_command("assistant", "digest", "--day", start.date().isoformat(), stdout=StringIO())
    assert len(smtp_server.messages) == 1  # not twice the same day


def test_digest_command_rejects_a_bad_day():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not a date"):
        call_command("assistant", "digest", "--day", "24/11/2026", stdout=StringIO())


def test_task_reminders_are_sent_once(smtp_server, seller, teammate):
    from rapport.assistant.models import Task
    from rapport.assistant.services import tasks as task_services

    soon = timezone.now() - dt.timedelta(minutes=1)
    task_services.create_task(actor=seller, data={"title": "Call Casey", "due_date": timezone.localdate().isoformat(),
                                                  "remind_at": soon.isoformat()})
    task_services.create_task(actor=teammate, data={"title": "Tia's call", "remind_at": soon.isoformat()})
    calendar_feeds.set_mail_preferences(actor=teammate, data={"task_reminders": False})
    out = StringIO()
    call_command("assistant", "reminders", stdout=out)
    assert "1 sent" in out.getvalue()
    [reminder] = smtp_server.messages
    assert reminder.rcpt_tos == ["sam_seller@example.com"]
    assert reminder.message["Subject"] == "Reminder: Call Casey"
    assert Task.objects.get(title="Call Casey").reminded_at is not None
    assert Task.objects.get(title="Tia's call").reminded_at is None  # opted out: not sent, not marked
    call_command("assistant", "reminders", stdout=StringIO())
    assert len(smtp_server.messages) == 1


def test_a_reminder_the_server_refuses_is_tried_again(smtp_server, seller):
    from django.core.management.base import CommandError

    from rapport.assistant.models import Task
    from rapport.assistant.services import tasks as task_services

    task_services.create_task(actor=seller, data={"title": "Call Casey",
                                                  "remind_at": (timezone.now() - dt.timedelta(minutes=1)).isoformat()})
    smtp_server.refuse.add("sam_seller@example.com")
    with pytest.raises(CommandError, match="not accepted"):
        call_command("assistant", "reminders", stdout=StringIO(), stderr=StringIO())
    assert Task.objects.get().reminded_at is None
    smtp_server.refuse.clear()
    call_command("assistant", "reminders", stdout=StringIO())
    assert Task.objects.get().reminded_at is not None and len(smtp_server.messages) == 1


def test_two_workers_reminding_at_once_send_each_reminder_once(smtp_server, seller, monkeypatch):
    """The second worker read the same due tasks, but the first claimed them before sending."""
    from rapport.assistant.models import Task
    from rapport.assistant.services import reminders
    from rapport.assistant.services import tasks as task_services

    soon = timezone.now() - dt.timedelta(minutes=1)
    for title in ("Call Casey", "Send the quote"):
        task_services.create_task(actor=seller, data={"title": title, "remind_at": soon.isoformat()})
    real_claim = reminders._claim
    other_run = {}

    def claim_after_the_other_worker(task_ids, now):
        if not other_run:  # the other worker gets in between this run's read and its claim
            other_run["started"] = True
            other_run["report"] = reminders.send_task_reminders(now=now + dt.timedelta(seconds=1))
        return real_claim(task_ids, now)

    monkeypatch.setattr(reminders, "_claim", claim_after_the_other_worker)
    report = reminders.send_task_reminders()
    assert other_run["report"].sent == 1 and report.sent == 0 and report.skipped == 1
    [reminder] = smtp_server.messages
    assert reminder.message["Subject"] == "Reminder: 2 tasks are due"
    assert Task.objects.filter(reminded_at__isnull=True).count() == 0


def test_a_digest_another_worker_is_sending_is_not_sent_again(smtp_server, seller, make_contact):
    from rapport.assistant.services import mail
    from rapport.assistant.services.reminders import send_daily_digests

    contact = make_contact(seller)
    start = timezone.now() + dt.timedelta(minutes=30)
    meetings.schedule_meeting(actor=seller, data={"title": "Coffee with Casey", "starts_at": start.isoformat(),
                                                  "duration_minutes": 30, "attendee_contacts": [contact.pk]})
    smtp_server.messages.clear()
    day = start.date()
    from django.core.mail import EmailMessage

    # The other worker claimed the key (its row is written before its message goes out).
    first = mail.deliver(EmailMessage("Your day", "…", to=[seller.email]), kind=MailKind.DIGEST,
                         recipient_user=seller, dedupe_key=f"digest:{seller.pk}:{day.isoformat()}")
    assert first is not None and first.status == "sent"
    again = mail.deliver(EmailMessage("Your day", "…", to=[seller.email]), kind=MailKind.DIGEST,
                         recipient_user=seller, dedupe_key=f"digest:{seller.pk}:{day.isoformat()}")
    assert again is None
    report = send_daily_digests(day=day)
    assert report.sent == 0 and len(smtp_server.messages) == 1
    assert SentEmail.objects.filter(kind=MailKind.DIGEST).count() == 1
