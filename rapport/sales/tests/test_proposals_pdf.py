"""The proposal PDF is a real PDF whose text says what the proposal says."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from rapport.sales.models import ProposalLine
from rapport.sales.proposal_pdf import format_percent, format_quantity, render_proposal_pdf
from rapport.sales.selectors import proposals as selectors
from rapport.sales.services import deals as deal_services
from rapport.sales.services import proposals as services

from .proposals_fixtures import (  # noqa: F401 - fixtures
    buyer_fixture,
    customer_company_fixture,
    deal_fixture,
    make_deal,
    products_fixture,
)


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_pdf_shows_seller_number_customer_lines_totals_validity_and_notes(seller, deal):
    proposal = services.create_proposal(actor=seller, deal=deal, data={
        "discount_percent": "5", "tax_percent": "20", "valid_until": "2099-06-30",
        "notes": "Prices include <b>set-up</b> & travel."})
    pdf = render_proposal_pdf(proposal, selectors.proposal_lines(proposal), seller="Northwind Traders",
                              customer_company="Harbour & Sons", addressee="Hana Harbour",
                              addressee_email="hana@harbour.example")
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    box = reader.pages[0].mediabox
    # A4 is 595 x 842 points.
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    assert reader.metadata.title == f"Proposal {proposal.number} (version 1)"
    text = text_of(pdf)
    for expected in ("Northwind Traders", "Proposal", proposal.number, "Harbour & Sons", "Hana Harbour",
                     "hana@harbour.example", "Fleet licences", "Team licence", "LIC-100", "Onboarding day",
                     "324.00 EUR", "950.00 EUR", "1,274.00 EUR", "Discount (5%)", "-63.70 EUR", "Tax (20%)",
                     "242.06 EUR", "1,452.36 EUR", "30 June 2099", "Prices include <b>set-up</b> & travel."):
        assert expected in text, expected


def test_a_long_proposal_runs_over_pages_and_repeats_the_header(seller, products):
    deal = make_deal(seller, lines=[{"description": f"Item number {i}", "unit_price": "10"} for i in range(70)])
    proposal = services.create_proposal(actor=seller, deal=deal, data={})
    lines = selectors.proposal_lines(proposal)
    pdf = render_proposal_pdf(proposal, lines, seller="S")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2
    assert "Unit price" in reader.pages[1].extract_text() and "Page 2" in reader.pages[1].extract_text()
    assert "Item number 69" in text_of(pdf) and "700.00 EUR" in text_of(pdf)


def test_yen_prints_without_decimals(seller, products):
    deal = make_deal(seller, currency="JPY", lines=[{"product": products["licence"].pk, "quantity": "2"}])
    proposal = services.create_proposal(actor=seller, deal=deal, data={"tax_percent": "10"})
    text = text_of(render_proposal_pdf(proposal, selectors.proposal_lines(proposal), seller="S"))
    assert "31,998 JPY" in text and "35,198 JPY" in text and "31,998.00" not in text


@pytest.mark.parametrize(("value", "expected"), [("2.000", "2"), ("2.500", "2.5"), ("0.125", "0.125"),
                                                 ("100.000", "100")])
def test_quantities_show_the_decimals_they_have(value, expected):
    from decimal import Decimal

    assert format_quantity(Decimal(value)) == expected


def test_percent_format():
    from decimal import Decimal

    assert (format_percent(Decimal("12.50")), format_percent(Decimal("10.00"))) == ("12.5%", "10%")


def test_the_pdf_is_the_stored_snapshot_not_the_deal_as_it_is_now(seller, deal):
    proposal = services.create_proposal(actor=seller, deal=deal, data={})
    deal_services.add_line_item(actor=seller, deal=deal, data={"description": "Added later", "unit_price": "5"})
    text = text_of(render_proposal_pdf(proposal, selectors.proposal_lines(proposal), seller="S"))
    assert "Added later" not in text
    assert ProposalLine.objects.filter(proposal=proposal).count() == 2
