"""E-mail templates with merge fields, and e-mail to a contact over a real SMTP conversation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from rapport.assistant.models import MailStatus, SentEmail
from rapport.assistant.selectors import meetings as selectors
from rapport.assistant.services import mail
from rapport.core.errors import NotAllowed, NotVisible, ValidationFailed
from rapport.timeline.models import Activity, Event

pytestmark = pytest.mark.django_db

BODY = ("Hello {{ first_name }},\n\nThank you for your order of {{last_purchase}}. "
        "{{ owner }} at {{ company }} looks after {{ name }}.\n")


def test_unknown_merge_field_is_refused_at_save(seller):
    with pytest.raises(ValidationFailed) as caught:
        mail.create_template(actor=seller, data={"name": "Thanks", "subject": "Hi {{ nickname }}",
                                                 "body": "Dear {{ first_name }} {{ surname }}"})
    errors = caught.value.errors
    assert errors["subject"].startswith("unknown merge field {{ nickname }}; use one of: {{ first_name }}")
    assert "unknown merge field {{ surname }}" in errors["body"]
    with pytest.raises(ValidationFailed) as caught:
        mail.create_template(actor=seller, data={"name": "", "subject": "Hi", "body": "Dear {{ first_name"})
    assert caught.value.errors == {"name": "give the template a name",
                                   "body": "a merge field is not closed: write it as {{ first_name }}"}


def test_templates_are_shared_with_the_team_and_only_the_owner_changes_them(seller, teammate, other_seller):
    shared = mail.create_template(actor=seller, data={"name": "Follow-up", "subject": "Hi", "body": BODY})
    private = mail.create_template(actor=seller, data={"name": "Mine", "subject": "Hi", "body": "x",
                                                       "sharing": "owner"})
    assert {t.pk for t in selectors.template_queryset(teammate)} == {shared.pk}
    assert list(selectors.template_queryset(other_seller)) == []
    with pytest.raises(NotVisible):
        selectors.get_template(teammate, private.pk)
    with pytest.raises(NotAllowed):
        mail.update_template(actor=teammate, template=shared, data={"name": "Taken"})
    mail.update_template(actor=seller, template=shared, data={"name": "Follow-up (short)"})
    with pytest.raises(ValidationFailed) as caught:
        mail.update_template(actor=seller, template=shared, data={"body": "{{ shoe_size }}"})
    assert "unknown merge field {{ shoe_size }}" in caught.value.errors["body"]


def _order(seller, contact, when):
    # Made directly: only the date of the last purchase matters here, not how orders are recorded.
    from rapport.sales.models import Order

    return Order.objects.create(contact=contact, owner=seller, ordered_at=when, currency="EUR",
                                total=Decimal("120.00"))


def test_email_to_a_contact_fills_merge_fields_sends_and_logs(smtp_server, seller, make_contact, make_company):
    company = make_company(seller, name="Bakery Lumière")
    contact = make_contact(seller, first_name="Ines", last_name="Martin", email="ines@client.example",
                           company=company.pk)
    _order(seller, contact, dt.datetime(2026, 10, 3, 12, tzinfo=dt.UTC))
    template = mail.create_template(actor=seller, data={"name": "Thanks", "subject": "Thanks, {{ first_name }}",
                                                        "body": BODY})
    sent = mail.send_email_to_contact(actor=seller, contact=contact, template=template, subject=template.subject,
                                      body=template.body)
    [received] = smtp_server.messages
    message = received.message
    assert received.rcpt_tos == ["ines@client.example"]
    assert message["Subject"] == "Thanks, Ines"
    assert message["To"] == "Ines Martin <ines@client.example>"
    assert message["Reply-To"] == "Sam <sam_seller@example.com>"
    assert message.get_content_type() == "text/plain"
    text = message.get_content()
    assert "Hello Ines," in text and "order of 3 October 2026" in text and "Sam at Bakery Lumière" in text
    assert "{{" not in text
    assert sent.status == MailStatus.SENT and sent.template_id == template.pk
    activity = Activity.objects.get(kind="email", contact=contact)
    assert activity.body == text.replace("\r\n", "\n").strip()
    assert Event.objects.filter(kind="email", contact=contact, activity=activity).exists()


def test_sending_refuses_unknown_or_empty_fields_and_contacts_without_email(smtp_server, seller, make_contact):
    contact = make_contact(seller, first_name="Ines", email="ines@client.example")
    with pytest.raises(ValidationFailed) as caught:
        mail.send_email_to_contact(actor=seller, contact=contact, subject="Hi", body="Dear {{ nick }}")
    assert caught.value.errors["body"].startswith("unknown merge field {{ nick }}")
    with pytest.raises(ValidationFailed) as caught:
        mail.send_email_to_contact(actor=seller, contact=contact, subject="Hi",
                                   body="Since {{ last_purchase }} we miss you")
    assert caught.value.errors["body"].startswith("{{ last_purchase }} would be empty for")
    no_email = make_contact(seller, first_name="Noah", last_name="Nomail", email="", phone="+33612345678")
    with pytest.raises(ValidationFailed) as caught:
        mail.send_email_to_contact(actor=seller, contact=no_email, subject="Hi", body="Hello")
    assert caught.value.errors == {"contact": "Noah Nomail has no e-mail address; add one on their page first"}
    assert smtp_server.messages == [] and not SentEmail.objects.exists()
    assert not Activity.objects.filter(kind="email").exists()


def test_a_refused_message_is_logged_as_failed_and_not_on_the_timeline(smtp_server, seller, make_contact):
    contact = make_contact(seller, email="gone@client.example")
    smtp_server.refuse.add("gone@client.example")
    with pytest.raises(mail.MailNotSent):
        mail.send_email_to_contact(actor=seller, contact=contact, subject="Hi", body="Hello {{ first_name }}")
    failed = SentEmail.objects.get()
    assert failed.status == MailStatus.FAILED and "550" in failed.error and failed.body.startswith("Hello Casey")
    assert not Activity.objects.filter(kind="email").exists()


def test_contact_email_page_uses_a_template_and_shows_errors(smtp_server, client, seller, make_contact):
    contact = make_contact(seller, first_name="Ines", email="ines@client.example")
    template = mail.create_template(actor=seller, data={"name": "Hello", "subject": "Hi {{ first_name }}",
                                                        "body": "Hello {{ first_name }}"})
    client.force_login(seller)
    page = client.get(f"/contacts/{contact.pk}/email/?template={template.pk}", secure=True)
    assert page.status_code == 200 and "Hi {{ first_name }}" in page.content.decode()
    bad = client.post(f"/contacts/{contact.pk}/email/", {"template": template.pk, "subject": "Hi",
                                                          "body": "Hello {{ frist_name }}"}, secure=True)
    assert bad.status_code == 422 and "unknown merge field {{ frist_name }}" in bad.content.decode()
    good = client.post(f"/contacts/{contact.pk}/email/", {"template": template.pk, "subject": "Hi {{ first_name }}",
                                                           "body": "Hello {{ first_name }}"}, secure=True)
    assert good.status_code == 302
    assert smtp_server.messages[0].message["Subject"] == "Hi Ines"
    assert timezone.now() - SentEmail.objects.get().sent_at < dt.timedelta(minutes=1)


def test_links_to_our_tracked_sites_carry_the_contacts_signed_token(smtp_server, seller, make_contact):
    """Whoever follows a link from our e-mail to our site is known on arrival (issue 5's
    "arrives from a tracked e-mail link"); links to other sites are left as written."""
    from urllib.parse import parse_qs, urlsplit

    from rapport.leads.capture.identity import LINK_PARAM, contact_from_token
    from rapport.leads.models import TrackedSite

    TrackedSite.objects.create(name="Shop", origins=["https://shop.example"])
    TrackedSite.objects.create(name="Old site", origins=["https://old.example"], active=False)
    contact = make_contact(seller, first_name="Ines", email="ines@client.example")
    body = ("Hello {{ first_name }}, the offer is at https://shop.example/offer?ref=mail.\n"
            "Our partner: https://partner.example/page and the old one (https://old.example/x).\n")
    mail.send_email_to_contact(actor=seller, contact=contact, subject="Offer", body=body)
    text = smtp_server.messages[0].message.get_content()
    [ours] = [w for w in text.split() if w.startswith("https://shop.example")]
    assert ours.endswith(".")  # the sentence's full stop stays outside the link
    query = parse_qs(urlsplit(ours[:-1]).query)
    assert query["ref"] == ["mail"]
    assert contact_from_token(query[LINK_PARAM][0]) == contact
    assert "https://partner.example/page " in text and "(https://old.example/x)" in text
    assert text.count(LINK_PARAM) == 1
    # The timeline keeps the words as written, without the token.
    activity = Activity.objects.get(kind="email", contact=contact)
    assert LINK_PARAM not in activity.body and "https://shop.example/offer?ref=mail." in activity.body
