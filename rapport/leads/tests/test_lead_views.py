import pytest
from django.test import Client

from rapport.leads import services
from rapport.leads.models import DisqualifyReason, Lead, LeadStatus
from rapport.sales.models import Deal

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _get(client, url, **params):
    return client.get(url, params, secure=True)


def _post(client, url, data):
    return client.post(url, data, secure=True)


@pytest.fixture
def lead(seller, make_contact, make_company):
    contact = make_contact(seller, first_name="Petra", last_name="Prospect", email="petra@prospect.example",
                           company=make_company(seller, name="Prospect Ltd"))
    return services.create_lead(actor=seller, contact=contact, data={
        "title": "Wants a demo", "budget_amount": "4200", "budget_currency": "EUR", "authority": "decision_maker"})


def test_list_shows_the_lead_and_nav_link(seller, lead):
    response = _get(_client(seller), "/leads/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Petra Prospect" in html and 'href="/leads/"' in html


def test_other_team_sees_nothing_in_list_detail_search_or_export(other_seller, lead):
    client = _client(other_seller)
    assert "Petra" not in _get(client, "/leads/").content.decode()
    assert "Petra" not in _get(client, "/leads/", q="petra").content.decode()
    assert _get(client, f"/leads/{lead.pk}/").status_code == 404
    assert _get(client, f"/leads/{lead.pk}/edit/").status_code == 404
    export = b"".join(_get(client, "/leads/export/").streaming_content).decode()
    assert "petra" not in export.lower() and export.count("\n") == 1
    reason = DisqualifyReason.objects.first()
    assert _post(client, f"/leads/{lead.pk}/disqualify/", {"reason": reason.pk}).status_code == 404
    _post(client, "/leads/bulk/", {"lead": [lead.pk], "action": "nurture", "reason": reason.pk})
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW


def test_export_has_the_sellers_leads(seller, lead):
    body = b"".join(_get(_client(seller), "/leads/export/").streaming_content).decode()
    assert "petra@prospect.example" in body and "Wants a demo" in body


def test_bad_filter_is_shown_not_ignored(seller, lead):
    html = _get(_client(seller), "/leads/", score_min="high").content.decode()
    assert "must be a whole number" in html and "Petra" not in html


def test_lead_page_shows_checklist_and_prefills_the_amount(seller, lead):
    html = _get(_client(seller), f"/leads/{lead.pk}/").content.decode()
    assert "Qualification" in html and "4,200.00 EUR" in html and "Decision maker" in html
    assert 'value="4200.00"' in html
    assert "Timeline</strong>: Not known yet" in html


def test_disqualify_without_reason_shows_the_error(seller, lead):
    response = _post(_client(seller), f"/leads/{lead.pk}/disqualify/", {"reason": "", "to_nurture": "0"})
    assert response.status_code == 400
    assert "choose the reason this lead is dropped" in response.content.decode()
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW


def test_qualify_and_convert_from_the_page(seller, lead):
    client = _client(seller)
    assert _post(client, f"/leads/{lead.pk}/qualify/", {}).status_code == 302
    response = _post(client, f"/leads/{lead.pk}/convert/", {"pipeline": Deal._meta.get_field("pipeline")
                                                           .related_model.objects.get().pk,
                                                           "amount": "4200.00", "currency": "EUR", "name": "Demo deal"})
    deal = Deal.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/deals/{deal.pk}/"
    assert deal.lead_id == lead.pk and deal.name == "Demo deal"
    html = _get(client, f"/deals/{deal.pk}/").content.decode()
    assert f"/leads/{lead.pk}/" in html


def test_convert_with_a_bad_amount_re_renders(seller, lead):
    response = _post(_client(seller), f"/leads/{lead.pk}/convert/", {"pipeline": "999", "amount": "-3"})
    assert response.status_code == 400
    assert not Deal.objects.exists()


def test_new_lead_form_creates_contact_and_lead(seller):
    client = _client(seller)
    response = _post(client, "/leads/new/", {"email": "new@firm.example", "first_name": "Nia", "company_name": "Firm",
                                             "source": "event", "title": "Met at the fair", "timeline": "quarter"})
    assert response.status_code == 302, response.content.decode()[:2000]
    lead = Lead.objects.get()
    assert lead.contact.email == "new@firm.example" and lead.company.name == "Firm" and lead.source == "event"
    response = _post(client, "/leads/new/", {"email": "broken", "source": "event", "authority": "king"})
    assert response.status_code == 400
    assert Lead.objects.count() == 1


def test_bulk_assign_and_nurture(seller, teammate, manager, lead):
    reason = DisqualifyReason.objects.first()
    client = _client(manager)
    response = _post(client, "/leads/bulk/", {"lead": [lead.pk], "action": "assign", "owner": teammate.pk})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.owner == teammate
    _post(client, "/leads/bulk/", {"lead": [lead.pk], "action": "nurture", "reason": reason.pk})
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NURTURE and lead.disqualify_reason == reason


def test_contact_page_lists_only_visible_leads(seller, other_seller, lead):
    html = _get(_client(seller), f"/leads/of-contact/{lead.contact_id}/").content.decode()
    assert f"/leads/{lead.pk}/" in html and "Wants a demo" in html
    assert _get(_client(other_seller), f"/leads/of-contact/{lead.contact_id}/").status_code == 404
    assert "contact-leads" in _get(_client(seller), f"/contacts/{lead.contact_id}/").content.decode()


def test_list_page_costs_the_same_queries_for_more_leads(seller, make_contact):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = _client(seller)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert _get(client, "/leads/").status_code == 200
        return len(captured)

    for _ in range(2):
        services.create_lead(actor=seller, contact=make_contact(seller), data={})
    queries()  # the first request of a session also reads the user's profile and token
    few = queries()
    for _ in range(6):
        services.create_lead(actor=seller, contact=make_contact(seller), data={})
    assert queries() == few
