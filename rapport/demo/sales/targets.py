"""Demo targets: each demo seller gets a monthly revenue target for last, this and next month,
and each team a quarterly one, set a little above what history says they win, so the forecast
dashboard shows attainment from the first start."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db.models import Sum

from rapport.core.models import Profile
from rapport.sales.models import Deal, DealStatus, Target

STRETCH = Decimal("1.1")


def _month_start(day: dt.date, shift: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 + shift
    return dt.date(index // 12, index % 12 + 1, 1)


def _round(amount: Decimal) -> Decimal:
    """Two significant figures, as a manager would write a target."""
    if amount <= 0:
        return Decimal(0)
    return Decimal(f"{float(amount):.2g}").quantize(Decimal(1))


def make_targets(*, now: dt.datetime, seller_ids: list[int], created: dict) -> int:
    base = settings.RAPPORT_BASE_CURRENCY
    today = now.date()
    year_ago = now - dt.timedelta(days=365)
    won = dict(Deal.objects.filter(owner_id__in=seller_ids, status=DealStatus.WON, closed_at__gte=year_ago,
                                   currency=base, deleted_at__isnull=True)
               .values("owner_id").annotate(total=Sum("amount")).values_list("owner_id", "total"))
    teams = dict(Profile.objects.filter(user_id__in=seller_ids).values_list("user_id", "team_id"))
    have = set(Target.objects.filter(user_id__in=seller_ids, deleted_at__isnull=True)
               .values_list("user_id", "period_kind", "period_start"))
    rows, team_totals = [], {}
    for seller in seller_ids:
        monthly = _round(Decimal(won.get(seller) or 0) / 12 * STRETCH)
        if not monthly:
            continue
        team_totals[teams.get(seller)] = team_totals.get(teams.get(seller), Decimal(0)) + monthly * 3
        for shift in (-1, 0, 1):
            start = _month_start(today, shift)
            if (seller, "month", start) not in have:
                rows.append(Target(user_id=seller, metric="revenue", period_kind="month", period_start=start,
                                   amount=monthly, currency=base))
    quarter = dt.date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    have_team = set(Target.objects.filter(team_id__in=team_totals, period_start=quarter, deleted_at__isnull=True)
                    .values_list("team_id", flat=True))
    rows += [Target(team_id=team, metric="revenue", period_kind="quarter", period_start=quarter,
                    amount=_round(total), currency=base)
             for team, total in team_totals.items() if team is not None and team not in have_team]
    made = Target.objects.bulk_create(rows)
    created.setdefault("targets", []).extend(t.pk for t in made)
    return len(made)
