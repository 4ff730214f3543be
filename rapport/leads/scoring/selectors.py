"""Scoring's reads: the model evaluation, the fit rules and the settings.

The evaluation and the rules describe the business, not any one customer: every signed-in user
may read them (a seller sees the same rules met and missed on each of their leads anyway).
Admins and marketers change them.
"""

from __future__ import annotations

from rapport.core.errors import NotAllowed
from rapport.core.models import Role
from rapport.core.visibility import is_admin, profile_of
from rapport.leads.models import FitRule, ModelStatus, ScoreModel, ScoringSettings


def may_read_scoring(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def may_edit_scoring(user) -> bool:
    """Admins describe the ideal customer and set the thresholds; marketers too (it is their funnel)."""
    return bool(user and user.is_authenticated and (is_admin(user) or profile_of(user).role == Role.MARKETER))


def _require_reader(user) -> None:
    if not may_read_scoring(user):
        raise NotAllowed("sign in to read the scoring model and rules")


def evaluation(user=None) -> dict | None:
    """The latest training run as plain data (None before the first). With `user`, checks they
    may read it (the command passes none)."""
    if user is not None:
        _require_reader(user)
    from .services import active_model

    row = ScoreModel.objects.order_by("-trained_at", "-id").first()
    if row is None:
        return None
    active = active_model() if row.status == ModelStatus.READY else None
    return {"version": row.version, "trained_at": row.trained_at.isoformat(), "status": row.status,
            "note": row.note, "outcomes": row.outcomes, "wins": row.wins, "metrics": row.metrics,
            "features": row.features, "in_use": bool(active and active.fitted is not None),
            "problem": active.problem if active else ""}


def history(user, *, limit: int = 20) -> list[ScoreModel]:
    _require_reader(user)
    return list(ScoreModel.objects.defer("estimator").order_by("-trained_at", "-id")[:limit])


def fit_rules(user, *, include_inactive: bool = True) -> list[FitRule]:
    _require_reader(user)
    rules = FitRule.objects.filter(deleted_at__isnull=True).select_related("custom_field")
    if not include_inactive:
        rules = rules.filter(active=True)
    return list(rules.order_by("position", "id"))


def fit_rule(user, pk: int) -> FitRule:
    from rapport.core.errors import NotVisible

    _require_reader(user)
    rule = FitRule.objects.filter(pk=pk, deleted_at__isnull=True).select_related("custom_field").first()
    if rule is None:
        raise NotVisible("no such fit rule")
    return rule


def scoring_settings(user) -> ScoringSettings:
    _require_reader(user)
    return ScoringSettings.current()
