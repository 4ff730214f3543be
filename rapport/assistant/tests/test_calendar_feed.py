"""The private calendar feed: readable by calendar clients without a login, revocable, and
parsed back with `icalendar`."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest
from django.test import Client
from django.utils import timezone

from rapport.assistant.models import CalendarFeedToken
from rapport.assistant.services import calendar_feeds, meetings

pytestmark = pytest.mark.django_db


def _meeting(seller, contact, *, days: int = 1, **extra):
    start = timezone.now().replace(microsecond=0) + dt.timedelta(days=days)
    data = {"title": "Quarterly review", "starts_at": start.isoformat(), "duration_minutes": 60,
            "contact": contact.pk, "attendee_contacts": [contact.pk], **extra}
    return meetings.schedule_meeting(actor=seller, data=data)


def _get(url: str):
    return Client().get(url, secure=True)


def test_feed_lists_the_users_meetings_and_parses(smtp_server, seller, teammate, other_seller, make_contact):
    contact = make_contact(seller)
    mine = _meeting(seller, contact)
    invited = _meeting(teammate, make_contact(teammate), title="Tia's demo", attendee_users=[seller.pk])
    cancelled = _meeting(seller, contact, days=2, title="Dropped")
    meetings.cancel_meeting(actor=seller, meeting=cancelled)
    _meeting(other_seller, make_contact(other_seller), title="Not Sam's")
    token, raw = calendar_feeds.create_feed_token(actor=seller)
    assert token.token_hash != raw and raw not in token.token_hash and len(raw) >= 40

    response = _get(f"/calendar/{raw}.ics")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    calendar = icalendar.Calendar.from_ical(response.content)
    assert calendar["VERSION"] == "2.0" and "METHOD" not in calendar
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {mine.uid, invited.uid, cancelled.uid}
    assert events[cancelled.uid]["STATUS"] == "CANCELLED" and events[cancelled.uid]["SEQUENCE"] == 1
    assert str(events[invited.uid]["ORGANIZER"]) == "mailto:tia_seller@example.com"
    assert events[mine.uid]["DTSTART"].dt == mine.starts_at
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_due_tasks_appear_as_all_day_events(smtp_server, seller, make_contact):
    from rapport.assistant.services import tasks as task_services
    due = timezone.localdate() + dt.timedelta(days=3)
    task_services.create_task(actor=seller, data={"title": "Send the proposal", "due_date": due.isoformat()})
    _, raw = calendar_feeds.create_feed_token(actor=seller)
    calendar = icalendar.Calendar.from_ical(_get(f"/calendar/{raw}.ics").content)
    [task] = [e for e in calendar.walk("VEVENT") if str(e["SUMMARY"]).startswith("Task:")]
    assert str(task["SUMMARY"]) == "Task: Send the proposal"
    assert task["DTSTART"].dt == due and not isinstance(task["DTSTART"].dt, dt.datetime)
    assert task["TRANSP"] == "TRANSPARENT"


def test_a_revoked_token_is_gone_and_an_unknown_one_is_not_found(seller):
    token, raw = calendar_feeds.create_feed_token(actor=seller)
    calendar_feeds.revoke_feed_token(actor=seller, token_id=token.pk)
    assert _get(f"/calendar/{raw}.ics").status_code == 410
    assert _get("/calendar/not-a-real-secret.ics").status_code == 404
    # Revoking again is harmless; another user's feed cannot be revoked (404).
    calendar_feeds.revoke_feed_token(actor=seller, token_id=token.pk)
    assert CalendarFeedToken.objects.get().revoked_at is not None


def test_someone_else_cannot_revoke_a_feed(seller, teammate):
    from rapport.core.errors import NotVisible

    token, raw = calendar_feeds.create_feed_token(actor=seller)
    with pytest.raises(NotVisible):
        calendar_feeds.revoke_feed_token(actor=teammate, token_id=token.pk)
    assert _get(f"/calendar/{raw}.ics").status_code == 200


def test_settings_page_makes_shows_once_and_revokes(client, seller):
    client.force_login(seller)
    response = client.post("/settings/calendar/new/", secure=True, follow=True)
    assert response.status_code == 200
    url = response.context["new_url"]
    assert url.startswith("https://") and url.endswith(".ics")
    secret = url.rsplit("/", 1)[1][:-4]
    assert secret in response.content.decode()
    again = client.get("/settings/calendar/", secure=True)
    assert secret not in again.content.decode()  # shown once only
    token = CalendarFeedToken.objects.get(user=seller)
    client.post(f"/settings/calendar/{token.pk}/revoke/", secure=True)
    assert _get(f"/calendar/{secret}.ics").status_code == 410


def test_mail_preferences_are_saved(client, seller):
    from rapport.assistant.selectors.meetings import mail_preferences

    assert mail_preferences(seller).daily_digest is True
    client.force_login(seller)
    client.post("/settings/calendar/mail/", {"task_reminders": "on"}, secure=True)
    prefs = mail_preferences(seller)
    assert prefs.task_reminders is True and prefs.daily_digest is False
