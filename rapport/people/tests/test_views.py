import pytest
from django.urls import reverse

from rapport.core.models import AuditEntry
from rapport.people.models import Company, Contact, CustomField
from rapport.timeline.models import Event


@pytest.fixture
def seller_client(client, seller):
    client.force_login(seller)
    return client


def test_contact_list_shows_only_visible_contacts(seller_client, seller, other_seller, make_contact):
    mine = make_contact(seller, first_name="Visible", last_name="Vera")
    theirs = make_contact(other_seller, first_name="Hidden", last_name="Hank")
    html = seller_client.get(reverse("contact_list")).content.decode()
    assert mine.email in html
    assert theirs.email not in html


def test_empty_contact_list_offers_a_next_step(seller_client):
    html = seller_client.get(reverse("contact_list")).content.decode()
    assert "No contacts yet" in html and reverse("contact_create") in html


def test_contact_list_filters_and_reports_bad_filters(seller_client, seller, make_contact):
    make_contact(seller, first_name="Cleo", lifecycle_stage="customer")
    make_contact(seller, first_name="Lena", lifecycle_stage="lead")
    html = seller_client.get(reverse("contact_list"), {"stage": "customer"}).content.decode()
    assert "Cleo" in html and "Lena" not in html
    html = seller_client.get(reverse("contact_list"), {"stage": "nonsense"}).content.decode()
    assert "stage" in html and "choose one of" in html


def test_contact_list_query_count_does_not_grow_with_rows(seller_client, seller, make_contact,
                                                          django_assert_max_num_queries):
    for _ in range(3):
        make_contact(seller, tags=["a", "b"])
    with django_assert_max_num_queries(20) as few:
        seller_client.get(reverse("contact_list"))
    for _ in range(30):
        make_contact(seller, tags=["c"], company=None)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = seller_client.get(reverse("contact_list"))
    assert response.status_code == 200


def test_contact_page_query_count_does_not_grow_with_events(seller_client, seller, make_contact,
                                                            django_assert_max_num_queries):
    from rapport.timeline import services as timeline

    contact = make_contact(seller)
    timeline.log_activity(actor=seller, contact=contact, data={"kind": "call", "duration_minutes": 5})
    with django_assert_max_num_queries(40) as few:
        seller_client.get(reverse("contact_detail", args=[contact.pk]))
    for i in range(40):
        timeline.log_activity(actor=seller, contact=contact, data={"kind": "note", "body": f"note {i}"})
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = seller_client.get(reverse("contact_detail", args=[contact.pk]))
    assert response.status_code == 200


def test_cursor_pagination_walks_every_contact_once(seller_client, seller, make_contact):
    emails = {make_contact(seller).email for _ in range(25)}
    seen, url, params = set(), reverse("contact_list"), {"size": 10}
    for _ in range(5):
        response = seller_client.get(url, params)
        page = response.context["page"]
        seen |= {c.email for c in page.items}
        if not page.next_cursor:
            break
        params = {"size": 10, "cursor": page.next_cursor}
    assert seen == emails


def test_create_contact_through_the_form(seller_client, seller):
    response = seller_client.post(reverse("contact_create"), {
        "first_name": "Grace", "last_name": "Hopper", "email": "Grace@Navy.example", "phone": "+1 415 555 0123",
        "company_name": "Navy Labs", "lifecycle_stage": "lead", "owner": seller.pk, "tags": "cobol, vip",
    })
    contact = Contact.objects.get(email="grace@navy.example")
    assert response.status_code == 302 and response.url == reverse("contact_detail", args=[contact.pk])
    assert contact.company.name == "Navy Labs" and contact.phone == "+14155550123"
    assert Company.objects.filter(name="Navy Labs").count() == 1


def test_bad_contact_form_rerenders_with_errors_next_to_fields(seller_client, seller):
    response = seller_client.post(reverse("contact_create"), {
        "first_name": "X", "email": "nope", "phone": "abc", "lifecycle_stage": "lead", "owner": seller.pk,
    })
    assert response.status_code == 422
    form = response.context["form"]
    assert "email" in form.errors and "phone" in form.errors
    assert Contact.objects.count() == 0
    assert 'aria-invalid="true"' in response.content.decode()


def test_edit_contact_and_see_the_audit_history(seller_client, seller, make_contact):
    contact = make_contact(seller, job_title="Engineer")
    response = seller_client.post(reverse("contact_edit", args=[contact.pk]), {
        "first_name": contact.first_name, "last_name": contact.last_name, "email": contact.email,
        "lifecycle_stage": "customer", "owner": seller.pk, "job_title": "CTO",
    })
    assert response.status_code == 302
    html = seller_client.get(reverse("contact_detail", args=[contact.pk])).content.decode()
    assert "Engineer → CTO" in html


def test_other_team_gets_404_everywhere(client, seller, other_seller, make_contact, make_company):
    contact = make_contact(seller)
    company = make_company(seller)
    client.force_login(other_seller)
    for name, arg in [("contact_detail", contact.pk), ("contact_edit", contact.pk), ("company_detail", company.pk),
                      ("company_edit", company.pk)]:
        assert client.get(reverse(name, args=[arg])).status_code == 404
    assert client.post(reverse("contact_delete", args=[contact.pk])).status_code == 404
    assert client.post(reverse("contact_log_activity", args=[contact.pk]), {"kind": "note", "body": "x"}
                       ).status_code == 404
    client.post(reverse("contact_bulk"), {"ids": [contact.pk], "action": "delete"})
    contact.refresh_from_db()
    assert contact.deleted_at is None
    html = client.get(reverse("search"), {"q": contact.email}).content.decode()
    assert reverse("contact_detail", args=[contact.pk]) not in html


def test_log_a_call_inline_with_htmx(seller_client, seller, make_contact):
    contact = make_contact(seller)
    response = seller_client.post(
        reverse("contact_log_activity", args=[contact.pk]),
        {"kind": "call", "subject": "Renewal chat", "duration_minutes": "25", "outcome": "connected"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Renewal chat" in html and 'hx-swap-oob="true"' in html
    event = Event.objects.get(contact=contact, kind="call")
    assert event.activity.duration_minutes == 25
    page = seller_client.get(reverse("contact_detail", args=[contact.pk])).content.decode()
    assert "25</strong> minutes" in page


def test_bad_activity_is_returned_to_the_form(seller_client, seller, make_contact):
    contact = make_contact(seller)
    response = seller_client.post(
        reverse("contact_log_activity", args=[contact.pk]),
        {"kind": "call", "duration_minutes": "-4"}, HTTP_HX_REQUEST="true",
    )
    assert response["HX-Retarget"] == "#log-activity"
    assert "whole number of minutes" in response.content.decode()
    assert not Event.objects.filter(contact=contact, kind="call").exists()


def test_notes_are_escaped(seller_client, seller, make_contact):
    contact = make_contact(seller)
    seller_client.post(reverse("contact_log_activity", args=[contact.pk]),
                       {"kind": "note", "body": "<script>alert(1)</script>"})
    html = seller_client.get(reverse("contact_detail", args=[contact.pk])).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_timeline_filters_by_kind(seller_client, seller, make_contact):
    from rapport.timeline import services as timeline

    contact = make_contact(seller)
    timeline.log_activity(actor=seller, contact=contact, data={"kind": "call", "subject": "A call"})
    timeline.log_activity(actor=seller, contact=contact, data={"kind": "note", "body": "A note"})
    html = seller_client.get(reverse("contact_detail", args=[contact.pk]), {"kind": "call"}).content.decode()
    assert "A call" in html and "A note" not in html


def test_bulk_assign_tag_and_delete(seller_client, seller, teammate, make_contact):
    a, b = make_contact(seller), make_contact(seller)
    seller_client.post(reverse("contact_bulk"), {"ids": [a.pk, b.pk], "action": "add_tag", "tag": "Webinar"})
    assert set(a.tags.values_list("name", flat=True)) == {"webinar"}
    response = seller_client.post(reverse("contact_bulk"), {"ids": [a.pk], "action": "assign_owner",
                                                            "owner": teammate.pk}, follow=True)
    assert "may not give records" in response.content.decode()
    seller_client.post(reverse("contact_bulk"), {"ids": [a.pk, b.pk], "action": "delete"})
    assert Contact.objects.filter(deleted_at__isnull=True).count() == 0
    assert AuditEntry.objects.filter(action="delete").count() == 2


def test_trash_and_restore(seller_client, seller, make_contact):
    contact = make_contact(seller)
    seller_client.post(reverse("contact_delete", args=[contact.pk]))
    assert seller_client.get(reverse("contact_detail", args=[contact.pk])).status_code == 404
    assert contact.email in seller_client.get(reverse("trash")).content.decode()
    seller_client.post(reverse("contact_restore", args=[contact.pk]))
    assert seller_client.get(reverse("contact_detail", args=[contact.pk])).status_code == 200


def test_global_search_by_name_email_phone_and_domain(seller_client, seller, make_contact, make_company):
    company = make_company(seller, name="Initech", domain="initech.example")
    make_contact(seller, first_name="Peter", last_name="Gibbons", email="peter@initech.example",
                 phone="+1 212 555 0199", company=company.pk)
    for q in ("Peter", "gibbons", "peter@ini", "+1 212 555 0199", "initech.example", "Initech"):
        html = seller_client.get(reverse("search"), {"q": q}).content.decode()
        assert "Gibbons" in html or "Initech" in html, q
    html = seller_client.get(reverse("search"), {"q": "zzzz"}).content.decode()
    assert "No contacts or companies match" in html


def test_custom_fields_show_on_forms_validate_and_filter(seller_client, seller, make_contact):
    CustomField.objects.create(entity="contact", key="tier", label="Tier", field_type="choice",
                               choices=["Gold", "Silver"])
    response = seller_client.post(reverse("contact_create"), {
        "first_name": "Ann", "email": "ann@example.com", "lifecycle_stage": "lead", "owner": seller.pk,
        "cf_tier": "Bronze",
    })
    assert response.status_code == 422
    seller_client.post(reverse("contact_create"), {
        "first_name": "Ann", "email": "ann@example.com", "lifecycle_stage": "lead", "owner": seller.pk,
        "cf_tier": "Gold",
    })
    make_contact(seller, first_name="Bob")
    assert Contact.objects.get(email="ann@example.com").custom == {"tier": "Gold"}
    html = seller_client.get(reverse("contact_list"), {"cf_tier": "Gold"}).content.decode()
    assert "ann@example.com" in html and "Bob" not in html


def test_company_page_combines_its_contacts_timelines(seller_client, seller, make_contact, make_company):
    from rapport.timeline import services as timeline

    company = make_company(seller)
    contact = make_contact(seller, company=company.pk)
    timeline.log_activity(actor=seller, contact=contact, data={"kind": "meeting", "subject": "Kick-off"})
    html = seller_client.get(reverse("company_detail", args=[company.pk])).content.decode()
    assert "Kick-off" in html and contact.full_name in html


def test_company_form_errors(seller_client):
    response = seller_client.post(reverse("company_create"), {"name": "", "domain": "not a domain"})
    assert response.status_code == 422
    assert set(response.context["form"].errors) >= {"name", "domain"}


def test_company_list_and_page_query_counts_do_not_grow(seller_client, seller, make_company, make_contact,
                                                        django_assert_max_num_queries):
    from rapport.timeline import services as timeline

    company = make_company(seller)
    make_contact(seller, company=company.pk)
    with django_assert_max_num_queries(30) as few_list:
        seller_client.get(reverse("company_list"))
    with django_assert_max_num_queries(40) as few_page:
        seller_client.get(reverse("company_detail", args=[company.pk]))
    for _ in range(20):
        make_company(seller)
        contact = make_contact(seller, company=company.pk)
        timeline.log_activity(actor=seller, contact=contact, data={"kind": "call", "duration_minutes": 3})
    with django_assert_max_num_queries(len(few_list.captured_queries)):
        assert seller_client.get(reverse("company_list")).status_code == 200
    with django_assert_max_num_queries(len(few_page.captured_queries)):
        assert seller_client.get(reverse("company_detail", args=[company.pk])).status_code == 200


def test_company_list_filters_by_custom_field(seller_client, seller, make_company):
    CustomField.objects.create(entity="company", key="partner", label="Partner", field_type="boolean")
    make_company(seller, name="Partnerco", custom={"partner": "yes"})
    make_company(seller, name="Loneco")
    response = seller_client.get(reverse("company_list"), {"cf_partner": "yes"})
    html = response.content.decode()
    assert "Partnerco" in html and "Loneco" not in html
    assert 'name="cf_partner"' in html


def test_timeline_tabs_and_older_events_answer_htmx_with_partials(seller_client, seller, make_contact):
    from rapport.timeline import services as timeline

    contact = make_contact(seller)
    for i in range(55):
        timeline.log_activity(actor=seller, contact=contact, data={"kind": "note", "body": f"note {i}"})
    url = reverse("contact_detail", args=[contact.pk])
    panel = seller_client.get(url, {"kind": "note"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="timeline-panel")
    html = panel.content.decode()
    assert 'id="timeline-panel"' in html and "<h1" not in html and "Older events" in html
    cursor = panel.context["timeline"].next_cursor
    more = seller_client.get(url, {"kind": "note", "cursor": cursor}, HTTP_HX_REQUEST="true",
                             HTTP_HX_TARGET="timeline-more").content.decode()
    assert "timeline-panel" not in more and more.count('data-kind="note"') == 5
