"""Proposal pages: the seller's (who may see what, bad input) and the customer's behind the link."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from rapport.sales.models import DealStatus, Order, Proposal, ProposalStatus
from rapport.sales.selectors import proposals as selectors
from rapport.sales.services import proposals as services

from .proposals_fixtures import (  # noqa: F401 - fixtures
    buyer_fixture,
    customer_company_fixture,
    deal_fixture,
    make_deal,
    products_fixture,
)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(name="sent")
def sent_fixture(seller, deal):
    proposal = services.create_proposal(actor=seller, deal=deal, data={"discount_percent": "5", "tax_percent": "20"})
    return services.send_proposal(actor=seller, proposal=proposal)


# --- the seller's pages ----------------------------------------------------------------------------

def test_create_from_the_form_then_send_shows_the_customer_link(seller, deal):
    client = client_for(seller)
    page = client.get(reverse("proposal_create", args=[deal.pk]))
    assert page.status_code == 200 and b"Team licence" in page.content
    response = client.post(reverse("proposal_create", args=[deal.pk]),
                           {"discount_percent": "5", "tax_percent": "20", "valid_until": "", "notes": "Thanks"})
    proposal = Proposal.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("proposal_detail", args=[proposal.pk])
    detail = client.get(response["Location"]).content.decode()
    assert proposal.number in detail and "1,452.36 EUR" in detail and "customer-link" not in detail

    response = client.post(reverse("proposal_send", args=[proposal.pk]))
    assert response.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.SENT
    detail = client.get(reverse("proposal_detail", args=[proposal.pk])).content.decode()
    link = re.search(r'id="customer-link"[^>]*value="([^"]+)"', detail).group(1)
    assert link == "http://testserver" + reverse("proposal_public", args=[selectors.link_token(proposal)])


@pytest.mark.parametrize(("data", "field_error"), [
    ({"discount_percent": "120"}, "a percentage from 0 to 100"),
    ({"tax_percent": "19.125"}, "at most 2 decimal places"),
    ({"valid_until": "31/12/2030"}, "use a date such as 2026-12-31"),
    ({"discount_percent": "lots"}, "not a number"),
])
def test_bad_terms_re_render_the_form_with_the_reason(seller, deal, data, field_error):
    response = client_for(seller).post(reverse("proposal_create", args=[deal.pk]), data)
    assert response.status_code == 422
    assert field_error in response.content.decode()
    # What was typed is kept.
    assert list(data.values())[0] in response.content.decode()
    assert not Proposal.objects.exists()


def test_a_deal_without_line_items_says_so(seller, products):
    deal = make_deal(seller, lines=[])
    response = client_for(seller).post(reverse("proposal_create", args=[deal.pk]), {})
    assert response.status_code == 422 and "no line items" in response.content.decode()


def test_another_teams_seller_gets_404_everywhere(seller, other_seller, deal, sent):
    client = client_for(other_seller)
    for method, url in [
        ("get", reverse("proposal_create", args=[deal.pk])), ("post", reverse("proposal_create", args=[deal.pk])),
        ("get", reverse("proposal_detail", args=[sent.pk])), ("get", reverse("proposal_pdf", args=[sent.pk])),
        ("post", reverse("proposal_send", args=[sent.pk])), ("get", reverse("proposal_revise", args=[sent.pk])),
        ("post", reverse("proposal_revise", args=[sent.pk])),
    ]:
        assert getattr(client, method)(url).status_code == 404, url
    sent.refresh_from_db()
    assert sent.status == ProposalStatus.SENT and Proposal.objects.count() == 1


def test_anonymous_users_are_sent_to_log_in(deal, sent):
    response = Client().get(reverse("proposal_detail", args=[sent.pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert Client().get(reverse("proposal_pdf", args=[sent.pk])).status_code == 302


def test_a_teammate_and_a_manager_see_it(teammate, manager, sent):
    for user in (teammate, manager):
        assert client_for(user).get(reverse("proposal_detail", args=[sent.pk])).status_code == 200


def test_new_version_form_is_filled_with_the_current_terms(seller, sent):
    client = client_for(seller)
    page = client.get(reverse("proposal_revise", args=[sent.pk])).content.decode()
    assert 'value="5"' in page and 'value="20"' in page and "Create version 2" in page
    response = client.post(reverse("proposal_revise", args=[sent.pk]),
                           {"discount_percent": "10", "tax_percent": "20", "valid_until": "", "notes": ""})
    v2 = Proposal.objects.get(version=2)
    assert response.status_code == 302 and v2.discount_percent == 10
    sent.refresh_from_db()
    assert sent.status == ProposalStatus.SUPERSEDED
    detail = client.get(reverse("proposal_detail", args=[v2.pk])).content.decode()
    assert "v1" in detail and "Superseded" in detail


def test_seller_pdf_download(seller, sent):
    response = client_for(seller).get(reverse("proposal_pdf", args=[sent.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert f'filename="{sent.number}-v1.pdf"' in response["Content-Disposition"]


def test_send_refusal_is_shown(seller, sent):
    Proposal.objects.filter(pk=sent.pk).update(valid_until=timezone.now().date() - dt.timedelta(days=1))
    client = client_for(seller)
    response = client.post(reverse("proposal_send", args=[sent.pk]), follow=True)
    assert "Not sent" in response.content.decode() and "expired" in response.content.decode()


def test_the_deal_page_section_lists_versions_with_constant_queries(seller, deal, products):
    request = RequestFactory().get("/")
    request.user = seller

    def render():
        with CaptureQueriesContext(connection) as queries:
            html = render_to_string("sales/deals/_proposals.html", {"deal": deal}, request=request)
        return html, len(queries)

    first = services.send_proposal(actor=seller, proposal=services.create_proposal(actor=seller, deal=deal, data={}))
    html, few = render()
    assert first.number in html and "Customer link" in html and "New proposal" in html
    for _ in range(5):
        services.send_proposal(actor=seller, proposal=services.create_proposal(actor=seller, deal=deal, data={}))
    services.create_proposal_version(actor=seller, proposal=first, data={})
    html, many = render()
    assert many == few == 1
    assert html.count('data-proposal="') == 7 and "Superseded" in html


# --- the customer's page ---------------------------------------------------------------------------

def _public(proposal) -> str:
    return reverse("proposal_public", args=[selectors.link_token(proposal)])


def test_the_customer_page_needs_no_login_and_shows_the_proposal(sent, settings):
    settings.RAPPORT_COMPANY_NAME = "Northwind Traders"
    response = Client().get(_public(sent))
    page = response.content.decode()
    assert response.status_code == 200 and response["X-Robots-Tag"] == "noindex"
    for expected in ("Northwind Traders", sent.number, "Harbour &amp; Sons", "Hana Harbour", "Team licence",
                     "1,452.36 EUR", "Accept proposal", "Decline proposal", "Download PDF"):
        assert expected in page, expected
    # Nothing of the seller's application leaks onto the customer's page.
    assert "global-q" not in page and "Log out" not in page


def test_a_fresh_browser_accepts_through_csrf_protected_forms(sent, deal):
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(_public(sent))
    token = page.cookies["csrftoken"].value
    accept = reverse("proposal_public_accept", args=[selectors.link_token(sent)])
    assert browser.post(accept, {"name": "Hana Harbour"}).status_code == 403
    response = browser.post(accept, {"name": "Hana Harbour", "note": "Looking forward",
                                     "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == _public(sent)
    outcome = browser.get(response["Location"]).content.decode()
    assert "Accepted" in outcome and "Hana Harbour" in outcome and "Accept proposal" not in outcome
    deal.refresh_from_db()
    assert deal.status == DealStatus.WON and Order.objects.filter(deal=deal).exists()


def test_accepting_without_a_name_keeps_the_note_and_says_why(sent, deal):
    response = Client().post(reverse("proposal_public_accept", args=[selectors.link_token(sent)]),
                             {"name": " ", "note": "Please invoice in May"})
    page = response.content.decode()
    assert response.status_code == 422 and "type your name to accept" in page and "Please invoice in May" in page
    deal.refresh_from_db()
    assert deal.status == DealStatus.OPEN


def test_declining_shows_the_outcome(sent, deal):
    client = Client()
    response = client.post(reverse("proposal_public_decline", args=[selectors.link_token(sent)]),
                           {"name": "", "note": "Over budget"}, follow=True)
    page = response.content.decode()
    assert "Declined" in page and "Over budget" in page and "Accept proposal" not in page
    deal.refresh_from_db()
    assert deal.status == DealStatus.OPEN


def test_answering_twice_is_refused_with_the_outcome(sent):
    client = Client()
    url = reverse("proposal_public_accept", args=[selectors.link_token(sent)])
    client.post(url, {"name": "Hana"})
    response = client.post(url, {"name": "Someone else"})
    assert response.status_code == 409 and "already accepted" in response.content.decode()
    decline = client.post(reverse("proposal_public_decline", args=[selectors.link_token(sent)]), {})
    assert decline.status_code == 409
    sent.refresh_from_db()
    assert (sent.status, sent.responder_name) == (ProposalStatus.ACCEPTED, "Hana")


def test_tampered_links_get_a_friendly_404(sent):
    token = selectors.link_token(sent)
    bad = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    for url in (reverse("proposal_public", args=[bad]), reverse("proposal_public_pdf", args=[bad]),
                reverse("proposal_public", args=["x"])):
        response = Client().get(url)
        assert response.status_code == 404 and "This link is not valid" in response.content.decode()
    response = Client().post(reverse("proposal_public_accept", args=[bad]), {"name": "Mallory"})
    assert response.status_code == 404
    sent.refresh_from_db()
    assert sent.status == ProposalStatus.SENT


def test_superseded_and_revoked_links_are_gone(seller, sent):
    old = selectors.link_token(sent)
    resent = services.send_proposal(actor=seller, proposal=sent)
    response = Client().get(reverse("proposal_public", args=[old]))
    assert response.status_code == 410 and "replaced by a newer one" in response.content.decode()
    current = selectors.link_token(resent)
    services.create_proposal_version(actor=seller, proposal=resent, data={})
    for url in (reverse("proposal_public", args=[current]), reverse("proposal_public_pdf", args=[current])):
        response = Client().get(url)
        assert response.status_code == 410 and "newer version" in response.content.decode()
    response = Client().post(reverse("proposal_public_accept", args=[current]), {"name": "Hana"})
    assert response.status_code == 410


def test_an_expired_proposal_can_be_read_but_not_answered(sent):
    Proposal.objects.filter(pk=sent.pk).update(valid_until=timezone.now().date() - dt.timedelta(days=2))
    page = Client().get(_public(sent))
    assert page.status_code == 200 and "Expired" in page.content.decode()
    assert "Accept proposal" not in page.content.decode()
    response = Client().post(reverse("proposal_public_accept", args=[selectors.link_token(sent)]), {"name": "Hana"})
    assert response.status_code == 410 and "expired" in response.content.decode()
    sent.refresh_from_db()
    assert sent.status == ProposalStatus.SENT


def test_the_customer_downloads_the_pdf(sent):
    response = Client().get(reverse("proposal_public_pdf", args=[selectors.link_token(sent)]))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert response["Content-Disposition"].startswith("inline;")


def test_answer_pages_only_take_posts(sent):
    response = Client().get(reverse("proposal_public_accept", args=[selectors.link_token(sent)]))
    assert response.status_code == 405


def test_after_the_customer_answers_the_seller_sees_who_and_the_order(seller, sent, deal):
    services.accept_proposal(token=selectors.link_token(sent), name="Hana Harbour", note="Start in May")
    page = client_for(seller).get(reverse("proposal_detail", args=[sent.pk]))
    html = page.content.decode()
    # The customer's audit entries have no user: the history shows them as such, not a server error.
    assert page.status_code == 200
    assert "Accepted by Hana Harbour" in html and "Start in May" in html
    order = Order.objects.get(deal=deal)
    assert reverse("order_detail", args=[order.pk]) in html
    assert '<div class="muted small">customer</div>' in html
