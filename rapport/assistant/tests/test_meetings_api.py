"""The meetings and e-mail templates API: the foundation's conventions (404 for hidden, 422 with
field errors, unknown fields refused, cursor pages) and the invitations it sends."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest
from django.utils import timezone

from rapport.api.testing import field_errors

pytestmark = pytest.mark.django_db


def _start(days: int = 1) -> str:
    return (timezone.now() + dt.timedelta(days=days)).replace(microsecond=0, second=0).isoformat()


def test_schedule_update_cancel_through_the_api(smtp_server, api_as, seller, make_contact):
    contact = make_contact(seller, email="ines@client.example")
    api = api_as(seller)
    created = api.post("/meetings", {"title": "Demo", "starts_at": _start(), "duration_minutes": 30,
                                     "time_zone": "America/New_York", "contact": contact.pk,
                                     "attendee_contacts": [contact.pk], "video_url": "https://meet.example/abc"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["sequence"] == 0 and body["status"] == "scheduled" and body["organiser"] == seller.pk
    assert body["attendees"] == [{"contact": contact.pk, "user": None, "name": str(contact),
                                  "email": "ines@client.example", "response": "needs-action"}]
    assert [(d["status"], d["kind"]) for d in body["deliveries"]] == [("sent", "invitation")]
    uid = body["uid"]

    moved = api.patch(f"/meetings/{body['id']}", {"duration_minutes": 60})
    assert moved.status_code == 200 and moved.json()["sequence"] == 1
    cancelled = api.post(f"/meetings/{body['id']}/cancel", {"reason": "Postponed"})
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["sequence"] == 2
    methods = []
    for received in smtp_server.messages:
        [part] = [p for p in received.message.walk() if p.get_content_type() == "text/calendar"]
        calendar = icalendar.Calendar.from_ical(part.get_content())
        [event] = calendar.walk("VEVENT")
        assert str(event["UID"]) == uid
        methods.append((str(calendar["METHOD"]), int(event["SEQUENCE"])))
    assert methods == [("REQUEST", 0), ("REQUEST", 1), ("CANCEL", 2)]


def test_bad_input_is_422_with_field_errors(smtp_server, api_as, seller, make_contact):
    api = api_as(seller)
    no_email = make_contact(seller, first_name="Noah", last_name="Nomail", email="", phone="+33612345678")
    start = _start()
    response = api.post("/meetings", {"title": "Demo", "starts_at": start, "ends_at": _start(0),
                                      "attendee_contacts": [no_email.pk]})
    errors = field_errors(response)
    assert errors[("body", "ends_at")] == "the meeting must end after it starts"
    assert errors[("body", "attendee_contacts")].startswith("Noah Nomail has no e-mail address")
    assert field_errors(api.post("/meetings", {"title": "x", "starts_at": start, "owner": 3}))[("body", "owner")]
    assert smtp_server.messages == []


def test_hidden_meetings_are_404_and_lists_are_paged(smtp_server, api_as, seller, other_seller, make_contact):
    api = api_as(seller)
    contact = make_contact(seller)
    ids = [api.post("/meetings", {"title": f"M{i}", "starts_at": _start(i + 1), "duration_minutes": 15,
                                  "attendee_contacts": [contact.pk]}).json()["id"] for i in range(3)]
    page = api.get("/meetings", {"limit": 2}).json()
    assert [m["id"] for m in page["items"]] == ids[:2] and page["next_cursor"]
    rest = api.get("/meetings", {"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [m["id"] for m in rest["items"]] == ids[2:] and rest["next_cursor"] is None
    other = api_as(other_seller)
    assert other.get(f"/meetings/{ids[0]}").status_code == 404
    assert other.patch(f"/meetings/{ids[0]}", {"title": "Mine now"}).status_code == 404
    assert other.get("/meetings").json()["items"] == []
    assert field_errors(api.get("/meetings", {"stauts": "done"}))[("query", "stauts")] == "unknown parameter"


def test_templates_api_and_email_to_a_contact(smtp_server, api_as, seller, teammate, other_seller, make_contact):
    api = api_as(seller)
    bad = api.post("/email-templates", {"name": "Hi", "subject": "Hello", "body": "Dear {{ firstname }}"})
    assert field_errors(bad)[("body", "body")].startswith("unknown merge field {{ firstname }}")
    made = api.post("/email-templates", {"name": "Hi", "subject": "Hello {{ first_name }}",
                                         "body": "Dear {{ first_name }}"})
    assert made.status_code == 201
    template_id = made.json()["id"]
    assert [t["id"] for t in api_as(teammate).get("/email-templates").json()["items"]] == [template_id]
    assert api_as(teammate).patch(f"/email-templates/{template_id}", {"name": "x"}).status_code == 403
    assert api_as(other_seller).get(f"/email-templates/{template_id}").status_code == 404

    contact = make_contact(seller, first_name="Ines", email="ines@client.example")
    sent = api.post(f"/contacts/{contact.pk}/emails", {"template": template_id, "subject": "Hello {{ first_name }}",
                                                        "body": "Dear {{ first_name }}"})
    assert sent.status_code == 201 and sent.json()["subject"] == "Hello Ines"
    assert smtp_server.messages[0].message["Subject"] == "Hello Ines"
    assert api_as(other_seller).post(f"/contacts/{contact.pk}/emails",
                                     {"subject": "x", "body": "y"}).status_code == 404
    smtp_server.refuse.add("ines@client.example")
    refused = api.post(f"/contacts/{contact.pk}/emails", {"subject": "Again", "body": "Hello"})
    assert refused.status_code == 502 and "550" in refused.json()["detail"]
    assert api.delete(f"/email-templates/{template_id}").status_code == 204
    assert api.get(f"/email-templates/{template_id}").status_code == 404
