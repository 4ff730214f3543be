"""The "Today" agenda: one list of what a seller should do today, ranked by value at risk.

Sources, each read in one or two queries whatever its size:
- tasks: the seller's open tasks due by the end of today in their zone (overdue ones
  included), minus those snoozed until later;
- meetings: `rapport.assistant.selectors.meetings.agenda_lines(user, day)` (today's meetings
  and meetings awaiting their outcome), a list of dicts described there;
- leads: open leads they own, unanswered, whose first response is due today or was due;
- stalled deals: their open deals without activity for the pipeline's stall period;
- customers needing attention: their customers whose stored health is "at risk".
A record that already has an open task on the list is shown once, as the task.

Value at risk (the ranking), in the base currency:
- a deal: amount × win probability (the stage's unless the deal sets its own);
- a customer (contact or company): predicted 12-month value × risk, where risk is
  1 − the chance they are still a customer, or, when the refresh gave no chance,
  1 − health/100; a customer without stored scores counts 0 until the insights refresh runs;
- a lead: its budget × its chance (the predicted chance, else its score / 100); 0 without a budget;
- a task: the value of what it is about: its open deal, else its contact's or company's
  customer value, else its lead's;
- a meeting: the weighted amount of its open deal (meetings' own rule).
Lines of equal value keep overdue first, then the earliest time. Amounts in other currencies
are converted with the latest exchange rate; one without a rate counts at face value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Cast, Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone

from rapport.core.errors import NotAllowed
from rapport.core.visibility import is_admin, profile_of

from ..models import Task, TaskStatus
from ..services.tasks import start_of_day, zone_of
from . import tasks as task_selectors

ZERO = Decimal(0)
# Enough for a long day; the rest are counted and reachable with "show more".
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass
class AgendaLine:
    kind: str  # task, meeting, meeting_outcome, lead, deal, customer
    key: str  # unique on the page (element ids, tests)
    title: str
    reason: str
    at: dt.datetime | None
    value: Decimal = ZERO
    overdue: bool = False
    record_label: str = ""
    record_url: str = ""
    url: str = ""
    priority: str = ""
    actions: list[tuple[str, str]] = field(default_factory=list)
    task_id: int | None = None
    all_day: bool = False
    contact_id: int | None = None
    deal_id: int | None = None
    lead_id: int | None = None
    urls: dict[str, str] = field(default_factory=dict)  # a task's actions, by name


@dataclass
class Agenda:
    user: Any
    day: dt.date
    lines: list[AgendaLine]
    total: int
    overdue: int
    limit: int
    counts: dict[str, int]


class _Rates:
    """Base-currency value of an amount, rates read once per currency."""

    def __init__(self, today: dt.date):
        from rapport.sales.currencies import RateBook

        self.book, self.today = RateBook(), today

    def base(self, amount, currency: str) -> Decimal:
        if amount is None:
            return ZERO
        from rapport.sales.currencies import MissingRate

        try:
            return self.book.convert_exact(Decimal(amount), currency, self.book.base, self.today)
        except MissingRate:
            return Decimal(amount)

    def sql_factor(self, currency_field: str):
        """The base-currency worth of one unit of `currency_field`'s currency, as SQL: a CASE
        over the currencies that have rates (one without a rate counts at face value)."""
        from rapport.sales.currencies import MissingRate
        from rapport.sales.models import ExchangeRate

        if not hasattr(self, "_factors"):
            self._factors = {}
            for currency in ExchangeRate.objects.values_list("currency", flat=True).distinct():
                try:
                    self._factors[currency] = float(self.base(Decimal(1), currency))
                except MissingRate:  # pragma: no cover - base() already answers face value
                    continue
        whens = [When(**{currency_field: c}, then=Value(f)) for c, f in self._factors.items() if f != 1.0]
        if not whens:
            return Value(1.0, output_field=FloatField())
        return Case(*whens, default=Value(1.0), output_field=FloatField())


def _weighted(amount, currency, probability, stage_probability, rates: _Rates) -> Decimal:
    chance = probability if probability is not None else (stage_probability or 0)
    return rates.base(amount, currency) * Decimal(chance) / 100


def customer_risk_value(value_12m, probability_alive, health) -> Decimal:
    """Predicted 12-month value × (1 − chance still a customer), or × (1 − health/100)."""
    if not value_12m:
        return ZERO
    if probability_alive is not None:
        risk = 1 - probability_alive
    elif health is not None:
        risk = 1 - health / 100
    else:
        return ZERO
    return Decimal(str(round(max(value_12m * risk, 0), 2)))


def _lead_value(budget, currency, chance, score, rates: _Rates) -> Decimal:
    if not budget:
        return ZERO
    p = chance if chance is not None else (score / 100 if score is not None else 0)
    return rates.base(budget, currency or rates.book.base) * Decimal(str(p))


def _url(name: str, pk: int) -> str:
    """reverse() per line costs a noticeable share of a 5,000-task page: reverse once per name."""
    template = _URLS.get(name)
    if template is None:
        template = _URLS[name] = reverse(name, args=[987654321]).replace("987654321", "{}")
    return template.format(pk)


_URLS: dict[str, str] = {}


def _task_urls(pk: int) -> dict[str, str]:
    return {"complete": _url("task_complete", pk), "log_call": _url("task_log_call", pk),
            "snooze": _url("task_snooze", pk), "reschedule": _url("task_reschedule", pk)}


def _name(first, last, fallback="") -> str:
    return f"{first or ''} {last or ''}".strip() or fallback


def check_may_view_agenda(viewer, owner) -> None:
    """One's own agenda; a manager their team members'; an admin anyone's."""
    if viewer.pk == owner.pk or is_admin(viewer):
        return
    mine = profile_of(viewer)
    if mine.role == "manager" and mine.team_id is not None and profile_of(owner).team_id == mine.team_id:
        return
    raise NotAllowed("you may see your own agenda, and a manager their team's")


def _float(name: str):
    return Cast(name, FloatField())


# The ranking in SQL, so a seller with thousands of open tasks costs one sorted, limited read
# per source instead of building every line in Python. The same rules as the Decimal functions
# above, in floats; the lines that make the page get their exact values from those functions.
def _deal_value_sql(prefix: str, rates: _Rates):
    chance = Coalesce(_float(f"{prefix}probability"), _float(f"{prefix}stage__probability"), Value(0.0))
    return Coalesce(_float(f"{prefix}amount") * rates.sql_factor(f"{prefix}currency") * chance / Value(100.0),
                    Value(0.0), output_field=FloatField())


def _customer_value_sql(prefix: str):
    risk = Coalesce(Value(1.0) - F(f"{prefix}probability_alive"), Value(1.0) - _float(f"{prefix}health") / Value(100.0),
                    output_field=FloatField())
    return Coalesce(Greatest(F(f"{prefix}value_12m") * risk, Value(0.0)), Value(0.0), output_field=FloatField())


def _lead_value_sql(prefix: str, rates: _Rates):
    chance = Coalesce(F(f"{prefix}predicted_chance"), _float(f"{prefix}score") / Value(100.0), Value(0.0),
                      output_field=FloatField())
    return Coalesce(_float(f"{prefix}budget_amount") * rates.sql_factor(f"{prefix}budget_currency") * chance,
                    Value(0.0), output_field=FloatField())


def _task_value_sql(rates: _Rates):
    """A task's value: its open deal's, else its contact's, else its company's, else its lead's."""
    from rapport.reports.models import CustomerScore

    company = Subquery(CustomerScore.objects.filter(company_id=OuterRef("company_id"))
                       .annotate(at_risk=_customer_value_sql("")).values("at_risk")[:1], output_field=FloatField())
    return Case(
        When(deal_id__isnull=False, deal__status="open", then=_deal_value_sql("deal__", rates)),
        When(contact_id__isnull=False, then=_customer_value_sql("contact__score__")),
        When(company_id__isnull=False, then=Coalesce(company, Value(0.0), output_field=FloatField())),
        When(lead_id__isnull=False, then=_lead_value_sql("lead__", rates)),
        default=Value(0.0), output_field=FloatField())


def _agenda_tasks(viewer, owner, now, end):
    """The owner's open tasks on today's agenda, as the viewer may see them."""
    return (task_selectors.task_queryset(viewer)
            .filter(assignee_id=owner.pk, status=TaskStatus.OPEN, due_at__lt=end)
            .filter(Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now)))


def _task_overdue_q(now) -> Q:
    # An all-day task is due by the end of its day (due_at holds the day's start).
    return Q(all_day=True, due_at__lte=now - dt.timedelta(days=1)) | Q(all_day=False, due_at__lt=now)


@dataclass
class _Source:
    lines: list[AgendaLine]
    count: int
    overdue: int = 0

    @classmethod
    def of(cls, lines: list[AgendaLine], rows: list[dict]) -> _Source:
        """The lines and the counts that `_totals` put on every row (none when there are none)."""
        if not rows:
            return cls(lines, 0, 0)
        return cls(lines, rows[0]["all_count"], rows[0].get("late_count") or 0)


def _totals(**more) -> dict:
    """Counts over the whole source, carried on each of its limited rows: one query, not two."""
    totals = {"all_count": Window(Count("*"))}
    totals.update({f"{name}_count": Window(aggregate) for name, aggregate in more.items()})
    return totals


def _task_lines(viewer, owner, now, end, rates, limit) -> _Source:
    late = Case(When(_task_overdue_q(now), then=Value(1)), default=Value(0), output_field=IntegerField())
    rows = list(_agenda_tasks(viewer, owner, now, end)
            .annotate(rank_value=_task_value_sql(rates), rank_late=late, **_totals(late=Sum(late)))
            .order_by("-rank_value", "-rank_late", "due_at", "id")
            .values("all_count", "late_count", "id", "title", "reason", "due_at", "all_day", "priority",
                    "contact_id", "company_id", "deal_id", "lead_id", "contact__first_name", "contact__last_name", "company__name", "deal__name",
                    "deal__amount", "deal__currency", "deal__probability", "deal__stage__probability",
                    "deal__status", "contact__score__value_12m", "contact__score__probability_alive",
                    "contact__score__health", "lead__title", "lead__budget_amount", "lead__budget_currency",
                    "lead__predicted_chance", "lead__score")[:limit])
    from rapport.reports.models import CustomerScore

    wanted = {r["company_id"] for r in rows if r["company_id"] and not r["contact_id"] and not r["deal_id"]}
    company_scores = {c: (v, p, h) for c, v, p, h in CustomerScore.objects.filter(company_id__in=wanted).values_list(
        "company_id", "value_12m", "probability_alive", "health")} if wanted else {}
    lines = []
    for r in rows:
        if r["deal_id"] and r["deal__status"] == "open":
            value = _weighted(r["deal__amount"], r["deal__currency"], r["deal__probability"],
                              r["deal__stage__probability"], rates)
        elif r["contact_id"]:
            value = customer_risk_value(r["contact__score__value_12m"], r["contact__score__probability_alive"],
                                        r["contact__score__health"])
        elif r["company_id"]:
            value = customer_risk_value(*company_scores.get(r["company_id"], (None, None, None)))
        elif r["lead_id"]:
            value = _lead_value(r["lead__budget_amount"], r["lead__budget_currency"], r["lead__predicted_chance"],
                                r["lead__score"], rates)
        else:
            value = ZERO
        if r["deal_id"]:
            label, url = r["deal__name"], _url("deal_detail", r["deal_id"])
        elif r["contact_id"]:
            label, url = _name(r["contact__first_name"], r["contact__last_name"], "Contact"), \
                _url("contact_detail", r["contact_id"])
        elif r["company_id"]:
            label, url = r["company__name"], _url("company_detail", r["company_id"])
        elif r["lead_id"]:
            label, url = r["lead__title"] or f"Lead {r['lead_id']}", _url("lead_detail", r["lead_id"])
        else:
            label, url = "", ""
        due = r["due_at"]
        overdue = (due + dt.timedelta(days=1) <= now) if r["all_day"] else due < now
        lines.append(AgendaLine(
            kind="task", key=f"task-{r['id']}", title=r["title"], at=due, all_day=r["all_day"], value=value,
            overdue=overdue, record_label=label, record_url=url, priority=r["priority"], task_id=r["id"],
            reason=r["reason"] or ("Overdue task" if overdue else "Task due today"),
            contact_id=r["contact_id"], deal_id=r["deal_id"], lead_id=r["lead_id"], urls=_task_urls(r["id"])))
    return _Source.of(lines, rows)


def _without_tasks(queryset, tasks, field: str, outer: str = "pk"):
    """A record that already has an open task on the agenda is shown once, as the task."""
    return queryset.filter(~Exists(tasks.filter(**{field: OuterRef(outer)})))


def _lead_lines(owner, tasks, now, end, rates, limit) -> _Source:
    from rapport.leads.models import OPEN_STATUSES, Lead

    zone = zone_of(owner)  # the seller reads the deadline in their own time

    leads = _without_tasks(Lead.objects.filter(owner_id=owner.pk, status__in=OPEN_STATUSES,
                                               first_response_at__isnull=True, response_due_at__lt=end,
                                               deleted_at__isnull=True), tasks, "lead_id")
    late = Case(When(response_due_at__lt=now, then=Value(1)), default=Value(0), output_field=IntegerField())
    rows = list(leads.annotate(rank_value=_lead_value_sql("", rates), **_totals(late=Sum(late)))
            .order_by("-rank_value", "response_due_at", "id")
            .values("all_count", "late_count", "id", "title", "response_due_at", "contact_id", "contact__first_name", "contact__last_name",
                    "budget_amount", "budget_currency", "predicted_chance", "score")[:limit])
    lines = []
    for r in rows:
        due = r["response_due_at"]
        who = _name(r["contact__first_name"], r["contact__last_name"], "a new lead")
        late = due < now
        lines.append(AgendaLine(
            kind="lead", key=f"lead-{r['id']}", title=f"Respond to {who}", at=due, overdue=late,
            value=_lead_value(r["budget_amount"], r["budget_currency"], r["predicted_chance"], r["score"], rates),
            reason=(f"First response {'was due' if late else 'due'} at {due.astimezone(zone):%H:%M}"
                    + (f" on {due.astimezone(zone):%d %b}" if late else "") + (f" ({r['title']})" if r["title"] else "")),
            record_label=r["title"] or who, record_url=_url("lead_detail", r["id"]),
            url=_url("lead_detail", r["id"]), lead_id=r["id"], contact_id=r["contact_id"]))
    return _Source.of(lines, rows)


def _stalled_lines(viewer, owner, tasks, now, rates, limit) -> _Source:
    from rapport.sales.selectors import deals as deal_selectors

    deals = _without_tasks(deal_selectors.filter_deals(deal_selectors.deal_queryset(viewer).filter(owner_id=owner.pk),
                                                       {"stalled": "1"}), tasks, "deal_id")
    rows = list(deals.annotate(rank_value=_deal_value_sql("", rates), **_totals()).order_by("-rank_value", "id")
            .values("all_count", "id", "name", "amount", "currency", "probability", "stage__probability", "last_activity_at",
                    "pipeline__stall_days")[:limit])
    lines = []
    for r in rows:
        days = (now - r["last_activity_at"]).days
        url = _url("deal_detail", r["id"])
        lines.append(AgendaLine(
            kind="deal", key=f"deal-{r['id']}", title=f"Revive the deal {r['name']}", at=None, deal_id=r["id"],
            value=_weighted(r["amount"], r["currency"], r["probability"], r["stage__probability"], rates),
            reason=f"Stalled: no activity for {days} days (the pipeline flags deals after {r['pipeline__stall_days']})",
            record_label=r["name"], record_url=url, url=url))
    return _Source.of(lines, rows)


def _customer_lines(owner, tasks, limit: int) -> _Source:
    from rapport.reports.models import CustomerScore

    scores = _without_tasks(CustomerScore.objects.filter(contact__owner_id=owner.pk, contact__deleted_at__isnull=True,
                                                         health_band="at_risk"), tasks, "contact_id", "contact_id")
    rows = list(scores.annotate(at_risk=_customer_value_sql(""), **_totals())
            .order_by("-at_risk", "contact_id")
            .values("all_count", "contact_id", "contact__first_name", "contact__last_name", "value_12m", "probability_alive",
                    "health", "last_order_at")[:limit])
    lines = []
    for r in rows:
        who = _name(r["contact__first_name"], r["contact__last_name"], "Customer")
        url = _url("contact_detail", r["contact_id"])
        alive = (f"{round(r['probability_alive'] * 100)}% chance still a customer"
                 if r["probability_alive"] is not None else f"health {r['health']}")
        last = f", last purchase {r['last_order_at']:%d %b %Y}" if r["last_order_at"] else ""
        lines.append(AgendaLine(
            kind="customer", key=f"customer-{r['contact_id']}", title=f"Reach out to {who}", at=None,
            value=customer_risk_value(r["value_12m"], r["probability_alive"], r["health"]),
            reason=f"Health at risk: {alive}{last}", record_label=who, record_url=url, url=url,
            contact_id=r["contact_id"]))
    return _Source.of(lines, rows)


def _meeting_lines(user, day, rates) -> list[AgendaLine]:
    try:
        from .meetings import agenda_lines
    except ImportError:  # the meetings part not installed yet
        return []
    lines = []
    for i, item in enumerate(agenda_lines(user, day)):
        value = item.get("value_at_risk") or ZERO
        if value and item.get("currency"):
            value = rates.base(value, item["currency"])
        meeting = item.get("meeting")
        lines.append(AgendaLine(
            kind=item.get("kind", "meeting"), key=f"{item.get('kind', 'meeting')}-{getattr(meeting, 'pk', i)}",
            title=item.get("title", ""), reason=item.get("reason", ""), at=item.get("at"), value=value,
            record_label=item.get("record_label", ""), record_url=item.get("record_url", ""),
            url=item.get("url", ""), actions=list(item.get("actions") or []),
            overdue=item.get("kind") == "meeting_outcome"))
    return lines


def agenda_for(viewer, owner=None, *, limit: int = DEFAULT_LIMIT, now: dt.datetime | None = None) -> Agenda:
    """Today's agenda of `owner` (default: the viewer) as the viewer may see it, ranked.

    Each source reads only its `limit` most valuable lines (and counts the rest), so the page
    costs the same for a seller with fifty open tasks as for one with five thousand.
    """
    owner = owner or viewer
    check_may_view_agenda(viewer, owner)
    limit = max(1, min(int(limit), MAX_LIMIT))
    now = now or timezone.now()
    zone = zone_of(owner)
    day = now.astimezone(zone).date()
    end = start_of_day(day + dt.timedelta(days=1), zone)
    rates = _Rates(day)
    on_agenda = _agenda_tasks(viewer, owner, now, end)
    tasks = _task_lines(viewer, owner, now, end, rates, limit)
    leads = _lead_lines(owner, on_agenda, now, end, rates, limit)
    deals = _stalled_lines(viewer, owner, on_agenda, now, rates, limit)
    customers = _customer_lines(owner, on_agenda, limit)
    meetings = _meeting_lines(owner, day, rates)
    everything = tasks.lines + meetings + leads.lines + deals.lines + customers.lines
    far_future = dt.datetime.max.replace(tzinfo=dt.UTC)
    everything.sort(key=lambda x: (-x.value, not x.overdue, x.at or far_future, x.key))
    counts = {"task": tasks.count, "meeting": len(meetings), "lead": leads.count, "deal": deals.count,
              "customer": customers.count}
    return Agenda(user=owner, day=day, lines=everything[:limit], total=sum(counts.values()),
                  overdue=tasks.overdue + leads.overdue + sum(1 for x in meetings if x.overdue), limit=limit,
                  counts=counts)


def team_overview(viewer) -> list[dict[str, Any]]:
    """Who is behind in the manager's team: open, overdue and due-today tasks per seller."""
    profile = profile_of(viewer)
    if not (is_admin(viewer) or profile.role == "manager"):
        raise NotAllowed("the team's agenda is for managers")
    return task_selectors.overdue_counts(viewer, team_id=profile.team_id)


def open_task_count(user) -> int:
    return Task.objects.filter(assignee_id=user.pk, status=TaskStatus.OPEN, deleted_at__isnull=True).count()
