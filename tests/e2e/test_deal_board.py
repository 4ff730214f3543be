"""The deal board in a real browser: drag a card to another column, use the keyboard's
"Move to" menu, page a long column lazily, and move without JavaScript at all."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import CHROMIUM_ARGS, TIMEOUT_MS, log_in  # noqa: F401

pytestmark = pytest.mark.e2e


@pytest.fixture
def sales_pipeline(admin_user):
    """Browser tests run on a flushed database (no default pipeline), so make one."""
    from rapport.sales.selectors import deals as selectors
    from rapport.sales.services import pipelines

    pipeline = pipelines.create_pipeline(actor=admin_user, data={"name": "Direct sales"}, stages=[
        {"name": "Qualified", "probability": 10}, {"name": "Proposal", "probability": 50},
        {"name": "Negotiation", "probability": 80}])
    return pipeline, selectors.stages_of(pipeline)


def make_deal(owner, pipeline, stage, **data):
    from rapport.sales.services import deals

    return deals.create_deal(actor=owner, data={"pipeline": pipeline.pk, "stage": stage.pk, "currency": "EUR",
                                                "amount": "1000", **data})


def stage_of(deal) -> int:
    deal.refresh_from_db()
    return deal.stage_id


def test_drag_a_card_to_another_column_and_it_stays_there(seller_page, seller, sales_pipeline):
    pipeline, (qualified, proposal, _) = sales_pipeline
    deal = make_deal(seller, pipeline, qualified, name="Harbour cranes", amount="2500")
    make_deal(seller, pipeline, qualified, name="Stays put", amount="100")
    page = seller_page
    page.goto(f"/deals/board/{pipeline.pk}/")
    card = page.locator(f"#deal-card-{deal.pk}")
    expect(page.locator(f"#cards-{qualified.pk}")).to_contain_text("Harbour cranes")
    expect(page.locator(f"#column-head-{qualified.pk} .column-count")).to_have_text("2")

    # No page load: htmx swaps the card and the two columns' headers.
    page.evaluate("window.__marker = 1")
    card.drag_to(page.locator(f'.board-column[data-stage="{proposal.pk}"]'))

    expect(page.locator(f"#cards-{proposal.pk} #deal-card-{deal.pk}")).to_be_visible()
    expect(page.locator(f"#cards-{qualified.pk} #deal-card-{deal.pk}")).to_have_count(0)
    expect(page.locator(f"#column-head-{proposal.pk} .column-count")).to_have_text("1")
    expect(page.locator(f"#column-head-{qualified.pk} .column-count")).to_have_text("1")
    expect(page.locator(f"#column-head-{proposal.pk}")).to_contain_text("2,500.00 EUR")
    expect(page.locator(f"#column-head-{proposal.pk}")).to_contain_text("1,250.00 EUR")  # weighted at 50%
    expect(page.locator(f"#column-head-{qualified.pk}")).to_contain_text("100.00 EUR")
    expect(page.locator("#board-message")).to_contain_text("moved to Proposal")
    assert page.evaluate("window.__marker") == 1
    assert stage_of(deal) == proposal.pk

    page.reload()
    expect(page.locator(f"#cards-{proposal.pk}")).to_contain_text("Harbour cranes")
    expect(page.locator(f"#cards-{qualified.pk}")).not_to_contain_text("Harbour cranes")

    # The move is on the deal's timeline with the time it spent in the previous stage.
    page.get_by_role("link", name="Harbour cranes").click()
    expect(page.locator("#timeline")).to_contain_text("Moved from Qualified to Proposal after less than a day")


def test_move_a_card_with_the_keyboard(seller_page, seller, sales_pipeline):
    pipeline, (qualified, _, negotiation) = sales_pipeline
    deal = make_deal(seller, pipeline, qualified, name="Keyboard deal")
    page = seller_page
    page.goto(f"/deals/board/{pipeline.pk}/")
    menu = page.locator(f"#deal-card-{deal.pk}").get_by_label("Move to")
    menu.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(menu).to_have_value(str(negotiation.pk))
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Move Keyboard deal")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.locator(f"#cards-{negotiation.pk} #deal-card-{deal.pk}")).to_be_visible()
    expect(page.locator(f"#column-head-{negotiation.pk} .column-count")).to_have_text("1")
    assert stage_of(deal) == negotiation.pk
    page.reload()
    expect(page.locator(f"#cards-{negotiation.pk}")).to_contain_text("Keyboard deal")


def test_a_refused_move_says_why_and_leaves_the_card(seller_page, seller, sales_pipeline):
    from rapport.sales.models import CloseReason
    from rapport.sales.services import deals

    pipeline, (qualified, proposal, _) = sales_pipeline
    deal = make_deal(seller, pipeline, qualified, name="Lost meanwhile")
    page = seller_page
    page.goto(f"/deals/board/{pipeline.pk}/")
    # Someone else closes the deal while the board is open.
    reason = CloseReason.objects.create(outcome="lost", label="Budget cut")
    deals.lose_deal(actor=seller, deal=deal, reason=reason.pk)
    page.locator(f"#deal-card-{deal.pk}").drag_to(page.locator(f'.board-column[data-stage="{proposal.pk}"]'))
    expect(page.locator("#board-message [role=alert]")).to_contain_text(
        "Could not move “Lost meanwhile”: this deal is lost; reopen it before moving it.")
    expect(page.locator(f"#cards-{qualified.pk} #deal-card-{deal.pk}")).to_be_visible()
    assert stage_of(deal) == qualified.pk


def test_a_long_column_loads_more_cards_when_scrolled_to(seller_page, seller, sales_pipeline):
    from rapport.sales.selectors.deals import BOARD_PAGE

    pipeline, (qualified, _, _) = sales_pipeline
    for i in range(BOARD_PAGE + 6):
        make_deal(seller, pipeline, qualified, name=f"Bulk {i:02d}")
    page = seller_page
    page.goto(f"/deals/board/{pipeline.pk}/")
    cards = page.locator(f"#cards-{qualified.pk} .deal-card")
    expect(cards).to_have_count(BOARD_PAGE)
    page.locator(f"#cards-{qualified.pk} .load-more").scroll_into_view_if_needed()
    expect(cards).to_have_count(BOARD_PAGE + 6)
    expect(page.locator(f"#cards-{qualified.pk}")).to_contain_text("Bulk 00")
    expect(page.locator(f"#cards-{qualified.pk} .load-more")).to_have_count(0)


def test_moving_works_without_javascript(browser, live_server, seller, sales_pipeline):
    pipeline, (qualified, proposal, _) = sales_pipeline
    deal = make_deal(seller, pipeline, qualified, name="Plain form deal", expected_close_date="2026-12-15")
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        log_in(page, seller.username)
        page.goto(f"/deals/board/{pipeline.pk}/?close_month=2026-12")
        card = page.locator(f"#deal-card-{deal.pk}")
        card.get_by_label("Move to").select_option(label="Proposal")
        card.get_by_role("button", name="Move Plain form deal").click()
        # Back on the same (filtered) board, with the card in its new column.
        expect(page).to_have_url(re.compile(rf"/deals/board/{pipeline.pk}/\?close_month=2026-12$"))
        expect(page.locator(".messages")).to_contain_text("“Plain form deal” moved to Proposal.")
        expect(page.locator(f"#cards-{proposal.pk}")).to_contain_text("Plain form deal")
        assert stage_of(deal) == proposal.pk
    finally:
        context.close()
