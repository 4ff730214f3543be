"""Effective targets: the history each seller's suggestion is computed from.

The windows are whole calendar months before the current month, so a suggestion does not
drift day by day and every figure can be checked by hand: the trailing year is the 12 months
before this month; the team's seasonality looks at the 24 months before it (each calendar month
exactly twice). Amounts convert at their own day's rate; amounts without a rate are left out
and named in the reasoning.

Four grouped queries whatever the number of sellers: closed deals over 24 months, open deals
in the period, current targets, and the people in scope.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate

from rapport.core.errors import NotVisible

from .. import periods
from ..currencies import RateBook, base_currency
from ..effective_targets import SellerHistory, Suggestion, suggest_target
from ..models import DealStatus, TargetMetric
from .deals import deal_queryset
from .forecasts import BaseTotal, TargetFigure, target_figure, user_label
from .targets import may_set_target, people_in_scope, period_targets


@dataclass
class SellerSuggestion:
    user: object
    label: str
    history: SellerHistory
    suggestion: Suggestion
    current: TargetFigure | None
    may_accept: bool
    left_out: str = ""


def suggestions(user, *, kind=None, start=None, today: dt.date | None = None, only_user_id: int | None = None,
                ) -> list[SellerSuggestion]:
    """A suggested revenue target per seller in scope (everyone who sells for an admin, a
    manager's team, otherwise the user alone) for the period, with its reasoning."""
    today = today or dt.datetime.now(dt.UTC).date()
    kind = periods.clean_kind(kind)
    start = periods.clean_start(start, kind, today=today)
    end = periods.period_end(kind, start)
    this_month = periods.period_containing(periods.MONTH, today)
    year_ago, two_years_ago = periods.add_months(this_month, -12), periods.add_months(this_month, -24)
    season_months = set(periods.months_of(kind, start))
    base = base_currency()
    book = RateBook()

    people = people_in_scope(user)
    if only_user_id is not None:
        people = people.filter(pk=only_user_id)
    people = list(people.select_related("profile"))
    if only_user_id is not None and not people:
        raise NotVisible(f"user {only_user_id}")
    for person in people:
        person._rapport_profile = person.profile  # profile_of() reads it instead of one query each
    ids = [p.pk for p in people]
    team_ids = {p.profile.team_id for p in people if p.profile.team_id}

    deals = deal_queryset(user)
    # Closed deals of the sellers and of their teams over 24 months, by day for the rates.
    closed = (deals.filter(status__in=[DealStatus.WON, DealStatus.LOST],
                           closed_at__gte=periods.midnight(two_years_ago), closed_at__lt=periods.midnight(this_month))
              .filter(Q(owner_id__in=ids) | Q(team_id__in=team_ids))
              .annotate(day=TruncDate("closed_at", tzinfo=dt.UTC)).order_by()
              .values("owner_id", "team_id", "status", "currency", "day")
              .annotate(n=Count("id"), amount=Sum("amount")))
    won_n: dict = {}
    lost_n: dict = {}
    won: dict = {}
    # Won revenue over 24 months, all months and the period's months, keyed ("team", id) and
    # ("owner", id): a seller without a team has their own history stand for a team's.
    all_won: dict = {}
    season_won: dict = {}
    for row in closed:
        owner, team, day, is_won = row["owner_id"], row["team_id"], row["day"], row["status"] == DealStatus.WON
        if day >= year_ago:
            counts = won_n if is_won else lost_n
            for key in (("owner", owner), ("team", team)):
                counts[key] = counts.get(key, 0) + row["n"]
            if is_won:
                won.setdefault(owner, BaseTotal(base)).add(book, row["amount"], row["currency"], day)
        if is_won:
            for key in (("owner", owner), ("team", team)):
                all_won.setdefault(key, BaseTotal(base)).add(book, row["amount"], row["currency"], day)
                if day.month in season_months:
                    season_won.setdefault(key, BaseTotal(base)).add(book, row["amount"], row["currency"], day)

    pipeline: dict = {}
    open_rows = (deals.filter(status=DealStatus.OPEN, owner_id__in=ids, expected_close_date__gte=start,
                              expected_close_date__lt=end)
                 .order_by().values("owner_id", "currency", "expected_close_date").annotate(amount=Sum("amount")))
    for row in open_rows:
        pipeline.setdefault(row["owner_id"], BaseTotal(base)).add(
            book, row["amount"], row["currency"], row["expected_close_date"])

    targets = period_targets(user, kind=kind, start=start, metric=TargetMetric.REVENUE, who="user")
    name = periods.label(kind, start)
    result = []
    for person in sorted(people, key=lambda p: user_label(p).lower()):
        team = person.profile.team_id
        mine = won.get(person.pk) or BaseTotal(base)
        pipe = pipeline.get(person.pk) or BaseTotal(base)
        history_of = ("team", team) if team else ("owner", person.pk)
        season = season_won.get(history_of) or BaseTotal(base)
        whole = all_won.get(history_of) or BaseTotal(base)
        history = SellerHistory(
            won_deals=won_n.get(("owner", person.pk), 0), lost_deals=lost_n.get(("owner", person.pk), 0),
            won_revenue=mine.amount, open_pipeline=pipe.amount,
            season_revenue=season.amount, team_revenue=whole.amount,
            months_in_period=periods.MONTHS_IN[kind],
            team_won_deals=won_n.get(history_of, 0), team_lost_deals=lost_n.get(history_of, 0),
            period_name=name, currency=base,
        )
        current = targets.get(person.pk)
        result.append(SellerSuggestion(
            user=person, label=user_label(person), history=history, suggestion=suggest_target(history),
            current=target_figure(current, book, kind) if current else None,
            may_accept=may_set_target(user, user=person), left_out=_left_out_text(mine, pipe, whole)))
    return result


def _left_out_text(mine: BaseTotal, pipe: BaseTotal, history: BaseTotal) -> str:
    """What the figures could not include for want of an exchange rate, said plainly."""
    own = BaseTotal(mine.currency)
    own.merge(mine)
    own.merge(pipe)
    parts = []
    if own.unconverted:
        parts.append("left out of the seller's figures: " + own.unconverted_text.removeprefix("plus "))
    if history.unconverted:
        parts.append("left out of the team's history: " + history.unconverted_text.removeprefix("plus "))
    return "; ".join(parts)
