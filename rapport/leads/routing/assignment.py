"""Choosing a new lead's owner: the first matching rule, round-robin in a team, capacity, fallback.

Every decision is written out in words (`Lead.assignment_reason`), e.g.
"Rule 'DACH enterprise' → round-robin in Team Berlin: Ben; skipped Ana (at capacity 50)", so
a seller or manager can see why a lead landed where it did without asking anyone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Count, F

from rapport.core.models import Role

from ..models import OPEN_STATUSES, AssignmentRule, Lead, RoundRobinTurn, RoutingSettings, SellerCapacity

REASON_LENGTH = 300


def routing_settings() -> RoutingSettings:
    settings, _ = RoutingSettings.objects.get_or_create(pk=1)
    return settings


def display_name(user) -> str:
    return (user.get_full_name() or user.username) if user is not None else "nobody"


def lead_facts(lead: Lead) -> dict[str, str]:
    """What rules look at: the company's country (else the contact's), industry and size band, and the source."""
    company = lead.company if lead.company_id else getattr(lead.contact, "company", None)
    country = (company.country if company is not None and company.country else lead.contact.country) or ""
    return {
        "country": country.upper(),
        "industry": (company.industry if company is not None else "").strip().lower(),
        "size_band": company.size_band if company is not None else "",
        "source": lead.source,
    }


def rule_matches(rule: AssignmentRule, facts: dict[str, str]) -> bool:
    """Every condition the rule sets must hold; an empty condition accepts anything, a blank fact nothing."""
    checks = (
        ("country", [c.upper() for c in rule.countries]),
        ("industry", [i.strip().lower() for i in rule.industries]),
        ("size_band", list(rule.size_bands)),
        ("source", list(rule.sources)),
    )
    return all(not accepted or (facts[name] and facts[name] in accepted) for name, accepted in checks)


@dataclass
class Choice:
    owner: object | None
    reason: str
    skipped: list[str] = field(default_factory=list)


def _capacities(users: list, settings: RoutingSettings) -> dict[int, tuple[int, int, bool]]:
    """(open leads, limit, accepts leads) per user: two queries for any number of sellers."""
    ids = [u.pk for u in users]
    open_counts = dict(
        Lead.objects.filter(owner_id__in=ids, status__in=OPEN_STATUSES, deleted_at__isnull=True)
        .order_by().values("owner_id").annotate(n=Count("id")).values_list("owner_id", "n")
    )
    own = {c.user_id: c for c in SellerCapacity.objects.filter(user_id__in=ids)}
    result = {}
    for uid in ids:
        cap = own.get(uid)
        limit = cap.max_open_leads if cap is not None else settings.default_capacity
        result[uid] = (open_counts.get(uid, 0), limit, cap.accepts_leads if cap is not None else True)
    return result


def _why_skipped(user, load: tuple[int, int, bool]) -> str | None:
    open_leads, limit, accepts = load
    if not accepts:
        return f"{display_name(user)} (not taking leads)"
    if open_leads >= limit:
        return f"{display_name(user)} (at capacity {limit})"
    return None


def team_sellers(team_id: int) -> list:
    """The active sellers of a team, in a fixed order (the round-robin's circle)."""
    return list(get_user_model().objects.filter(is_active=True, profile__team_id=team_id, profile__role=Role.SELLER)
                .order_by("pk"))


def take_turn(team_id: int) -> int:
    """Raise the team's turn counter and return the turn this caller holds (1, 2, 3, ...).

    The UPDATE comes before the read: it takes the row's write lock, so a second router waits
    for this transaction and then reads the raised value. The caller must be inside a transaction.
    """
    RoundRobinTurn.objects.get_or_create(team_id=team_id)
    RoundRobinTurn.objects.filter(team_id=team_id).update(turns=F("turns") + 1)
    return RoundRobinTurn.objects.filter(team_id=team_id).values_list("turns", flat=True).get()


def _round_robin(rule: AssignmentRule, settings: RoutingSettings) -> Choice:
    team = rule.team
    label = f"Rule '{rule.name}' → round-robin in Team {team.name}"
    sellers = team_sellers(team.pk)
    if not sellers:
        return Choice(None, f"{label}: the team has no active sellers")
    loads = _capacities(sellers, settings)
    turn = take_turn(team.pk)
    start = (turn - 1) % len(sellers)
    skipped = []
    for step in range(len(sellers)):
        candidate = sellers[(start + step) % len(sellers)]
        why = _why_skipped(candidate, loads[candidate.pk])
        if why is None:
            if step:
                # The next turn starts after the seller who got this lead, not after the skipped
                # ones: the circle stays fair when a seller drops below capacity again.
                RoundRobinTurn.objects.filter(team_id=team.pk).update(turns=F("turns") + step)
            return Choice(candidate, f"{label}: {display_name(candidate)}", skipped)
        skipped.append(why)
    return Choice(None, f"{label}: everyone is at capacity", skipped)


def _direct(rule: AssignmentRule, settings: RoutingSettings) -> Choice:
    user = rule.assign_to
    label = f"Rule '{rule.name}' → {display_name(user)}"
    if user is None or not user.is_active:
        return Choice(None, f"Rule '{rule.name}': its user is no longer active")
    why = _why_skipped(user, _capacities([user], settings)[user.pk])
    if why is not None:
        return Choice(None, label, [why])
    return Choice(user, label)


def active_rules():
    return AssignmentRule.objects.filter(active=True, deleted_at__isnull=True).select_related("assign_to", "team")


def choose_owner(lead: Lead, settings: RoutingSettings | None = None) -> Choice:
    """Who gets `lead`, and why. Must run inside the routing transaction (round-robin takes a turn)."""
    settings = settings or routing_settings()
    facts = lead_facts(lead)
    choice = None
    for rule in active_rules():
        if rule_matches(rule, facts):
            if rule.team_id is not None:
                choice = _round_robin(rule, settings)
            else:
                choice = _direct(rule, settings)
            break
    if choice is not None and choice.owner is not None:
        return _with_skips(choice)
    prefix = choice.reason if choice is not None else "No rule matched"
    fallback = settings.fallback_owner
    if fallback is not None and fallback.is_active:
        result = Choice(fallback, f"{prefix} → fallback owner {display_name(fallback)}", choice.skipped if choice else [])
    else:
        result = Choice(None, f"{prefix}; no fallback owner is set: left unassigned",
                        choice.skipped if choice else [])
    return _with_skips(result)


def _with_skips(choice: Choice) -> Choice:
    if choice.skipped:
        choice.reason = f"{choice.reason}; skipped {', '.join(choice.skipped)}"
    if len(choice.reason) > REASON_LENGTH:
        choice.reason = choice.reason[: REASON_LENGTH - 1] + "…"
    return choice

