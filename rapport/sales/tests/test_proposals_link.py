"""The customer's signed link: tokens that cannot be forged, and the answers given through them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import signing
from django.utils import timezone

from rapport.core.errors import ValidationFailed
from rapport.core.models import AuditEntry
from rapport.sales.models import CloseReason, DealStatus, Order, Proposal, ProposalStatus
from rapport.sales.selectors import proposals as selectors
from rapport.sales.services import deals as deal_services
from rapport.sales.services import proposals as services
from rapport.timeline.models import Event

from .proposals_fixtures import (  # noqa: F401 - fixtures
    buyer_fixture,
    customer_company_fixture,
    deal_fixture,
    make_deal,
    products_fixture,
)


@pytest.fixture(name="sent")
def sent_fixture(seller, deal):
    proposal = services.create_proposal(actor=seller, deal=deal, data={"discount_percent": "5", "tax_percent": "20"})
    return services.send_proposal(actor=seller, proposal=proposal)


def test_a_genuine_token_opens_its_proposal(sent):
    token = selectors.link_token(sent)
    assert selectors.proposal_for_link(token) == sent
    # The link is stable: the seller's page shows the same one every time.
    assert selectors.link_token(sent) == token


def _flip(token: str, index: int) -> str:
    char = token[index]
    return token[:index] + ("A" if char != "A" else "B") + token[index + 1:]


def test_tampered_tokens_are_refused(sent):
    token = selectors.link_token(sent)
    for bad in (_flip(token, 3), _flip(token, len(token) - 2), token + "x", token[:-1], "", "nonsense",
                token.split(":")[0]):
        with pytest.raises(selectors.LinkInvalid):
            selectors.proposal_for_link(bad)


def test_a_token_signed_for_another_proposal_or_version_or_with_another_salt_is_refused(sent, seller, deal):
    other = services.send_proposal(actor=seller, proposal=services.create_proposal(actor=seller, deal=deal, data={}))
    # Someone who knows how links are made but not the site's key cannot make one...
    forged = signing.Signer(key="guess", salt=selectors.LINK_SALT).sign_object([other.pk, other.version,
                                                                                other.link_secret])
    with pytest.raises(selectors.LinkInvalid):
        selectors.proposal_for_link(forged)
    # ...and a value Rapport signed for another purpose does not open a proposal.
    with pytest.raises(selectors.LinkInvalid):
        selectors.proposal_for_link(signing.dumps([sent.pk, sent.version, sent.link_secret]))
    # A genuine signature over the wrong secret (another proposal's) is refused.
    signer = signing.Signer(salt=selectors.LINK_SALT)
    swapped = signer.sign_object([sent.pk, sent.version, other.link_secret])
    with pytest.raises(selectors.LinkGone):
        selectors.proposal_for_link(swapped)
    wrong_version = signer.sign_object([sent.pk, 7, sent.link_secret])
    with pytest.raises(selectors.LinkInvalid):
        selectors.proposal_for_link(wrong_version)
    malformed = signer.sign_object({"id": sent.pk})
    with pytest.raises(selectors.LinkInvalid):
        selectors.proposal_for_link(malformed)


def test_a_superseded_version_link_is_gone(seller, sent):
    token = selectors.link_token(sent)
    services.create_proposal_version(actor=seller, proposal=sent, data={})
    with pytest.raises(selectors.LinkGone) as exc:
        selectors.proposal_for_link(token)
    assert "newer version" in exc.value.reason
    with pytest.raises(selectors.LinkGone):
        services.accept_proposal(token=token, name="Hana Harbour")
    sent.refresh_from_db()
    assert sent.status == ProposalStatus.SUPERSEDED


def test_a_trashed_deal_withdraws_the_link(seller, sent):
    token = selectors.link_token(sent)
    deal_services.delete_deal(actor=seller, deal=sent.deal)
    with pytest.raises(selectors.LinkGone) as exc:
        selectors.proposal_for_link(token)
    assert "withdrawn" in exc.value.reason


def test_accept_wins_the_deal_and_creates_the_order(sent, deal, buyer):
    token = selectors.link_token(sent)
    accepted = services.accept_proposal(token=token, name="  Hana Harbour ", note="Go ahead")
    assert accepted.won is True
    sent.refresh_from_db()
    assert (sent.status, sent.responder_name, sent.response_note) == (ProposalStatus.ACCEPTED, "Hana Harbour",
                                                                      "Go ahead")
    assert sent.responded_at is not None
    deal.refresh_from_db()
    first_won = CloseReason.objects.filter(outcome="won", active=True).order_by("position", "id").first()
    assert deal.status == DealStatus.WON and deal.close_reason == first_won
    assert sent.number in deal.close_note and "Hana Harbour" in deal.close_note

    order = Order.objects.get(deal=deal)
    assert accepted.order == order
    assert (order.contact, order.company, order.channel, order.currency) == (buyer, deal.company, "sales", "EUR")
    # What the customer accepted, net of tax: 1,274.00 of lines less the proposal's 5% (63.70).
    assert order.total == Decimal("1210.30") == sent.subtotal - sent.discount_total
    assert order.total != sent.total  # the 20% tax is not revenue

    kinds = {(e.kind, e.payload.get("action")): e for e in Event.objects.filter(deal=deal)}
    event = kinds[("proposal", "accepted")]
    assert event.payload == {"action": "accepted", "proposal": sent.pk, "number": sent.number, "version": 1,
                             "name": "Hana Harbour"}
    assert event.actor_id is None and event.company_id == deal.company_id
    assert ("deal", "won") in kinds and kinds[("deal", "won")].actor_id is None
    purchase = Event.objects.get(kind="purchase")
    assert purchase.payload["order"] == order.pk and purchase.contact == buyer

    customer_entries = AuditEntry.objects.filter(source="customer")
    assert {(e.record_type, e.action) for e in customer_entries} >= {
        ("sales.proposal", "update"), ("sales.deal", "update"), ("sales.order", "create")}
    assert all(e.actor_id is None for e in customer_entries)


def test_an_answered_link_cannot_answer_again(sent):
    token = selectors.link_token(sent)
    services.accept_proposal(token=token, name="Hana")
    # Still opens (to show the outcome), but neither answer is taken a second time.
    assert selectors.proposal_for_link(token).status == ProposalStatus.ACCEPTED
    with pytest.raises(selectors.LinkGone) as exc:
        services.accept_proposal(token=token, name="Hana")
    assert "already accepted" in exc.value.reason
    with pytest.raises(selectors.LinkGone):
        services.decline_proposal(token=token, name="Hana")
    assert Order.objects.count() == 1
    assert Event.objects.filter(kind="proposal", payload__action="accepted").count() == 1


def test_an_accepted_proposal_cannot_be_replaced(seller, sent):
    services.accept_proposal(token=selectors.link_token(sent), name="Hana")
    deal_services.reopen_deal(actor=seller, deal=sent.deal)
    with pytest.raises(ValidationFailed) as exc:
        services.create_proposal_version(actor=seller, proposal=sent, data={})
    assert "accepted" in exc.value.errors["proposal"]


def test_an_expired_proposal_cannot_be_answered(sent):
    token = selectors.link_token(sent)
    Proposal.objects.filter(pk=sent.pk).update(valid_until=timezone.now().date() - dt.timedelta(days=1))
    with pytest.raises(selectors.LinkGone) as exc:
        services.accept_proposal(token=token, name="Hana")
    assert "expired" in exc.value.reason
    # The last valid day still counts.
    Proposal.objects.filter(pk=sent.pk).update(valid_until=timezone.now().date())
    assert services.accept_proposal(token=token, name="Hana").status == ProposalStatus.ACCEPTED


@pytest.mark.parametrize(("name", "note", "errors"), [
    ("", "", {"name": "type your name to accept"}),
    ("   ", "", {"name": "type your name to accept"}),
    ("x" * 201, "", {"name": "at most 200 characters"}),
    ("Hana", "y" * 5001, {"note": "at most 5000 characters"}),
])
def test_acceptance_needs_a_name(sent, deal, name, note, errors):
    with pytest.raises(ValidationFailed) as exc:
        services.accept_proposal(token=selectors.link_token(sent), name=name, note=note)
    assert exc.value.errors == errors
    sent.refresh_from_db()
    deal.refresh_from_db()
    assert sent.status == ProposalStatus.SENT and deal.status == DealStatus.OPEN


def test_accepting_leaves_a_closed_deal_as_it_is(seller, sent, deal):
    deal_services.win_deal(actor=seller, deal=deal, reason=CloseReason.objects.filter(outcome="won").last(),
                           create_order=False)
    accepted = services.accept_proposal(token=selectors.link_token(sent), name="Hana")
    assert accepted.status == ProposalStatus.ACCEPTED and accepted.won is False
    assert not Order.objects.exists()


def test_without_an_active_won_reason_the_acceptance_is_recorded_and_the_deal_stays_open(sent, deal):
    CloseReason.objects.filter(outcome="won").update(active=False)
    accepted = services.accept_proposal(token=selectors.link_token(sent), name="Hana")
    deal.refresh_from_db()
    assert accepted.status == ProposalStatus.ACCEPTED and deal.status == DealStatus.OPEN


def test_the_admins_first_won_reason_is_used(sent, deal):
    chosen = CloseReason.objects.create(outcome="won", label="Accepted our proposal", position=0)
    CloseReason.objects.filter(outcome="won").exclude(pk=chosen.pk).update(position=5)
    services.accept_proposal(token=selectors.link_token(sent), name="Hana")
    deal.refresh_from_db()
    assert deal.close_reason == chosen


def test_decline_records_the_answer_and_leaves_the_deal_open(sent, deal):
    declined = services.decline_proposal(token=selectors.link_token(sent), name="", note="Too expensive")
    assert declined.status == ProposalStatus.DECLINED and declined.response_note == "Too expensive"
    deal.refresh_from_db()
    assert deal.status == DealStatus.OPEN and not Order.objects.exists()
    event = Event.objects.get(kind="proposal", payload__action="declined")
    assert event.actor_id is None and "Too expensive" in event.summary and event.deal_id == deal.pk
    entry = AuditEntry.objects.get(record_type="sales.proposal", record_id=sent.pk, source="customer")
    assert entry.actor_id is None and entry.changes["status"] == ["sent", "declined"]


def test_the_customer_view_says_what_may_be_done(sent, buyer):
    view = selectors.customer_view(sent, seller_company="Seller Ltd")
    assert view.may_answer and not view.answered and not view.expired
    assert view.addressee == buyer and len(view.lines) == 2
