"""A proposal as an A4 PDF, drawn with ReportLab's page-layout engine (platypus).

The document is built from what the proposal stored, never from the deal as it is now: a quote
the customer holds must print the same next month.
"""

from __future__ import annotations

import io
from decimal import Decimal
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .currencies import format_money
from .models import Proposal, ProposalLine

INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#616e7c")
RULE = colors.HexColor("#cbd2d9")
BAND = colors.HexColor("#f0f4f8")


def format_quantity(quantity: Decimal) -> str:
    """2.000 -> "2", 2.500 -> "2.5": a quantity shows the decimals it has, no more."""
    return f"{Decimal(quantity).normalize():f}"


def format_percent(value: Decimal) -> str:
    """12.50 -> "12.5%"."""
    return f"{Decimal(value).normalize():f}%"


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()["Normal"]
    body = ParagraphStyle("body", parent=base, fontName="Helvetica", fontSize=9.5, leading=13, textColor=INK)
    return {
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=8.5, leading=11, textColor=MUTED),
        "seller": ParagraphStyle("seller", parent=body, fontName="Helvetica-Bold", fontSize=15, leading=19),
        "title": ParagraphStyle("title", parent=body, fontName="Helvetica-Bold", fontSize=20, leading=24,
                                alignment=TA_RIGHT),
        "right": ParagraphStyle("right", parent=body, alignment=TA_RIGHT),
        "heading": ParagraphStyle("heading", parent=body, fontName="Helvetica-Bold", fontSize=10.5, leading=14,
                                  spaceBefore=6, spaceAfter=3),
        "cell": ParagraphStyle("cell", parent=body, fontSize=9, leading=12),
        "cell_right": ParagraphStyle("cell_right", parent=body, fontSize=9, leading=12, alignment=TA_RIGHT),
        "head_cell": ParagraphStyle("head_cell", parent=body, fontName="Helvetica-Bold", fontSize=8.5, leading=11,
                                    textColor=MUTED),
        "head_right": ParagraphStyle("head_right", parent=body, fontName="Helvetica-Bold", fontSize=8.5,
                                     leading=11, textColor=MUTED, alignment=TA_RIGHT),
    }


def _text(value) -> str:
    # Paragraphs read a small markup language: a customer called "A & B <Ltd>" must print as typed.
    return escape(str(value or "")).replace("\n", "<br/>")


def _line_rows(lines: list[ProposalLine], currency: str, s) -> list[list]:
    rows = [[Paragraph("#", s["head_cell"]), Paragraph("Item", s["head_cell"]), Paragraph("Qty", s["head_right"]),
             Paragraph("Unit price", s["head_right"]), Paragraph("Discount", s["head_right"]),
             Paragraph("Amount", s["head_right"])]]
    for number, line in enumerate(lines, start=1):
        item = _text(line.description)
        if line.sku:
            item = f"{item}<br/><font size='8' color='#616e7c'>{_text(line.sku)}</font>"
        rows.append([
            Paragraph(str(number), s["cell"]), Paragraph(item, s["cell"]),
            Paragraph(format_quantity(line.quantity), s["cell_right"]),
            Paragraph(_text(format_money(line.unit_price, currency)), s["cell_right"]),
            Paragraph(format_percent(line.discount_percent) if line.discount_percent else "", s["cell_right"]),
            Paragraph(_text(format_money(line.line_total, currency)), s["cell_right"]),
        ])
    return rows


def _totals_rows(proposal: Proposal, s) -> list[list]:
    currency = proposal.currency
    rows = [["Subtotal", format_money(proposal.subtotal, currency)]]
    if proposal.discount_percent:
        rows.append([f"Discount ({format_percent(proposal.discount_percent)})",
                     "-" + format_money(proposal.discount_total, currency)])
    if proposal.tax_percent:
        rows.append([f"Tax ({format_percent(proposal.tax_percent)})", format_money(proposal.tax_total, currency)])
    cells = [[Paragraph(_text(label), s["right"]), Paragraph(_text(amount), s["right"])] for label, amount in rows]
    total = _text(format_money(proposal.total, currency))
    cells.append([Paragraph("<b>Total</b>", s["right"]), Paragraph(f"<b>{total}</b>", s["right"])])
    return cells


def render_proposal_pdf(proposal: Proposal, lines: list[ProposalLine], *, seller: str, customer_company: str = "",
                        addressee: str = "", addressee_email: str = "") -> bytes:
    """The proposal as PDF bytes: seller, number and version, date, customer, lines, totals,
    validity and notes."""
    s = _styles()
    buffer = io.BytesIO()
    label = f"{proposal.number} (version {proposal.version})"
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=18 * mm,
                            bottomMargin=20 * mm, title=f"Proposal {label}", author=seller,
                            subject=proposal.deal.name, creator="Rapport")
    width = doc.width

    head = Table([[Paragraph(_text(seller), s["seller"]), Paragraph("Proposal", s["title"])]],
                 colWidths=[width * 0.6, width * 0.4])
    head.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                              ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))

    customer = [f"<b>{_text(customer_company)}</b>"] if customer_company else []
    if addressee:
        customer.append(_text(addressee))
    if addressee_email:
        customer.append(_text(addressee_email))
    facts = [
        ("Number", proposal.number), ("Version", str(proposal.version)),
        ("Date", f"{proposal.created_at:%d %B %Y}"),
        ("Valid until", f"{proposal.valid_until:%d %B %Y}" if proposal.valid_until else "no end date"),
    ]
    fact_rows = [[Paragraph(name, s["small"]), Paragraph(_text(value), s["right"])] for name, value in facts]
    facts_table = Table(fact_rows, colWidths=[width * 0.16, width * 0.24])
    facts_table.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                                     ("TOPPADDING", (0, 0), (-1, -1), 1), ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
    to_block = [Paragraph("Prepared for", s["small"]),
                Paragraph("<br/>".join(customer) or "—", s["body"]),
                Spacer(1, 4), Paragraph("Subject", s["small"]), Paragraph(_text(proposal.deal.name), s["body"])]
    parties = Table([[to_block, facts_table]], colWidths=[width * 0.6, width * 0.4])
    parties.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                 ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))

    lines_table = Table(_line_rows(lines, proposal.currency, s), repeatRows=1,
                        colWidths=[width * 0.05, width * 0.41, width * 0.1, width * 0.16, width * 0.11, width * 0.17])
    lines_table.setStyle(TableStyle([
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK), ("LINEBELOW", (0, 1), (-1, -1), 0.3, RULE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"), ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]))
    totals_table = Table(_totals_rows(proposal, s), colWidths=[width * 0.3, width * 0.2], hAlign="RIGHT")
    totals_table.setStyle(TableStyle([
        ("LINEABOVE", (0, -1), (-1, -1), 0.8, INK), ("BACKGROUND", (0, -1), (-1, -1), BAND),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]))

    story = [head, Spacer(1, 8 * mm), parties, Spacer(1, 8 * mm), lines_table, Spacer(1, 4 * mm),
             KeepTogether([totals_table])]
    validity = (f"This proposal is valid until {proposal.valid_until:%d %B %Y}." if proposal.valid_until
                else "This proposal has no end date.")
    story += [Spacer(1, 6 * mm), Paragraph(_text(validity), s["body"])]
    if proposal.notes:
        story += [Paragraph("Notes", s["heading"]), Paragraph(_text(proposal.notes), s["body"])]

    def footer(canvas, document) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.setFillColor(MUTED)
        canvas.drawString(doc.leftMargin, 10 * mm, f"{seller} · Proposal {label}")
        canvas.drawRightString(doc.leftMargin + doc.width, 10 * mm, f"Page {document.page}")
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def proposal_pdf(proposal: Proposal) -> bytes:
    """The stored proposal as PDF, addressed as the deal's customer is now, signed by
    `settings.RAPPORT_COMPANY_NAME`. The caller fetched `proposal` through a selector or link."""
    from django.conf import settings

    from .selectors import proposals as selectors

    deal = proposal.deal
    addressee = selectors.addressee(deal)
    return render_proposal_pdf(
        proposal, selectors.proposal_lines(proposal), seller=settings.RAPPORT_COMPANY_NAME,
        customer_company=deal.company.name if deal.company_id else "",
        addressee=(addressee.full_name or "") if addressee else "",
        addressee_email=(addressee.email or "") if addressee else "")


def pdf_filename(proposal: Proposal) -> str:
    return f"{proposal.number}-v{proposal.version}.pdf"
