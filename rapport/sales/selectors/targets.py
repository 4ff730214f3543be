"""Reads of targets and of what they are measured against: revenue won and new customers.

Who reads which targets: admins all; a manager those of their team and of its members; everyone
else their own and their team's. Who may set them is `may_set_target` (services enforce it).

A new customer (the new-customers metric) is a company, or a contact when the order names no
company, whose first live order falls in the period. It counts for the owner of the deal that
order came from, or, for an order without a deal, the order's owner (orders follow their
customer's owner). "First" looks at every order, including those the reader may not see: a
customer who bought from another team last year is not new this year.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce

from rapport.core.errors import NotVisible, ValidationFailed
from rapport.core.models import Role, Team
from rapport.core.pagination import Page, keyset_page
from rapport.core.visibility import is_admin, profile_of, visibility_of, visible_to

from .. import periods
from ..currencies import RateBook, base_currency
from ..models import Order, PeriodKind, Target, TargetMetric
from .deals import deal_queryset
from .forecasts import (
    ForecastRow,
    TargetFigure,
    empty_row,
    fold,
    last_stage_ids,
    percent,
    period_figures,
    target_figure,
    user_label,
)

SELLING_ROLES = (Role.SELLER, Role.MANAGER)


def _signed_in(user) -> bool:
    return visibility_of(user) != "none"


def is_manager(user) -> bool:
    profile = profile_of(user)
    return profile.role == Role.MANAGER and profile.team_id is not None


def may_set_target(actor, *, user=None, team=None) -> bool:
    """Admins set anyone's targets; a manager those of their team and of its members."""
    if not _signed_in(actor):
        return False
    if is_admin(actor):
        return True
    if not is_manager(actor):
        return False
    team_id = profile_of(actor).team_id
    if team is not None:
        return team.pk == team_id
    return user is not None and profile_of(user).team_id == team_id


def may_manage_targets(actor) -> bool:
    """Whether the actor may set any target at all (shows the form and the accept buttons)."""
    return _signed_in(actor) and (is_admin(actor) or is_manager(actor))


def target_queryset(user) -> QuerySet[Target]:
    """Live targets the user may read."""
    targets = Target.objects.filter(deleted_at__isnull=True)
    if not _signed_in(user):
        return targets.none()
    if is_admin(user):
        return targets
    team_id = profile_of(user).team_id
    if is_manager(user):
        return targets.filter(Q(team_id=team_id) | Q(user__profile__team_id=team_id) | Q(user_id=user.pk))
    mine = Q(user_id=user.pk)
    return targets.filter(mine | Q(team_id=team_id)) if team_id else targets.filter(mine)


def get_target(user, target_id: int) -> Target:
    target = target_queryset(user).select_related("user", "team").filter(pk=target_id).first()
    if target is None:
        raise NotVisible(f"target {target_id}")
    return target


def _int(params: dict[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationFailed({name: "must be a whole number"}) from None


def list_targets(user, params: dict[str, Any], *, cursor: str | None = None, size: int = 50) -> Page:
    """Targets the user may read, latest period first; filters: user, team, metric, period
    (month or quarter) and start (a period's first day)."""
    targets = target_queryset(user).select_related("user", "team")
    for name in ("user", "team"):
        value = _int(params, name)
        if value is not None:
            targets = targets.filter(**{f"{name}_id": value})
    metric = params.get("metric")
    if metric:
        if metric not in TargetMetric.values:
            raise ValidationFailed({"metric": "choose revenue, new_customers, retention or health"})
        targets = targets.filter(metric=metric)
    if params.get("period"):
        targets = targets.filter(period_kind=periods.clean_kind(params["period"]))
    if params.get("start"):
        kind = params.get("period") or PeriodKind.MONTH
        targets = targets.filter(period_start=periods.clean_start(params["start"], kind))
    return keyset_page(targets, order="-period_start", cursor=cursor, size=size)


def period_targets(user, *, kind: str, start: dt.date, metric: str, who: str) -> dict:
    """{user id or team id: Target} of one metric and period, among targets `user` may read."""
    field_name = f"{who}_id"
    targets = target_queryset(user).filter(period_kind=kind, period_start=start, metric=metric,
                                           **{f"{who}__isnull": False})
    return {getattr(t, field_name): t for t in targets}


# --- new customers ---------------------------------------------------------------------------

def first_orders(orders: QuerySet[Order], start: dt.date, end: dt.date) -> QuerySet[Order]:
    """The orders among `orders`, placed in [start, end), that are their customer's first."""
    def earlier(**customer) -> QuerySet[Order]:
        return Order.objects.filter(deleted_at__isnull=True, **customer).filter(
            Q(ordered_at__lt=OuterRef("ordered_at")) | Q(ordered_at=OuterRef("ordered_at"), id__lt=OuterRef("id")))

    return orders.filter(ordered_at__gte=periods.midnight(start), ordered_at__lt=periods.midnight(end)).filter(
        Q(~Exists(earlier(company_id=OuterRef("company_id"))), company__isnull=False)
        | Q(~Exists(earlier(company__isnull=True, contact_id=OuterRef("contact_id"))),
            company__isnull=True, contact__isnull=False)
    )


def new_customers(user, *, start: dt.date, end: dt.date) -> dict[tuple, int]:
    """{(owner id, team id): new customers} among the orders `user` may see, one query."""
    orders = visible_to(Order.objects.filter(deleted_at__isnull=True), user)
    rows = (first_orders(orders, start, end).order_by()
            .annotate(by=Coalesce("deal__owner_id", "owner_id"), by_team=Coalesce("deal__team_id", "team_id"))
            .values("by", "by_team").annotate(n=Count("id")))
    return {(row["by"], row["by_team"]): row["n"] for row in rows}


# --- the attainment dashboard ----------------------------------------------------------------

@dataclass
class AttainmentRow:
    key: int | None
    label: str
    is_team: bool
    revenue: ForecastRow
    revenue_target: TargetFigure | None = None
    new_customers: int = 0
    customers_target: TargetFigure | None = None

    @property
    def revenue_attainment(self):
        return percent(self.revenue.closed_won.amount, self.revenue_target.in_base) if self.revenue_target else None

    @property
    def customers_attainment(self):
        return percent(self.new_customers, self.customers_target.in_base) if self.customers_target else None


@dataclass
class AttainmentPeriod:
    kind: str
    start: dt.date
    label: str
    teams: list[AttainmentRow] = field(default_factory=list)
    people: list[AttainmentRow] = field(default_factory=list)


def people_in_scope(user) -> QuerySet:
    """Whose rows the dashboard and the suggestions show: everyone who sells for an admin, a
    manager's team, and otherwise the user alone."""
    users = get_user_model().objects.filter(is_active=True)
    if is_admin(user):
        return users.filter(profile__role__in=SELLING_ROLES)
    if is_manager(user):
        return users.filter(profile__team_id=profile_of(user).team_id, profile__role__in=SELLING_ROLES)
    return users.filter(pk=user.pk)


def teams_in_scope(user) -> QuerySet[Team]:
    if is_admin(user):
        return Team.objects.all()
    team_id = profile_of(user).team_id
    return Team.objects.filter(pk=team_id) if team_id else Team.objects.none()


def attainment(user, *, kind=None, today: dt.date | None = None, periods_ahead: int = 1) -> list[AttainmentPeriod]:
    """Revenue won and new customers against their targets for the current period and the
    next `periods_ahead`, a row per team and per seller in scope. Per period: one grouped
    query of deals, one of first orders and one of targets, whatever the number of people."""
    kind = periods.clean_kind(kind)
    today = today or dt.datetime.now(dt.UTC).date()
    current = periods.period_containing(kind, today)
    book = RateBook()
    base = base_currency()
    last_stages = last_stage_ids()
    people = {u.pk: u for u in people_in_scope(user)}
    teams = {t.pk: t.name for t in teams_in_scope(user)}
    deals = deal_queryset(user)
    result = []
    for n in range(periods_ahead + 1):
        start = periods.shift(kind, current, n)
        end = periods.period_end(kind, start)
        figures = period_figures(deals, ["owner_id", "team_id"], start, end, book=book, last_stages=last_stages)
        by_owner, by_team = fold(figures, 0, base), fold(figures, 1, base)
        customers = new_customers(user, start=start, end=end)
        customers_by_owner: dict = {}
        customers_by_team: dict = {}
        for (owner_id, team_id), count in customers.items():
            customers_by_owner[owner_id] = customers_by_owner.get(owner_id, 0) + count
            customers_by_team[team_id] = customers_by_team.get(team_id, 0) + count
        targets = target_queryset(user).filter(period_kind=kind, period_start=start)
        user_targets = {(t.user_id, t.metric): target_figure(t, book, kind) for t in targets if t.user_id}
        team_targets = {(t.team_id, t.metric): target_figure(t, book, kind) for t in targets if t.team_id}
        period = AttainmentPeriod(kind=kind, start=start, label=periods.label(kind, start))
        for team_id, name in sorted(teams.items(), key=lambda item: item[1].lower()):
            period.teams.append(AttainmentRow(
                key=team_id, label=name, is_team=True,
                revenue=by_team.get(team_id) or empty_row(team_id, name, base),
                revenue_target=team_targets.get((team_id, TargetMetric.REVENUE)),
                new_customers=customers_by_team.get(team_id, 0),
                customers_target=team_targets.get((team_id, TargetMetric.NEW_CUSTOMERS))))
        for user_id, person in sorted(people.items(), key=lambda item: user_label(item[1]).lower()):
            period.people.append(AttainmentRow(
                key=user_id, label=user_label(person), is_team=False,
                revenue=by_owner.get(user_id) or empty_row(user_id, "", base),
                revenue_target=user_targets.get((user_id, TargetMetric.REVENUE)),
                new_customers=customers_by_owner.get(user_id, 0),
                customers_target=user_targets.get((user_id, TargetMetric.NEW_CUSTOMERS))))
        result.append(period)
    return result

