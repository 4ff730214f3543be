"""Writes for proposals (quotes): make one from a deal's line items, make a new version, send it,
and record the customer's answer from the signed link.

A proposal is a snapshot: the deal's lines are copied with their quantity, unit price and line
discount, so later changes to the deal never rewrite a quote the customer already has. Amounts
are in the deal's currency and rounded to its minor units line by line, so the printed lines add
up to the printed subtotal.

Numbers run per calendar year (Q-2026-0001). A new version keeps the number, counts the version
up and supersedes the previous version, whose customer link stops working. Only the current,
unexpired, unanswered version can be accepted or declined; accepting marks an open deal won
(with the admin's first active "won" reason), which turns its line items into an order.
"""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models.functions import Length
from django.utils import timezone

from rapport.core import audit
from rapport.core.errors import ValidationFailed
from rapport.core.models import AuditAction, Visibility
from rapport.timeline import services as timeline

from ..currencies import format_money, round_money
from ..models import Deal, DealStatus, Proposal, ProposalLine, ProposalStatus
from ..selectors import deals as deal_selectors
from ..selectors import proposals as selectors
from .deals import parse_date

PROPOSAL_FIELDS = [
    "deal", "number", "version", "status", "currency", "discount_percent", "tax_percent", "subtotal",
    "discount_total", "tax_total", "total", "valid_until", "notes", "sent_at", "responded_at", "responder_name",
    "response_note",
]
INPUT_FIELDS = {"discount_percent", "tax_percent", "valid_until", "notes"}
DEFAULT_VALID_DAYS = 30
NOTES_LIMIT = 5000
NAME_LIMIT = 200
# Two sellers numbering a quote at the same moment both pick the next number; the loser of the
# unique (number, version) constraint takes the one after. More collisions than this in a row
# means something else is wrong.
NUMBER_ATTEMPTS = 5
CUSTOMER = "customer"
HUNDRED = Decimal(100)


class _CustomerOnTheLink:
    """Who acts when a customer answers through the signed link.

    Nobody is signed in: audit entries and events record no user (source "customer"). The deal
    services still fetch the deal through a selector that takes an actor; the signed link is the
    customer's permission to this one deal, so this actor passes the visibility check.
    """

    pk = None
    id = None
    is_authenticated = True
    is_active = True
    is_superuser = False
    # Read by rapport.core.visibility.profile_of instead of a Profile row.
    _rapport_profile = SimpleNamespace(visibility=Visibility.ALL, role="", team_id=None)

    def __str__(self) -> str:
        return "customer"


CUSTOMER_ACTOR = _CustomerOnTheLink()


# --- values -------------------------------------------------------------------------------------

def clean_percent(value: Any, *, field: str) -> Decimal:
    """A percentage from 0 to 100 with at most two decimals (12.5, 19.25)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return Decimal(0)
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValidationFailed({field: "not a number"})
    try:
        number = Decimal(value.strip() if isinstance(value, str) else str(value))
    except InvalidOperation:
        raise ValidationFailed({field: "not a number"}) from None
    if not number.is_finite():
        raise ValidationFailed({field: "not a number"})
    if not 0 <= number <= 100:
        raise ValidationFailed({field: "a percentage from 0 to 100"})
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise ValidationFailed({field: "at most 2 decimal places"})
    return number.quantize(Decimal("0.01"))


def line_amount(quantity: Decimal, unit_price: Decimal, discount_percent: Decimal, currency: str) -> Decimal:
    """Quantity x unit price less the line's discount, rounded to the currency's minor units."""
    return round_money(Decimal(quantity) * Decimal(unit_price) * (HUNDRED - Decimal(discount_percent)) / HUNDRED,
                       currency)


def totals(line_amounts: list[Decimal], discount_percent: Decimal, tax_percent: Decimal,
           currency: str) -> dict[str, Decimal]:
    """Subtotal (sum of the rounded lines), the overall discount on it, tax on what remains, and
    the total; each rounded half up to the currency's minor units."""
    subtotal = round_money(sum(line_amounts, Decimal(0)), currency)
    discount = round_money(subtotal * discount_percent / HUNDRED, currency)
    tax = round_money((subtotal - discount) * tax_percent / HUNDRED, currency)
    return {"subtotal": subtotal, "discount_total": discount, "tax_total": tax,
            "total": subtotal - discount + tax}


def _clean(data: dict[str, Any], *, defaults: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {name: "unknown field" for name in set(data) - INPUT_FIELDS}
    cleaned = dict(defaults)
    for name in ("discount_percent", "tax_percent"):
        if name in data:
            try:
                cleaned[name] = clean_percent(data[name], field=name)
            except ValidationFailed as exc:
                errors.update(exc.errors)
    if "valid_until" in data:
        value = data["valid_until"]
        # Left empty, a proposal keeps its default validity: every quote has an end.
        if value not in (None, ""):
            valid_until = parse_date(value, field="valid_until", errors=errors)
            if valid_until is not None and valid_until < timezone.now().date():
                errors["valid_until"] = "must be today or later"
            cleaned["valid_until"] = valid_until
    if "notes" in data:
        notes = str(data["notes"] or "").strip()
        if len(notes) > NOTES_LIMIT:
            errors["notes"] = f"at most {NOTES_LIMIT} characters"
        cleaned["notes"] = notes
    if errors:
        raise ValidationFailed(errors)
    return cleaned


# --- numbering ----------------------------------------------------------------------------------

def next_number(year: int) -> str:
    """The next free number of the year: Q-2026-0001, Q-2026-0002, ... (past 9999 it simply grows)."""
    prefix = f"Q-{year}-"
    last = (Proposal.objects.filter(number__startswith=prefix).annotate(size=Length("number"))
            .order_by("-size", "-number").values_list("number", flat=True).first())
    sequence = int(last[len(prefix):]) + 1 if last and last[len(prefix):].isdigit() else 1
    return f"{prefix}{sequence:04d}"


def _insert_numbered(proposal: Proposal) -> Proposal:
    """Save a version-1 proposal under the year's next number, taking the following number when
    a concurrent creator won the same one (the unique constraint decides, on any database)."""
    year = proposal.created_at.year
    for attempt in range(NUMBER_ATTEMPTS):
        proposal.number = next_number(year)
        try:
            with transaction.atomic():
                proposal.save()
            return proposal
        except IntegrityError:
            proposal.pk = None
            if attempt == NUMBER_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


# --- making proposals ---------------------------------------------------------------------------

def _check_deal(deal: Deal) -> list:
    if deal.status != DealStatus.OPEN:
        raise ValidationFailed({"deal": f"this deal is {deal.status}; reopen it to make a proposal"})
    items = deal_selectors.line_items(deal)
    if not items:
        raise ValidationFailed({"deal": "this deal has no line items; add what you are offering before "
                                        "making a proposal"})
    return items


def _snapshot(actor, deal: Deal, proposal: Proposal, items: list, source: str) -> Proposal:
    """Copy the deal's lines into the proposal and compute its totals; the proposal is saved."""
    currency = deal.currency
    lines = []
    for position, item in enumerate(items):
        amount = line_amount(item.quantity, item.unit_price, item.discount_percent, currency)
        lines.append(ProposalLine(
            proposal=proposal, product=item.product, sku=item.product.sku if item.product_id else "",
            description=item.description or (item.product.name if item.product_id else ""),
            quantity=item.quantity, unit_price=item.unit_price, discount_percent=item.discount_percent,
            line_total=amount, position=position))
    for name, value in totals([line.line_total for line in lines], proposal.discount_percent,
                              proposal.tax_percent, currency).items():
        setattr(proposal, name, value)
    if proposal.number:
        proposal.save()
    else:
        proposal = _insert_numbered(proposal)
    for line in lines:
        line.proposal = proposal
    ProposalLine.objects.bulk_create(lines)
    entry = audit.audit_created(actor=actor, instance=proposal, fields=PROPOSAL_FIELDS, source=source)
    entry.changes["lines"] = [None, [[line.sku or line.description, str(line.quantity), str(line.unit_price),
                                      str(line.discount_percent)] for line in lines]]
    entry.save(update_fields=["changes"])
    return proposal


@transaction.atomic
def create_proposal(*, actor, deal: Deal, data: dict[str, Any], source: str = "web") -> Proposal:
    """A new draft proposal (version 1, next number of the year) from the deal's line items, with
    an overall discount and tax in percent, valid for 30 days unless `valid_until` says otherwise.

    The deal must be open and have line items. The caller fetched the deal through a selector
    taking the actor; it is fetched again here, locked, through one.
    """
    deal = deal_selectors.deal_for_update(actor, deal.pk)
    cleaned = _clean(data, defaults={"discount_percent": Decimal(0), "tax_percent": Decimal(0),
                                     "valid_until": timezone.now().date() + dt.timedelta(days=DEFAULT_VALID_DAYS),
                                     "notes": ""})
    items = _check_deal(deal)
    now = timezone.now()
    proposal = Proposal(deal=deal, number="", version=1, status=ProposalStatus.DRAFT, currency=deal.currency,
                        created_by=actor if getattr(actor, "pk", None) else None, created_at=now, updated_at=now,
                        **cleaned)
    return _snapshot(actor, deal, proposal, items, source)


@transaction.atomic
def create_proposal_version(*, actor, proposal: Proposal, data: dict[str, Any], source: str = "web") -> Proposal:
    """A new version of a proposal: same number, next version, the deal's line items as they are
    now, and the previous version's discount, tax, validity and notes unless `data` changes them.

    The previous version becomes superseded, so its customer link stops working. An accepted
    proposal is final and cannot be replaced.
    """
    previous = selectors.proposal_for_update(actor, proposal.pk)
    latest = (Proposal.objects.select_for_update().filter(number=previous.number).order_by("-version").first())
    if latest.pk != previous.pk:
        raise ValidationFailed({"proposal": f"version {latest.version} of {previous.number} is the current one; "
                                            "make the new version from it"})
    if previous.status == ProposalStatus.ACCEPTED:
        raise ValidationFailed({"proposal": "the customer accepted this proposal; it can no longer be replaced"})
    deal = deal_selectors.deal_for_update(actor, previous.deal_id)
    valid_until = previous.valid_until
    if valid_until is not None and valid_until < timezone.now().date():
        valid_until = timezone.now().date() + dt.timedelta(days=DEFAULT_VALID_DAYS)
    cleaned = _clean(data, defaults={"discount_percent": previous.discount_percent,
                                     "tax_percent": previous.tax_percent, "valid_until": valid_until,
                                     "notes": previous.notes})
    items = _check_deal(deal)
    before = audit.snapshot(previous, PROPOSAL_FIELDS)
    now = timezone.now()
    previous.status, previous.updated_at = ProposalStatus.SUPERSEDED, now
    previous.save(update_fields=["status", "updated_at"])
    audit.audit(actor=actor, action=AuditAction.UPDATE, instance=previous, source=source,
                changes=audit.changes_between(before, audit.snapshot(previous, PROPOSAL_FIELDS)))
    proposal = Proposal(deal=deal, number=previous.number, version=previous.version + 1, status=ProposalStatus.DRAFT,
                        currency=deal.currency, created_by=actor if getattr(actor, "pk", None) else None,
                        created_at=now, updated_at=now, **cleaned)
    return _snapshot(actor, deal, proposal, items, source)


def _event(proposal: Proposal, *, action: str, actor, summary: str, extra: dict | None = None) -> None:
    deal = proposal.deal
    timeline.record_event(
        kind="proposal", company=deal.company, deal=deal, actor=actor, summary=summary,
        payload={"action": action, "proposal": proposal.pk, "number": proposal.number,
                 "version": proposal.version, **(extra or {})})


def _label(proposal: Proposal) -> str:
    return f"{proposal.number} v{proposal.version}"


@transaction.atomic
def send_proposal(*, actor, proposal: Proposal, source: str = "web") -> Proposal:
    """Mark a proposal sent and make its customer link. Sending again makes a new link and the
    old one stops working (use it when a link went to the wrong person)."""
    proposal = selectors.proposal_for_update(actor, proposal.pk)
    if proposal.status not in (ProposalStatus.DRAFT, ProposalStatus.SENT):
        raise ValidationFailed({"status": f"this proposal is {proposal.get_status_display().lower()}; "
                                          "only a draft or sent proposal can be sent"})
    if proposal.deal.status != DealStatus.OPEN:
        raise ValidationFailed({"deal": f"this deal is {proposal.deal.status}; reopen it to send a proposal"})
    if selectors.is_expired(proposal):
        raise ValidationFailed({"valid_until": f"this proposal expired on {proposal.valid_until.isoformat()}; "
                                               "make a new version"})
    before = audit.snapshot(proposal, PROPOSAL_FIELDS)
    resent = proposal.status == ProposalStatus.SENT
    now = timezone.now()
    proposal.status, proposal.sent_at, proposal.updated_at = ProposalStatus.SENT, now, now
    proposal.link_secret = secrets.token_urlsafe(24)
    proposal.save(update_fields=["status", "sent_at", "updated_at", "link_secret"])
    changes = audit.changes_between(before, audit.snapshot(proposal, PROPOSAL_FIELDS))
    # The secret itself never goes in the log: whoever reads the log must not be able to forge links.
    changes["customer_link"] = ["revoked" if resent else None, "new"]
    audit.audit(actor=actor, action=AuditAction.UPDATE, instance=proposal, source=source, changes=changes)
    _event(proposal, action="sent", actor=actor,
           summary=f"Proposal {_label(proposal)} {'sent again' if resent else 'sent'}: "
                   f"{format_money(proposal.total, proposal.currency)}")
    return proposal


def _answerable(token: str) -> Proposal:
    proposal = selectors.proposal_for_link(token, for_update=True)
    if proposal.status in selectors.ANSWERED:
        raise selectors.LinkGone(f"This proposal was already {proposal.status} on "
                                 f"{proposal.responded_at:%d %B %Y}.", proposal)
    if proposal.status != ProposalStatus.SENT:
        raise selectors.LinkGone("This proposal can no longer be answered.", proposal)
    if selectors.is_expired(proposal):
        raise selectors.LinkGone(f"This proposal expired on {proposal.valid_until:%d %B %Y}. Please ask for a "
                                 "new one.", proposal)
    return proposal


def _clean_answer(name: Any, note: Any, *, name_required: bool) -> tuple[str, str]:
    errors: dict[str, str] = {}
    name = str(name or "").strip()
    note = str(note or "").strip()
    if name_required and not name:
        errors["name"] = "type your name to accept"
    elif len(name) > NAME_LIMIT:
        errors["name"] = f"at most {NAME_LIMIT} characters"
    if len(note) > NOTES_LIMIT:
        errors["note"] = f"at most {NOTES_LIMIT} characters"
    if errors:
        raise ValidationFailed(errors)
    return name, note


def _answer(proposal: Proposal, status: str, name: str, note: str) -> None:
    before = audit.snapshot(proposal, PROPOSAL_FIELDS)
    now = timezone.now()
    proposal.status, proposal.responded_at, proposal.updated_at = status, now, now
    proposal.responder_name, proposal.response_note = name, note
    proposal.save(update_fields=["status", "responded_at", "updated_at", "responder_name", "response_note"])
    audit.audit(actor=None, action=AuditAction.UPDATE, instance=proposal, source=CUSTOMER,
                changes=audit.changes_between(before, audit.snapshot(proposal, PROPOSAL_FIELDS)))


def default_won_reason():
    """The reason a deal is won when its customer accepts a proposal: the first active "won"
    reason in the admin's list (admins choose it by putting it first)."""
    return deal_selectors.close_reasons(DealStatus.WON).order_by("position", "id").first()


@transaction.atomic
def accept_proposal(*, token: str, name: Any, note: Any = "") -> Proposal:
    """The customer accepts through their link (name required, optional note).

    Records the acceptance (audit and a "proposal" event, source "customer", no user) and, if the
    deal is still open, marks it won with the default won reason, which creates the order. A
    deal already closed by the seller keeps its outcome. `proposal.won` says whether this
    acceptance won the deal; `proposal.order` is the order it made, if any.
    """
    proposal = _answerable(token)
    name, note = _clean_answer(name, note, name_required=True)
    _answer(proposal, ProposalStatus.ACCEPTED, name, note)
    _event(proposal, action="accepted", actor=None,
           summary=f"Proposal {_label(proposal)} accepted by {name}: {format_money(proposal.total, proposal.currency)}",
           extra={"name": name})
    proposal.won, proposal.order = False, None
    deal = proposal.deal
    reason = default_won_reason()
    if deal.status == DealStatus.OPEN and reason is not None:
        from . import deals as deal_services

        won = deal_services.win_deal(actor=CUSTOMER_ACTOR, deal=deal, reason=reason, source=CUSTOMER, proposal=proposal,
                                     note=f"The customer accepted proposal {_label(proposal)} ({name}).")
        proposal.deal, proposal.won = won, True
        made = getattr(won, "order", None)
        proposal.order = getattr(made, "order", made)
    return proposal


@transaction.atomic
def decline_proposal(*, token: str, name: Any = "", note: Any = "") -> Proposal:
    """The customer declines through their link (name and reason optional). The deal stays as it
    is: the seller decides whether to send a new version or mark the deal lost."""
    proposal = _answerable(token)
    name, note = _clean_answer(name, note, name_required=False)
    _answer(proposal, ProposalStatus.DECLINED, name, note)
    _event(proposal, action="declined", actor=None,
           summary=f"Proposal {_label(proposal)} declined" + (f" by {name}" if name else "") +
                   (f": {note}" if note else ""),
           extra={"name": name})
    return proposal
