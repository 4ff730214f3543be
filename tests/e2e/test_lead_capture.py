"""A visitor browses three pages of a customer's site that runs the tracking script, consents,
sends the embedded lead form, and a seller then sees those three page views on the new
contact's timeline.

The "customer's site" is served by the live server itself under http://127.0.0.1:PORT, while
Rapport is reached as http://localhost:PORT: a different origin and a different site to the
browser, so the script, the beacon, the start-token fetch and the form post are all really
cross-site. This module doubles as the URL configuration that adds the shop's pages.
"""

from __future__ import annotations

import time

import pytest
from csp.decorators import csp_exempt
from django.core.cache import cache
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.urls import include, path
from playwright.sync_api import expect

from .conftest import log_in

pytestmark = pytest.mark.e2e

SHOP = {"rapport": "", "site_key": "", "form": None}
TITLES = {1: "Shop · Pricing", 2: "Shop · Case studies", 3: "Shop · Talk to us"}


@csp_exempt()
def shop_page(request, number: int):
    """A page of the customer's site: the tracking line, a consent banner, links, and the form on page 3."""
    from rapport.leads.views.capture.public import form_fields

    rapport = SHOP["rapport"]
    form_html = ""
    if number == 3:
        form = SHOP["form"]
        form_html = render_to_string("leads/capture/embed_snippet.html",
                                     {"form": form, "rows": form_fields(form), "base": rapport})
    links = " ".join(f'<a href="/e2e-shop/{n}/?utm_source=e2e&amp;utm_campaign=autumn">Page {n}</a>'
                     for n in (1, 2, 3) if n != number)
    html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{TITLES[number]}</title>
<script src="{rapport}/static/leads/track.js" data-site="{SHOP['site_key']}" data-consent="after_consent"
        data-flush-ms="100"></script></head>
<body><h1>{TITLES[number]}</h1>
<div id="banner"><button type="button" id="accept">Accept tracking</button></div>
<script>document.getElementById("accept").addEventListener("click", function () {{
  window.rapport.consent(); document.getElementById("banner").remove(); }});
  if (localStorage.getItem("rapport_consent") === "1") document.getElementById("banner").remove();</script>
<nav>{links}</nav>{form_html}</body></html>"""
    return HttpResponse(html)


urlpatterns = [
    path("e2e-shop/<int:number>/", shop_page),
    path("", include("rapport.urls")),
]


@pytest.fixture
def shop(settings, live_server, seller):
    from rapport.leads.capture import tracking
    from rapport.leads.capture.building import save_form, save_site
    from rapport.leads.models import ConsentMode

    cache.clear()
    tracking.forget_sites()
    settings.ROOT_URLCONF = __name__
    settings.RAPPORT_FORM_MIN_SECONDS = 1
    port = live_server.url.rsplit(":", 1)[1]
    rapport = f"http://localhost:{port}"
    shop_origin = f"http://127.0.0.1:{port}"
    from django.contrib.auth import get_user_model

    from rapport.core.models import Profile, Role

    builder = get_user_model().objects.create_user("mia_marketer", password="x")
    Profile.objects.filter(user=builder).update(role=Role.MARKETER)
    builder.refresh_from_db()
    site = save_site(actor=builder, data={"name": "Shop", "origins": shop_origin,
                                          "consent_mode": ConsentMode.AFTER_CONSENT})
    form = save_form(actor=builder, data={
        "name": "Talk to sales", "title": "Talk to sales", "owner": seller.pk, "route_leads": False,
        "consent_wording": "Shop may contact me about my request.", "consent_required": True,
    }, fields=[{"target": "contact.first_name", "label": "First name", "required": True},
               {"target": "contact.last_name", "label": "Last name"},
               {"target": "contact.email", "label": "Work e-mail"},
               {"target": "lead.need", "label": "How can we help?"}])
    SHOP.update(rapport=rapport, site_key=site.key, form=form)
    yield shop_origin
    cache.clear()


def test_visitor_browses_three_pages_sends_the_form_and_the_seller_sees_the_page_views(page, browser, shop, seller,
                                                                                       live_server):
    from rapport.people.models import Contact
    from rapport.timeline.models import Event

    page.goto(f"{shop}/e2e-shop/1/?utm_source=e2e&utm_campaign=autumn")
    page.get_by_role("button", name="Accept tracking").click()
    page.wait_for_timeout(300)  # the script sends after 100 ms; leaving the page sends with a beacon anyway
    page.get_by_role("link", name="Page 2").click()
    expect(page.locator("h1")).to_have_text(TITLES[2])
    page.get_by_role("link", name="Page 3").click()
    expect(page.locator("h1")).to_have_text(TITLES[3])

    form = page.locator("form[data-rapport-form]")
    # The embed script fetched a signed start time from Rapport (cross-site).
    expect(form.locator('input[name="rapport_started"]')).not_to_have_value("")
    form.get_by_label("First name").fill("Ines")
    form.get_by_label("Last name").fill("Okafor")
    form.get_by_label("Work e-mail").fill("ines.okafor@harbour.example")
    form.get_by_label("How can we help?").fill("Pricing for 25 seats")
    form.get_by_label("Shop may contact me about my request.").check()
    page.wait_for_timeout(1100)  # a person takes longer than the minimum fill time
    form.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_contain_text("Thank you")
    assert page.url.startswith(SHOP["rapport"])

    contact = Contact.objects.get(email="ines.okafor@harbour.example")
    assert contact.owner_id == seller.pk
    # The last page's view may still be on its way (sent by beacon as the visitor left it).
    deadline = time.monotonic() + 10
    while Event.objects.filter(contact=contact, kind="page_view").count() < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    views = list(Event.objects.filter(contact=contact, kind="page_view").order_by("occurred_at"))
    assert [v.payload["title"] for v in views] == [TITLES[1], TITLES[2], TITLES[3]]
    assert views[0].payload["utm"] == {"source": "e2e", "campaign": "autumn"}

    # The seller, in a browser of their own, sees what the prospect read before asking.
    context = browser.new_context(base_url=live_server.url)
    seller_page = context.new_page()
    try:
        log_in(seller_page, seller.username)
        seller_page.goto(f"/contacts/{contact.pk}/")
        expect(seller_page.locator("h1")).to_have_text("Ines Okafor")
        timeline = seller_page.locator("#timeline")
        for title in TITLES.values():
            expect(timeline).to_contain_text(f"Viewed {title}")
        expect(timeline.locator(".event-page_view")).to_have_count(3)
        expect(timeline).to_contain_text("Sent the form “Talk to sales” and gave consent")
    finally:
        context.close()


def test_a_visitor_who_opted_out_is_not_tracked(page, shop):
    from rapport.leads.models import Visitor
    from rapport.timeline.models import Event

    page.add_init_script("window.rapportOptOut = true; localStorage.setItem('rapport_consent', '1');")
    page.goto(f"{shop}/e2e-shop/1/")
    page.goto(f"{shop}/e2e-shop/2/")
    page.wait_for_timeout(500)
    assert page.evaluate("window.rapport.visitorId()") == ""
    assert page.evaluate("document.cookie.indexOf('rapport_vid') === -1")
    assert not Event.objects.filter(kind="page_view").exists() and not Visitor.objects.exists()
