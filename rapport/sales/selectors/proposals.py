"""Reads for proposals (quotes).

A seller reads a proposal through its deal: whoever may see the deal may see its proposals,
and nobody else (404, as for the deal itself). A customer reads one through the signed link
(`proposal_for_link`), which needs no login: the link itself is the permission, so it must be
impossible to guess or alter, and it stops working when the proposal is replaced or re-sent.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass

from django.core import signing
from django.db.models import QuerySet
from django.utils import timezone

from rapport.core.errors import NotVisible, ValidationFailed
from rapport.core.pagination import Page, keyset_page
from rapport.core.visibility import visible_to

from ..models import Deal, DealContact, DealRole, Proposal, ProposalLine, ProposalStatus

# Changing the salt invalidates every customer link ever sent; it only separates these
# signatures from the other values Rapport signs with the same secret key.
LINK_SALT = "rapport.sales.proposal-link"
ANSWERED = (ProposalStatus.ACCEPTED, ProposalStatus.DECLINED)
# The buying role whose holder a quote is addressed to, most senior first.
ADDRESSEE_ROLES = [DealRole.DECISION_MAKER, DealRole.FINANCE, DealRole.CHAMPION, DealRole.USER, DealRole.OTHER]


def proposal_queryset(user) -> QuerySet[Proposal]:
    """Live proposals of live deals the user may see."""
    queryset = Proposal.objects.filter(deleted_at__isnull=True, deal__deleted_at__isnull=True)
    return visible_to(queryset, user, owner_field="deal__owner", team_field="deal__team")


def get_proposal(user, proposal_id: int) -> Proposal:
    """The proposal with its deal, or NotVisible when it is missing or its deal is hidden."""
    proposal = (proposal_queryset(user).select_related("deal__company", "deal__owner", "deal__stage")
                .filter(pk=proposal_id).first())
    if proposal is None:
        raise NotVisible(f"proposal {proposal_id}")
    return proposal


def proposal_for_update(user, proposal_id: int) -> Proposal:
    # Lock the proposal row only; services that change the deal lock it through the deal selector.
    proposal = (proposal_queryset(user).select_for_update(of=("self",)).select_related("deal")
                .filter(pk=proposal_id).first())
    if proposal is None:
        raise NotVisible(f"proposal {proposal_id}")
    return proposal


def proposals_of_deal(deal: Deal) -> list[Proposal]:
    """Every version of every proposal of a deal the caller already fetched through a selector,
    newest first (one query)."""
    return list(Proposal.objects.filter(deal=deal, deleted_at__isnull=True).order_by("-id"))


def list_proposals(user, *, deal_id: int | None = None, status: str | None = None,
                   cursor: str | None = None, size: int = 50) -> Page:
    """Proposals the user may see, newest first, optionally of one deal and in one status."""
    queryset = proposal_queryset(user)
    if deal_id is not None:
        queryset = queryset.filter(deal_id=deal_id)
    if status:
        if status not in ProposalStatus.values:
            raise ValidationFailed({"status": f"choose one of: {', '.join(ProposalStatus.values)}"})
        queryset = queryset.filter(status=status)
    return keyset_page(queryset, order="-id", cursor=cursor, size=size)


def proposal_lines(proposal: Proposal) -> list[ProposalLine]:
    return list(ProposalLine.objects.filter(proposal=proposal).order_by("position", "id"))


def orders_of_deal(user, deal: Deal) -> list:
    """The orders the deal became (an accepted proposal wins the deal, which makes one), as far
    as the user may see them."""
    from . import orders

    return list(orders.order_queryset(user).filter(deal_id=deal.pk).order_by("id")[:5])


def addressee(deal: Deal):
    """The deal's contact a quote is addressed to: the decision maker if there is one."""
    rank = {role: i for i, role in enumerate(ADDRESSEE_ROLES)}
    links = sorted(DealContact.objects.filter(deal=deal, contact__deleted_at__isnull=True).select_related("contact"),
                   key=lambda link: (rank.get(link.role, len(rank)), link.pk))
    return links[0].contact if links else None


def is_expired(proposal: Proposal, *, today: dt.date | None = None) -> bool:
    """Valid until the end of its `valid_until` day (UTC); answered proposals never expire."""
    if proposal.valid_until is None or proposal.status in ANSWERED:
        return False
    return (today or timezone.now().date()) > proposal.valid_until


def is_current(proposal: Proposal) -> bool:
    """The latest version of its number: the only one a customer may still answer."""
    return proposal.status != ProposalStatus.SUPERSEDED and not Proposal.objects.filter(
        number=proposal.number, version__gt=proposal.version).exists()


# --- the customer's signed link ---------------------------------------------------------------

def link_token(proposal: Proposal) -> str:
    """The signed token of a sent proposal's customer link.

    It carries the proposal's id, version and link secret, signed with the site's secret key: a
    changed character breaks the signature, a re-send (new secret) or a new version makes old
    tokens stale. It has no expiry of its own; the proposal's `valid_until` is what ends it.
    """
    if not proposal.link_secret:
        raise ValueError("only a sent proposal has a customer link")
    # A plain (untimed) signer: the same proposal always has the same link until it is re-sent.
    return signing.Signer(salt=LINK_SALT).sign_object([proposal.pk, proposal.version, proposal.link_secret])


class LinkInvalid(NotVisible):
    """The token was not made by Rapport (or was altered): answer 404, say nothing more."""


class LinkGone(Exception):
    """The token was genuine but its proposal can no longer be opened (410): replaced by a new
    version, re-sent with a new link, or withdrawn. `reason` is shown to the customer."""

    def __init__(self, reason: str, proposal: Proposal | None = None):
        self.reason = reason
        self.proposal = proposal
        super().__init__(reason)


@dataclass
class CustomerView:
    """What the customer's page shows and may do."""

    proposal: Proposal
    lines: list[ProposalLine]
    seller_company: str
    addressee: object
    expired: bool

    @property
    def answered(self) -> bool:
        return self.proposal.status in ANSWERED

    @property
    def may_answer(self) -> bool:
        return self.proposal.status == ProposalStatus.SENT and not self.expired


def proposal_for_link(token: str, *, for_update: bool = False) -> Proposal:
    """The proposal a customer link opens, whatever its answer so far.

    Raises LinkInvalid for a token Rapport did not sign; LinkGone for a genuine token whose
    proposal was superseded, re-sent (the old link was revoked), withdrawn or never sent.
    """
    try:
        value = signing.Signer(salt=LINK_SALT).unsign_object(token)
        proposal_id, version, secret = value
        proposal_id, version = int(proposal_id), int(version)
        secret = str(secret)
    except (signing.BadSignature, TypeError, ValueError) as exc:
        raise LinkInvalid("bad proposal link") from exc
    queryset = Proposal.objects.select_related("deal__company")
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    proposal = queryset.filter(pk=proposal_id).first()
    if proposal is None or proposal.version != version:
        raise LinkInvalid("no such proposal")
    if proposal.deleted_at is not None or proposal.deal.deleted_at is not None:
        raise LinkGone("This proposal has been withdrawn.", proposal)
    if not is_current(proposal):
        raise LinkGone("This proposal has been replaced by a newer version. Please use the link "
                       "in the latest message you received.", proposal)
    if not proposal.link_secret or not hmac.compare_digest(proposal.link_secret, secret):
        raise LinkGone("This link has been replaced by a newer one. Please use the link in the latest "
                       "message you received.", proposal)
    return proposal


def customer_view(proposal: Proposal, *, seller_company: str) -> CustomerView:
    return CustomerView(proposal=proposal, lines=proposal_lines(proposal), seller_company=seller_company,
                        addressee=addressee(proposal.deal), expired=is_expired(proposal))
