"""Meetings over a real SMTP conversation: invitations, updates and cancellations as calendar
clients receive them, checked header by header and parsed back with `icalendar`."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest
from django.utils import timezone

from rapport.assistant.models import MailKind, MailStatus, Meeting, MeetingStatus, SentEmail
from rapport.assistant.services import meetings as services
from rapport.core.errors import NotAllowed, ValidationFailed
from rapport.timeline.models import Event

pytestmark = pytest.mark.django_db


def _tomorrow(hour: int = 10) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(hour, 0))


def _schedule(seller, contact, **extra):
    data = {"title": "Renewal review", "starts_at": _tomorrow().isoformat(), "duration_minutes": 45,
            "time_zone": "Europe/Paris", "location": "Their office, Lyon", "agenda": "Prices for 2027",
            "contact": contact.pk, "attendee_contacts": [contact.pk]}
    data.update(extra)
    return services.schedule_meeting(actor=seller, data=data)


def _calendar_part(message):
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1, [p.get_content_type() for p in message.walk()]
    return parts[0]


def _parsed(message) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(_calendar_part(message).get_content())


def _event(calendar: icalendar.Calendar) -> icalendar.Event:
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1
    return events[0]


def test_invitation_is_a_multipart_message_with_a_request_part_and_an_ics(smtp_server, seller, make_contact):
    contact = make_contact(seller, first_name="Ines", last_name="Martin", email="ines@client.example")
    meeting = _schedule(seller, contact)

    [received] = smtp_server.messages
    assert received.rcpt_tos == ["ines@client.example"]
    message = received.message
    assert message["To"] == "Ines Martin <ines@client.example>"
    assert "rapport@crm.example" in message["From"] and "Sam" in message["From"]
    assert message["Reply-To"] == "Sam <sam_seller@example.com>"
    assert message["Subject"].startswith("Invitation: Renewal review @ ")
    assert message["Message-ID"]
    # multipart/mixed [ multipart/alternative [ text/plain, text/calendar ], invite.ics ]
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.get_payload()] == ["text/plain", "text/calendar"]
    calendar_part = alternative.get_payload()[1]
    assert calendar_part.get_param("method") == "REQUEST"
    assert calendar_part.get_content_charset() == "utf-8"
    assert attachment.get_filename() == "invite.ics"
    assert attachment.get_content_type() == "application/ics"
    assert "Renewal review" in alternative.get_payload()[0].get_content()

    calendar = _parsed(message)
    assert calendar["METHOD"] == "REQUEST" and calendar["VERSION"] == "2.0"
    assert icalendar.Calendar.from_ical(attachment.get_content()).to_ical() == calendar.to_ical()
    event = _event(calendar)
    assert str(event["UID"]) == meeting.uid
    assert event["SEQUENCE"] == 0
    assert event["DTSTAMP"].dt.tzinfo is not None
    start = event["DTSTART"]
    assert start.params["TZID"] == "Europe/Paris"
    assert start.dt == meeting.starts_at
    assert start.dt.replace(tzinfo=None) == _tomorrow()  # 10:00 in Paris, as the seller typed it
    assert event["DTEND"].dt - start.dt == dt.timedelta(minutes=45)
    assert str(event["ORGANIZER"]) == "mailto:sam_seller@example.com"
    [attendee] = event.get("ATTENDEE") if isinstance(event.get("ATTENDEE"), list) else [event["ATTENDEE"]]
    assert str(attendee) == "mailto:ines@client.example"
    assert attendee.params["PARTSTAT"] == "NEEDS-ACTION" and attendee.params["RSVP"] == "TRUE"
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]

    log = SentEmail.objects.get()
    assert (log.kind, log.status, log.meeting_id, log.contact_id) == (MailKind.INVITATION, MailStatus.SENT,
                                                                     meeting.pk, contact.pk)
    assert log.message_id == message["Message-ID"]
    event_row = Event.objects.get(kind="meeting", contact=contact)
    assert "Meeting scheduled: Renewal review" in event_row.summary


def test_utc_meetings_are_written_in_utc(smtp_server, seller, make_contact):
    contact = make_contact(seller)
    _schedule(seller, contact, time_zone="UTC")
    event = _event(_parsed(smtp_server.messages[0].message))
    assert "TZID" not in event["DTSTART"].params
    assert event["DTSTART"].to_ical().endswith(b"Z")


def test_colleagues_are_invited_too_and_see_the_meeting(smtp_server, seller, teammate, make_contact):
    contact = make_contact(seller, email="buyer@client.example")
    meeting = _schedule(seller, contact, attendee_users=[teammate.pk, seller.pk])
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == ["buyer@client.example", "tia_seller@example.com"]
    event = _event(_parsed(smtp_server.messages[0].message))
    # The organiser is the ORGANIZER, not also an attendee.
    assert sorted(str(a) for a in event["ATTENDEE"]) == ["mailto:buyer@client.example",
                                                          "mailto:tia_seller@example.com"]
    assert meeting.attendees.count() == 2


def test_update_keeps_the_uid_and_raises_the_sequence(smtp_server, seller, make_contact):
    contact = make_contact(seller, email="ines@client.example")
    other = make_contact(seller, email="olga@client.example")
    meeting = _schedule(seller, contact, attendee_contacts=[contact.pk, other.pk])
    smtp_server.messages.clear()

    later = (_tomorrow(15)).isoformat()
    updated = services.update_meeting(actor=seller, meeting=meeting,
                                      data={"starts_at": later, "attendee_contacts": [contact.pk]})
    assert updated.sequence == 1
    assert updated.ends_at - updated.starts_at == dt.timedelta(minutes=45)  # the length is kept
    [update] = smtp_server.to("ines@client.example")
    assert update.message["Subject"].startswith("Updated invitation: ")
    event = _event(_parsed(update.message))
    assert str(event["UID"]) == meeting.uid and event["SEQUENCE"] == 1
    assert event["DTSTART"].dt.hour == 15
    # The person taken off the meeting gets a cancellation of the same event.
    [dropped] = smtp_server.to("olga@client.example")
    calendar = _parsed(dropped.message)
    assert calendar["METHOD"] == "CANCEL"
    assert _calendar_part(dropped.message).get_param("method") == "CANCEL"
    assert str(_event(calendar)["UID"]) == meeting.uid and _event(calendar)["SEQUENCE"] == 1

    # Saving without a change sends nothing and keeps the sequence.
    smtp_server.messages.clear()
    same = services.update_meeting(actor=seller, meeting=updated, data={"title": "Renewal review"})
    assert same.sequence == 1 and smtp_server.messages == []


def test_cancel_sends_method_cancel_with_a_higher_sequence(smtp_server, seller, make_contact):
    contact = make_contact(seller, email="ines@client.example")
    meeting = _schedule(seller, contact)
    services.update_meeting(actor=seller, meeting=meeting, data={"location": "Video call"})
    smtp_server.messages.clear()

    cancelled = services.cancel_meeting(actor=seller, meeting=meeting, reason="Client asked to postpone")
    assert cancelled.status == MeetingStatus.CANCELLED and cancelled.sequence == 2
    [received] = smtp_server.messages
    assert received.message["Subject"].startswith("Cancelled: ")
    calendar = _parsed(received.message)
    assert calendar["METHOD"] == "CANCEL"
    event = _event(calendar)
    assert str(event["UID"]) == meeting.uid and event["SEQUENCE"] == 2 and event["STATUS"] == "CANCELLED"
    assert Event.objects.filter(contact=contact, summary__startswith="Meeting cancelled").exists()
    with pytest.raises(ValidationFailed) as caught:
        services.update_meeting(actor=seller, meeting=meeting, data={"title": "Again"})
    assert "cancelled" in caught.value.errors["status"]


def test_a_refused_recipient_is_logged_and_the_meeting_stands(smtp_server, seller, make_contact):
    good = make_contact(seller, email="ines@client.example")
    bad = make_contact(seller, email="gone@client.example")
    smtp_server.refuse.add("gone@client.example")
    meeting = _schedule(seller, good, attendee_contacts=[good.pk, bad.pk])
    assert Meeting.objects.filter(pk=meeting.pk).exists()
    statuses = {s.to_address.split("<")[-1].rstrip(">"): s.status for s in meeting.deliveries}
    assert statuses == {"ines@client.example": MailStatus.SENT, "gone@client.example": MailStatus.FAILED}
    failed = SentEmail.objects.get(status=MailStatus.FAILED)
    assert "550" in failed.error


def test_a_meeting_that_ends_before_it_starts_is_refused(smtp_server, seller, make_contact):
    contact = make_contact(seller)
    with pytest.raises(ValidationFailed) as caught:
        _schedule(seller, contact, duration_minutes=None, ends_at=_tomorrow(9).isoformat())
    assert caught.value.errors == {"ends_at": "the meeting must end after it starts"}
    with pytest.raises(ValidationFailed) as caught:
        _schedule(seller, contact, duration_minutes=0)
    assert caught.value.errors["duration_minutes"] == "a meeting lasts at least one minute"
    assert not Meeting.objects.exists() and smtp_server.messages == []


def test_moving_the_start_past_the_end_is_refused(smtp_server, seller, make_contact):
    meeting = _schedule(seller, make_contact(seller))
    with pytest.raises(ValidationFailed) as caught:
        services.update_meeting(actor=seller, meeting=meeting, data={"ends_at": _tomorrow(8).isoformat()})
    assert caught.value.errors == {"ends_at": "the meeting must end after it starts"}
    meeting.refresh_from_db()
    assert meeting.sequence == 0


def test_an_attendee_without_email_is_named(smtp_server, seller, make_contact):
    contact = make_contact(seller, first_name="Noah", last_name="Nomail", email="", phone="+33612345678")
    with pytest.raises(ValidationFailed) as caught:
        _schedule(seller, contact)
    assert caught.value.errors == {
        "attendee_contacts": "Noah Nomail has no e-mail address; add one on their page or leave them out"}
    assert smtp_server.messages == []


def test_other_bad_input_gets_reasons(smtp_server, seller, other_seller, make_contact):
    hidden = make_contact(other_seller)
    with pytest.raises(ValidationFailed) as caught:
        services.schedule_meeting(actor=seller, data={
            "title": "", "starts_at": "tomorrow", "duration_minutes": 30, "time_zone": "Mars/Olympus",
            "video_url": "zoom meeting", "attendee_contacts": [hidden.pk], "colour": "red"})
    errors = caught.value.errors
    assert errors["title"] == "give the meeting a title"
    assert errors["starts_at"].startswith("use a date and time")
    assert errors["time_zone"].startswith("use a time zone name")
    assert errors["video_url"].startswith("use a full web address")
    assert errors["attendee_contacts"] == f"no such contact: contact {hidden.pk}"
    assert errors["colour"] == "unknown field"
    with pytest.raises(ValidationFailed) as caught:
        services.schedule_meeting(actor=seller, data={
            "title": "Old", "starts_at": (timezone.now() - dt.timedelta(days=2)).isoformat(), "duration_minutes": 30,
            "attendee_users": [other_seller.pk]})
    assert caught.value.errors == {"starts_at": "this time has passed; choose a time from now on"}


def test_only_the_organiser_or_their_manager_changes_a_meeting(smtp_server, seller, teammate, manager,
                                                                make_contact):
    meeting = _schedule(seller, make_contact(seller))
    with pytest.raises(NotAllowed):
        services.cancel_meeting(actor=teammate, meeting=meeting)
    services.update_meeting(actor=manager, meeting=meeting, data={"title": "Renewal review (with Mona)"})
