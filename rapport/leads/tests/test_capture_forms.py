"""Web forms: building them, what a submission stores, and everything a bad or hostile post meets."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from rapport.core.errors import NotAllowed, ValidationFailed
from rapport.leads.capture import protection, tracking
from rapport.leads.capture.building import save_form, save_site
from rapport.leads.models import ConsentMode, ConsentRecord, FormSubmission, Lead, Visitor, VisitorPageView
from rapport.people.models import Company, Contact
from rapport.timeline.models import Event

WORDING = "Yes, Acme may e-mail me about its products. I can withdraw this at any time."
PAGE = "https://www.shop.example/demo?utm_source=linkedin&utm_medium=social&utm_campaign=launch"


@pytest.fixture(autouse=True)
def _fresh_limits(settings):
    # The rate limit lives in the cache, which outlives a test's database.
    cache.clear()
    tracking.forget_sites()
    settings.RAPPORT_FORM_MIN_SECONDS = 0
    yield
    cache.clear()


@pytest.fixture
def web_form(admin_user):
    return save_form(actor=admin_user, data={
        "name": "Demo request", "title": "Book a demo", "consent_wording": WORDING, "consent_required": True,
        "owner": admin_user.pk, "route_leads": False,
    }, fields=[
        {"target": "contact.first_name", "label": "First name", "required": True},
        {"target": "contact.last_name", "label": "Last name"},
        {"target": "contact.email", "label": "Work e-mail"},
        {"target": "company.name", "label": "Company"},
        {"target": "lead.need", "label": "What do you need?"},
        {"target": "lead.timeline", "label": "When?"},
    ])


def good_post(form, **changes):
    data = {
        "contact.first_name": "Nora", "contact.last_name": "Quist", "contact.email": "Nora.Quist@Fjord.example",
        "company.name": "Fjord Analytics", "lead.need": "A CRM for 40 sellers", "lead.timeline": "quarter",
        "rapport_consent": "yes", "rapport_started": protection.start_token(form.slug), "rapport_page": PAGE,
        "rapport_referrer": "https://www.linkedin.example/", "rapport_visitor": "", "rapport_website": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def submit(form, data, client=None, **extra):
    return (client or Client()).post(reverse("capture_public_form", args=[form.slug]), data, **extra)


def test_a_submission_makes_contact_company_lead_consent_and_timeline_entries(web_form, admin_user):
    response = submit(web_form, good_post(web_form))
    assert response.status_code == 303
    assert response["Location"] == reverse("capture_form_thanks", args=[web_form.slug])
    contact = Contact.objects.get(email="nora.quist@fjord.example")
    assert (contact.first_name, contact.last_name, contact.owner_id) == ("Nora", "Quist", admin_user.pk)
    company = Company.objects.get(name="Fjord Analytics")
    assert company.domain == "fjord.example" and contact.company_id == company.pk
    lead = Lead.objects.get(contact=contact)
    assert (lead.source, lead.need, lead.timeline, lead.owner_id) == ("web_form", "A CRM for 40 sellers", "quarter",
                                                                      admin_user.pk)
    assert (lead.utm_source, lead.utm_medium, lead.utm_campaign, lead.campaign) == ("linkedin", "social", "launch",
                                                                                     "launch")
    consent = ConsentRecord.objects.get(contact=contact)
    assert consent.wording == WORDING
    assert "Demo request" in consent.source and PAGE[:40] in consent.source
    submission = FormSubmission.objects.get(form=web_form)
    assert submission.lead_id == lead.pk and submission.values["lead.need"] == "A CRM for 40 sellers"
    assert Event.objects.filter(contact=contact, kind="form", summary__contains="gave consent").exists()
    thanks = Client().get(response["Location"])
    assert "Thank you" in thanks.content.decode()


def test_an_existing_contact_is_found_by_email_and_only_its_blanks_are_filled(web_form, admin_user, make_contact,
                                                                                make_company):
    company = make_company(admin_user, name="Fjord", domain="fjord.example")
    existing = make_contact(admin_user, first_name="Nora", last_name="", email="nora.quist@fjord.example",
                            job_title="CTO")
    response = submit(web_form, good_post(web_form, **{"contact.first_name": "Eleanor", "company.name": ""}))
    assert response.status_code == 303
    existing.refresh_from_db()
    assert Contact.objects.filter(email="nora.quist@fjord.example").count() == 1
    assert (existing.first_name, existing.last_name, existing.job_title) == ("Nora", "Quist", "CTO")
    # The company is found by the e-mail's domain, not created again.
    assert existing.company_id == company.pk and Company.objects.count() == 1
    assert Lead.objects.get(contact=existing).company_id == company.pk


def test_the_visitors_anonymous_page_views_join_the_new_contact(web_form, admin_user, seller):
    site = save_site(actor=admin_user, data={"name": "Shop", "origins": "https://www.shop.example",
                                             "consent_mode": ConsentMode.ALWAYS})
    visitor_id = "v" * 32
    now = int(time.time() * 1000)
    batch = {"site": site.key, "visitor": visitor_id, "events": [
        {"url": f"https://www.shop.example/{path}", "title": path.title(), "at": now - (3 - i) * 60_000}
        for i, path in enumerate(["pricing", "features", "customers"])]}
    import json

    assert Client().post("/t/collect", json.dumps(batch), content_type="text/plain").status_code == 202
    assert submit(web_form, good_post(web_form, rapport_visitor=visitor_id)).status_code == 303
    contact = Contact.objects.get(email="nora.quist@fjord.example")
    views = Event.objects.filter(contact=contact, kind="page_view").order_by("occurred_at")
    assert [e.summary for e in views] == ["Viewed Pricing", "Viewed Features", "Viewed Customers"]
    assert not VisitorPageView.objects.exists()
    assert Visitor.objects.get(anonymous_id=visitor_id).contact_id == contact.pk
    lead = Lead.objects.get(contact=contact)
    assert lead.first_touch_at == views[0].occurred_at
    # Later page views go straight to the contact.
    batch["events"] = [{"url": "https://www.shop.example/thanks", "at": int(time.time() * 1000)}]
    assert Client().post("/t/collect", json.dumps(batch), content_type="text/plain").status_code == 202
    assert Event.objects.filter(contact=contact, kind="page_view").count() == 4


@pytest.mark.parametrize("changes, field, reason", [
    ({"contact.email": "not-an-address"}, "contact.email", "is not a valid e-mail address"),
    ({"contact.email": "a@b"}, "contact.email", "is not a valid e-mail address"),
    ({"contact.email": ""}, "contact.email", "required"),
    ({"contact.first_name": ""}, "contact.first_name", "First name is required"),
    ({"contact.first_name": "x" * 101}, "contact.first_name", "at most 100 characters"),
    ({"lead.timeline": "tomorrow"}, "lead.timeline", "choose one of the options"),
    ({"contact.job_title": "Boss"}, "contact.job_title", "this form has no field 'contact.job_title'"),
    ({"is_admin": "1"}, "is_admin", "this form has no field 'is_admin'"),
    ({"rapport_consent": None}, "rapport_consent", "tick the consent box"),
])
def test_bad_input_is_refused_with_the_reason_and_nothing_is_stored(web_form, changes, field, reason):
    response = submit(web_form, good_post(web_form, **changes))
    assert response.status_code == 400
    page = response.content.decode()
    assert reason.replace("'", "&#x27;") in page
    # What the visitor typed is kept in the form.
    assert "Fjord Analytics" in page
    assert not Contact.objects.exists() and not Lead.objects.exists() and not FormSubmission.objects.exists()


def test_a_robot_filling_the_honeypot_is_thanked_and_ignored(web_form):
    response = submit(web_form, good_post(web_form, rapport_website="http://spam.example"))
    assert response.status_code == 303
    assert not Contact.objects.exists() and not FormSubmission.objects.exists()


def test_a_submission_faster_than_a_person_types_is_refused_with_the_values_kept(web_form, settings):
    settings.RAPPORT_FORM_MIN_SECONDS = 3
    response = submit(web_form, good_post(web_form))
    assert response.status_code == 400
    assert "quicker than we expected" in response.content.decode()
    assert "Fjord Analytics" in response.content.decode()
    assert not Contact.objects.exists()


@pytest.mark.parametrize("token", ["", "garbage", None])
def test_a_missing_or_forged_start_token_asks_to_send_again(web_form, token):
    response = submit(web_form, good_post(web_form, rapport_started=token))
    assert response.status_code == 400
    assert "send the form again" in response.content.decode()
    assert not Contact.objects.exists()


def test_a_token_for_another_form_is_refused(web_form, admin_user):
    other = save_form(actor=admin_user, data={"name": "Other"}, fields=[])
    response = submit(web_form, good_post(web_form, rapport_started=protection.start_token(other.slug)))
    assert response.status_code == 400


def test_an_oversized_post_is_refused(web_form):
    response = submit(web_form, good_post(web_form, **{"lead.need": "x" * 40_000}))
    assert response.status_code == 413
    assert not Contact.objects.exists()


@pytest.mark.parametrize("extra_fields", [protection.MAX_FIELDS, 1500])
def test_a_post_with_too_many_fields_is_refused_and_nothing_is_stored(web_form, extra_fields):
    # Small enough to pass the size limit: a robot stuffing fields, not a person writing a long message.
    data = urlencode(good_post(web_form, **{f"f{i}": "" for i in range(extra_fields)}))
    assert len(data) < protection.max_bytes()
    response = submit(web_form, data, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    if extra_fields == protection.MAX_FIELDS:
        assert "too many fields" in response.content.decode()
    assert not Contact.objects.exists() and not Lead.objects.exists() and not FormSubmission.objects.exists()


def test_the_rate_limit_per_address(web_form, settings):
    settings.RAPPORT_FORM_RATE_LIMIT = 2
    assert submit(web_form, good_post(web_form)).status_code == 303
    assert submit(web_form, good_post(web_form, **{"contact.email": "b@fjord.example"})).status_code == 303
    refused = submit(web_form, good_post(web_form, **{"contact.email": "c@fjord.example"}))
    assert refused.status_code == 429 and "Too many forms" in refused.content.decode()
    assert refused["Retry-After"]
    assert not Contact.objects.filter(email="c@fjord.example").exists()
    # Another address is not affected.
    assert submit(web_form, good_post(web_form, **{"contact.email": "d@fjord.example"}),
                  REMOTE_ADDR="10.1.2.3").status_code == 303


def test_an_inactive_or_unknown_form_is_not_found(web_form, admin_user):
    save_form(actor=admin_user, form=web_form, data={"active": False}, fields=[{"target": "contact.email"}])
    assert submit(web_form, good_post(web_form)).status_code == 404
    assert Client().get("/f/nope/").status_code == 404


def test_a_cross_site_post_works_for_forms_only_and_csrf_still_guards_everything_else(web_form, admin_user):
    browser = Client(enforce_csrf_checks=True)
    response = submit(web_form, good_post(web_form), client=browser, HTTP_ORIGIN="https://www.shop.example")
    assert response.status_code == 303
    browser.force_login(admin_user)
    refused = browser.post(reverse("contact_create"), {"first_name": "Eve", "email": "eve@evil.example"},
                           HTTP_ORIGIN="https://www.shop.example")
    assert refused.status_code == 403
    assert not Contact.objects.filter(email="eve@evil.example").exists()
    refused = browser.post(reverse("capture_form_new"), {"name": "Sneaky"})
    assert refused.status_code == 403


def test_the_start_token_endpoint_serves_any_site(web_form):
    response = Client().get(reverse("capture_form_start", args=[web_form.slug]))
    assert response.status_code == 200 and response["Access-Control-Allow-Origin"] == "*"
    assert protection.check_start(response.json()["token"], web_form.slug) is None


def test_the_public_page_shows_the_fields_consent_and_hidden_protection(web_form):
    page = Client().get(reverse("capture_public_form", args=[web_form.slug])).content.decode()
    for text in ("Book a demo", "Work e-mail", 'name="contact.email"', WORDING, 'name="rapport_website"',
                 'name="rapport_started"'):
        assert text in page


def test_building_forms(admin_user, marketer, seller):
    form = save_form(actor=marketer, data={"name": "Newsletter"}, fields=[{"target": "contact.first_name"}])
    fields = list(form.fields.all())
    assert [(f.target, f.required) for f in fields] == [("contact.email", True), ("contact.first_name", False)]
    assert form.owner_id == marketer.pk
    with pytest.raises(NotAllowed):
        save_form(actor=seller, data={"name": "Mine"}, fields=[])
    with pytest.raises(ValidationFailed) as exc:
        save_form(actor=admin_user, data={"name": "", "consent_required": True, "colour": "red"},
                  fields=[{"target": "contact.password"}])
    assert set(exc.value.errors) == {"name", "consent_wording", "colour", "fields"}


def test_builder_pages_for_marketers_not_for_sellers(marketer, seller, web_form):
    client = Client()
    client.force_login(seller)
    assert client.get(reverse("capture_home")).status_code == 403
    client.force_login(marketer)
    assert "Demo request" in client.get(reverse("capture_home")).content.decode()
    response = client.post(reverse("capture_form_new"), {
        "name": "Trial", "owner": marketer.pk, "route_leads": "1", "active": "1",
        "use:contact.first_name": "1", "label:contact.first_name": "Your name", "required:contact.first_name": "1",
        "use:lead.need": "1", "position:lead.need": "1",
    })
    assert response.status_code == 302
    detail = client.get(response["Location"]).content.decode()
    assert "/f/" in detail and "data-rapport-form" in detail and "Your name" in detail
    bad = client.post(reverse("capture_form_new"), {"name": "", "owner": marketer.pk})
    assert bad.status_code == 400 and "give the form a name" in bad.content.decode()


def test_the_api_lists_a_contacts_consents_to_those_who_may_see_the_contact(web_form, admin_user, other_seller,
                                                                             api_as):
    assert submit(web_form, good_post(web_form)).status_code == 303
    contact = Contact.objects.get(email="nora.quist@fjord.example")
    response = api_as(admin_user).get(f"/contacts/{contact.pk}/consents")
    assert response.status_code == 200
    [consent] = response.json()
    assert consent["wording"] == WORDING and consent["form"] == web_form.pk
    # The contact is the admin's, of the north team (the form acts for the admin): a south seller gets 404.
    assert api_as(other_seller).get(f"/contacts/{contact.pk}/consents").status_code == 404
    assert api_as(admin_user).get("/contacts/999999/consents").status_code == 404
