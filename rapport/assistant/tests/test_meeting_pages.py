"""The meeting pages: scheduling from a deal or contact page, errors next to their fields,
changing, cancelling, and pages a user may not see."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from rapport.assistant.models import Meeting, MeetingStatus
from rapport.sales.services import deals as deal_services
from rapport.timeline.models import Event

pytestmark = pytest.mark.django_db


def _deal(seller, contact):
    return deal_services.create_deal(actor=seller, data={"name": "Bakery chain roll-out", "amount": "5000",
                                                        "contacts": [{"contact": contact.pk, "role": "champion"}]})


def _form(day: dt.date, **extra) -> dict:
    data = {"title": "Roll-out planning", "date": day.isoformat(), "start_time": "10:30", "duration_minutes": "60",
            "time_zone": "Europe/Paris", "location": "", "video_url": "", "agenda": ""}
    data.update(extra)
    return data


def test_schedule_from_a_deal_page(smtp_server, client, seller, make_contact):
    contact = make_contact(seller, first_name="Ines", last_name="Martin", email="ines@client.example")
    deal = _deal(seller, contact)
    client.force_login(seller)
    deal_page = client.get(f"/deals/{deal.pk}/", secure=True).content.decode()
    assert f"/meetings/new/?deal={deal.pk}" in deal_page
    form_page = client.get(f"/meetings/new/?deal={deal.pk}", secure=True)
    assert form_page.status_code == 200
    html = form_page.content.decode()
    assert "Ines Martin &lt;ines@client.example&gt;" in html and "Meeting with Bakery chain roll-out" in html

    day = timezone.localdate() + dt.timedelta(days=2)
    response = client.post("/meetings/new/", _form(day, deal=deal.pk, attendee_contacts=[contact.pk]), secure=True)
    assert response.status_code == 302
    meeting = Meeting.objects.get()
    assert meeting.deal_id == deal.pk and meeting.company_id == deal.company_id
    local = meeting.starts_at.astimezone(zoneinfo.ZoneInfo("Europe/Paris"))
    assert (local.date(), local.hour, local.minute) == (day, 10, 30)
    assert Event.objects.filter(kind="meeting", deal=deal).exists()
    assert smtp_server.messages[0].rcpt_tos == ["ines@client.example"]
    detail = client.get(response["Location"], secure=True).content.decode()
    assert "Roll-out planning" in detail and "Invitation sent to 1 attendee" in detail


def test_form_errors_show_next_to_fields_and_nothing_is_sent(smtp_server, client, seller, make_contact):
    contact = make_contact(seller, first_name="Noah", last_name="Nomail", email="", phone="+33612345678")
    client.force_login(seller)
    day = timezone.localdate() + dt.timedelta(days=2)
    response = client.post("/meetings/new/", _form(day, title="", contact=contact.pk,
                                                   attendee_contacts=[contact.pk]), secure=True)
    assert response.status_code == 422
    html = response.content.decode()
    assert "give the meeting a title" in html
    assert "Noah Nomail has no e-mail address" in html
    assert 'value="10:30"' in html  # what was typed is kept
    assert not Meeting.objects.exists() and smtp_server.messages == []


def test_change_and_cancel_from_the_meeting_page(smtp_server, client, seller, make_contact):
    contact = make_contact(seller, email="ines@client.example")
    client.force_login(seller)
    day = timezone.localdate() + dt.timedelta(days=2)
    client.post("/meetings/new/", _form(day, contact=contact.pk, attendee_contacts=[contact.pk]), secure=True)
    meeting = Meeting.objects.get()
    edit = client.post(f"/meetings/{meeting.pk}/edit/", _form(day, start_time="11:00",
                                                              attendee_contacts=[contact.pk]), secure=True)
    assert edit.status_code == 302
    meeting.refresh_from_db()
    assert meeting.sequence == 1
    client.post(f"/meetings/{meeting.pk}/cancel/", {"reason": ""}, secure=True)
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.CANCELLED and meeting.sequence == 2
    assert len(smtp_server.messages) == 3


def test_pages_of_hidden_records_are_404(smtp_server, client, seller, other_seller, make_contact):
    contact = make_contact(seller, email="ines@client.example")
    client.force_login(seller)
    day = timezone.localdate() + dt.timedelta(days=2)
    client.post("/meetings/new/", _form(day, contact=contact.pk, attendee_contacts=[contact.pk]), secure=True)
    meeting = Meeting.objects.get()
    client.force_login(other_seller)
    assert client.get(f"/meetings/{meeting.pk}/", secure=True).status_code == 404
    assert client.get(f"/meetings/new/?contact={contact.pk}", secure=True).status_code == 404
    assert client.post(f"/meetings/{meeting.pk}/cancel/", secure=True).status_code == 404
    assert client.get(f"/contacts/{contact.pk}/email/", secure=True).status_code == 404
    assert "Roll-out" not in client.get("/meetings/", secure=True).content.decode()
