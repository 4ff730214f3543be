"""Reads of stored scores, always through the customer's own visibility.

A score is visible exactly when its contact (or company) is: every read starts from the people
selectors, so a hidden or missing customer raises NotVisible (404) whether or not it was scored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import F, Q, QuerySet

from rapport.core.errors import NotVisible, ValidationFailed
from rapport.core.models import Role, Visibility
from rapport.core.visibility import is_admin, profile_of, visibility_of
from rapport.people import selectors as people
from rapport.people.models import Company, Contact
from rapport.reports.health import ALIVE_BANDS, DEFAULT_WEIGHTS, HEALTH_BANDS, Reason, band, reasons
from rapport.reports.models import CustomerScore, ModelRun

MODEL_NAMES = {
    "bg_nbd": "BG/NBD", "pareto_nbd": "Pareto/NBD", "sbg": "renewals (sBG)",
    "bg_nbd+sbg": "BG/NBD and renewals (sBG)", "pareto_nbd+sbg": "Pareto/NBD and renewals (sBG)",
}
HEALTH_LABELS = {"healthy": "Healthy (70+)", "watch": "Watch (40–69)", "at_risk": "At risk (below 40)"}
ALIVE_LABELS = {"likely": "Likely (70%+)", "uncertain": "Uncertain (30–69%)", "unlikely": "Unlikely (below 30%)"}
VALUE_SORTS = {"-value": "-score_value", "value": "score_value"}


@dataclass
class Relationship:
    """What the Relationship panel shows for one contact or company."""

    score: CustomerScore | None
    base_currency: str
    reasons: list[Reason] = field(default_factory=list)
    band: str = ""
    model_label: str = ""
    last_run: ModelRun | None = None  # the latest finished refresh, for the empty state
    may_see_runs: bool = False

    @property
    def scored(self) -> bool:
        return self.score is not None

    @staticmethod
    def _percent(value: float | None) -> str:
        return "" if value is None else f"{value:.0%}"

    @property
    def alive_percent(self) -> str:
        return self._percent(self.score.probability_alive if self.score else None)

    @property
    def renewal_percent(self) -> str:
        return self._percent(self.score.renewal_probability if self.score else None)

    @property
    def clv_years(self) -> str:
        years = float(((self.score.run.fits or {}).get("settings") or {}).get("clv_years", 3)) if self.score else 3
        return f"{years:g}"


def base_currency() -> str:
    """The currency every stored value is in."""
    return settings.RAPPORT_BASE_CURRENCY


def _contact(user, contact: Contact | int) -> Contact:
    return contact if isinstance(contact, Contact) else people.get_contact(user, contact)


def _company(user, company: Company | int) -> Company:
    return company if isinstance(company, Company) else people.get_company(user, company)


def contact_score(user, contact: Contact | int) -> CustomerScore | None:
    """The contact's latest score, None when it has not been scored. Pass the contact's id, or the
    contact itself when the caller fetched it through a selector taking `user`."""
    contact = _contact(user, contact)
    return CustomerScore.objects.select_related("run").filter(contact_id=contact.pk).first()


def company_score(user, company: Company | int) -> CustomerScore | None:
    company = _company(user, company)
    return CustomerScore.objects.select_related("run").filter(company_id=company.pk).first()


def _facts(score: CustomerScore) -> dict[str, Any]:
    """The stored facts in the form `health.reasons` reads, measured from the end of the as-of day."""
    end = dt.datetime.combine(score.as_of + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)

    def days_before_end(moment):
        return None if moment is None else (end - moment).total_seconds() / 86400

    return {
        "probability_alive": score.probability_alive if score.probability_alive is not None else float("nan"),
        "days_since_order": days_before_end(score.last_order_at), "usual_interval_days": score.usual_interval_days,
        "days_since_contact": days_before_end(score.last_contacted_at), "events_recent": score.events_recent,
        "events_before": score.events_before, "open_deals": score.open_deals, "moving_deals": score.moving_deals,
        "stalled_deals": score.stalled_deals,
    }


def explain(score: CustomerScore, *, limit: int = 3) -> list[Reason]:
    """The score's top reasons, with the weights and yardsticks of the refresh that computed it."""
    fits = score.run.fits or {}
    weights = fits.get("health_weights") or DEFAULT_WEIGHTS
    population = "contacts" if score.contact_id else "companies"
    typical = (fits.get(population) or {}).get("typical_interval_days")
    return reasons(_facts(score), score.health_components or {}, weights, typical_interval_days=typical, limit=limit)


def _relationship(user, score: CustomerScore | None) -> Relationship:
    base, runs = base_currency(), may_see_runs(user)
    if score is None:
        last = ModelRun.objects.filter(status="done").order_by("-finished_at", "-id").first()
        return Relationship(score=None, base_currency=base, last_run=last, may_see_runs=runs)
    return Relationship(score=score, base_currency=base, reasons=explain(score), band=band(score.health),
                        model_label=MODEL_NAMES.get(score.model, score.model or "none"), last_run=score.run,
                        may_see_runs=runs)


def contact_relationship(user, contact: Contact | int) -> Relationship:
    """The contact page's Relationship panel; NotVisible when the contact is hidden or missing."""
    return _relationship(user, contact_score(user, contact))


def company_relationship(user, company: Company | int) -> Relationship:
    return _relationship(user, company_score(user, company))


# --- the refreshes ---------------------------------------------------------------------------

def may_see_runs(user) -> bool:
    """A refresh's figures (customers scored, fits, the model's errors) describe the whole base:
    admins, managers and roles that see every record may read them."""
    if visibility_of(user) == "none":
        return False
    return is_admin(user) or visibility_of(user) == Visibility.ALL or profile_of(user).role == Role.MANAGER


def may_refresh(user) -> bool:
    return visibility_of(user) != "none" and is_admin(user)


def recent_runs(user, *, limit: int = 20) -> list[ModelRun]:
    """The latest refreshes, newest first; NotVisible for users who may not see them."""
    if not may_see_runs(user):
        raise NotVisible("refreshes")
    return list(ModelRun.objects.select_related("requested_by").order_by("-started_at", "-id")[:limit])


def refresh_in_progress() -> ModelRun | None:
    from rapport.reports.refresh.requests import busy_run

    return busy_run()


# --- the contact list: filters by band and the sort by value ------------------------------------

def _band_q(column: str, bands: dict, value: str, name: str) -> Q:
    if value not in bands:
        raise ValidationFailed({name: f"choose one of: {', '.join(bands)}"})
    low, high = bands[value]
    condition = Q(**{f"{column}__isnull": False})
    if low is not None:
        condition &= Q(**{f"{column}__gte": low})
    if high is not None:
        condition &= Q(**{f"{column}__lt": high})
    return condition


def narrow_contacts(qs: QuerySet[Contact], params: dict[str, Any]) -> QuerySet[Contact]:
    """Contacts whose stored score is in the `health` band (healthy, watch, at_risk) and the
    `alive` band (likely, uncertain, unlikely) asked for; unscored contacts match no band, nor
    do they have a value to sort by. The caller's queryset already holds only contacts the user
    may see.

    In the list's own order the bands are compared as `column + 0`, a form no index answers: a
    band holds a large share of customers, so walking the list's order and checking each row's
    score finds a page after a few hundred rows, where gathering the whole band from an index and
    sorting it took seconds on a million customers. Sorted by value, the health band is an
    equality on the stored band, which the (band, value) index answers in value order.
    """
    health = (params.get("health") or "").strip()
    alive = (params.get("alive") or "").strip()
    by_value_order = params.get("sort") in VALUE_SORTS
    if health and by_value_order:
        if health not in HEALTH_BANDS:
            raise ValidationFailed({"health": f"choose one of: {', '.join(HEALTH_BANDS)}"})
        # Sorted by value, the (band, value) index gives the band's customers in value order.
        qs = qs.filter(score__health_band=health)
    elif health:
        qs = qs.alias(score_health=F("score__health") + 0).filter(
            _band_q("score_health", HEALTH_BANDS, health, "health"))
    if alive:
        qs = qs.alias(score_alive=F("score__probability_alive") + 0).filter(
            _band_q("score_alive", ALIVE_BANDS, alive, "alive"))
    if by_value_order:
        qs = qs.filter(score__lifetime_value__isnull=False)
    return qs


def by_value(qs: QuerySet[Contact]) -> QuerySet[Contact]:
    """Contacts with their lifetime value as `score_value`, for the list's value sorts (the
    list's filters, through `narrow_contacts`, have already left out unscored contacts)."""
    return qs.annotate(score_value=F("score__lifetime_value"))
