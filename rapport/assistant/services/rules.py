"""Follow-up rules: find what needs a follow-up, in bulk, and make each task once.

Each rule is one or two set-based reads (no query per customer) that yield candidates, each
with a trigger key naming what made the rule fire. `_create_missing` drops the candidates whose
key the rule has already used, inserts the rest in batches with one audit entry each, and the
database's unique (rule, trigger key) constraint settles any race between two runs. So a rule
run any number of times, by the worker, cron and an admin at once, makes each task once; a
task that was done or cancelled is not made again for the same trigger.

The rules and their knobs (`FollowUpRule.days` is N; `settings` holds the rest):

- after_meeting: a logged meeting (a meeting activity) gets "follow up" due N days after it.
  Only meetings in the last `look_back_days` (14) count, so switching the rule on does not
  flood anyone with follow-ups of last year's meetings.
- stalled_deal: an open deal with no activity for N days gets "revive" due today. The trigger
  is the deal and its last activity day: new activity and a new silence make a new task.
- new_customer: a customer's check-ins `check_in_days` (7, 30, 90) days after their first
  purchase, each made once, while its day is at most N days past (a late run catches up).
- purchase_interval: a customer with at least `min_orders` (2) orders whose usual interval
  between purchases has passed by more than N days, and by fewer than `give_up_after_intervals`
  (3) intervals (after that they are a lost customer for the health list, not a reminder). The
  interval is the stored score's (`CustomerScore.usual_interval_days`, written by the insights
  refresh) or, before any refresh, computed from the orders.
- lead_sla: an open lead nobody has answered whose first-response deadline is within
  `hours_before` (4) hours, or passed in the last 7 days, gets "respond" due at the deadline.

Tasks go to the record's owner (the meeting's logger, the deal's, customer's or lead's owner);
records without one are skipped and counted.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Exists, Max, Min, OuterRef
from django.utils import timezone

from rapport.core.errors import ValidationFailed
from rapport.core.models import AuditAction, AuditEntry

from ..models import FollowUpRule, RuleKind, Task, TaskOrigin, TaskPriority

BATCH = 5000
KEY_CHUNK = 2000


@dataclass
class Candidate:
    key: str
    title: str
    reason: str
    assignee_id: int | None
    team_id: int | None
    due_at: dt.datetime
    contact_id: int | None = None
    company_id: int | None = None
    deal_id: int | None = None
    lead_id: int | None = None
    priority: str | None = None


@dataclass
class RuleResult:
    kind: str
    candidates: int = 0
    created: int = 0
    skipped_no_owner: int = 0
    seconds: float = 0.0


@dataclass
class RunSummary:
    results: list[RuleResult] = field(default_factory=list)
    cadence_tasks: int = 0
    cadences_stopped: int = 0
    seconds: float = 0.0

    @property
    def created(self) -> int:
        return sum(r.created for r in self.results) + self.cadence_tasks


def _name(first: str | None, last: str | None, fallback: str) -> str:
    return f"{first or ''} {last or ''}".strip() or fallback


# Each kind's own settings and their values when a rule's `settings` leaves them out.
KIND_SETTINGS: dict[str, tuple[str, ...]] = {
    RuleKind.AFTER_MEETING: ("look_back_days",),
    RuleKind.STALLED_DEAL: (),
    RuleKind.NEW_CUSTOMER: ("check_in_days",),
    RuleKind.PURCHASE_INTERVAL: ("min_orders", "give_up_after_intervals"),
    RuleKind.LEAD_SLA: ("hours_before",),
}
SETTING_DEFAULTS: dict[str, Any] = {"look_back_days": 14, "check_in_days": [7, 30, 90], "min_orders": 2,
                                    "give_up_after_intervals": 3, "hours_before": 4}
# The lead rule reads its lead time from hours_before, not N days, and its tasks are always high
# priority: a deadline is at stake.
USES_DAYS = frozenset(kind for kind in KIND_SETTINGS if kind != RuleKind.LEAD_SLA)
FIXED_PRIORITY = {RuleKind.LEAD_SLA: TaskPriority.HIGH}


def _setting(rule: FollowUpRule, name: str) -> Any:
    return (rule.settings or {}).get(name, SETTING_DEFAULTS[name])


def setting_of(rule: FollowUpRule, name: str) -> Any:
    """The value a run uses for one of the rule's settings (its default when unset)."""
    return _setting(rule, name)


# --- the rules ----------------------------------------------------------------------------
#
# Each rule yields (trigger key, assignee id, build): the key is checked against the keys the
# rule has used before the task's words are written, so a repeat run formats nothing.

Found = tuple[str, int | None, Callable[[], Candidate]]


def _rows(queryset, moments: tuple[int, ...] = ()) -> Iterable[tuple]:
    """The queryset's rows straight from the database cursor, its date-time columns (by
    position) read with `datetime.fromisoformat`: SQLite returns them as text, and Django's own
    conversion of a few hundred thousand of them costs seconds. PostgreSQL returns datetimes."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while True:
            chunk = cursor.fetchmany(BATCH)
            if not chunk:
                return
            for row in chunk:
                if moments:
                    row = list(row)
                    for i in moments:
                        value = row[i]
                        if isinstance(value, str):
                            value = dt.datetime.fromisoformat(value)
                        if value is not None and value.tzinfo is None:
                            value = value.replace(tzinfo=dt.UTC)
                        row[i] = value
                yield row


def after_meeting(rule: FollowUpRule, now: dt.datetime) -> Iterable[Found]:
    from rapport.timeline.models import Activity

    since = now - dt.timedelta(days=int(_setting(rule, "look_back_days")))
    rows = (Activity.objects.filter(kind="meeting", deleted_at__isnull=True, occurred_at__gte=since,
                                    occurred_at__lte=now)
            .values_list("id", "occurred_at", "owner_id", "team_id", "contact_id", "company_id", "deal_id",
                         "subject", "contact__first_name", "contact__last_name", "company__name", "deal__name"))
    for row in _rows(rows, (1,)):
        def build(row=row) -> Candidate:
            pk, at, owner, team, contact, company, deal, subject, first, last, company_name, deal_name = row
            who = _name(first, last, "") or company_name or deal_name or "the customer"
            return Candidate(
                key=f"activity:{pk}", title=f"Follow up on the meeting with {who}"[:200],
                reason=(f"Meeting on {at:%Y-%m-%d}{f' ({subject})' if subject else ''}: the rule asks for a "
                        f"follow-up {rule.days} day(s) after a meeting.")[:300],
                assignee_id=owner, team_id=team, due_at=at + dt.timedelta(days=rule.days), contact_id=contact,
                company_id=company, deal_id=deal)
        yield f"activity:{row[0]}", row[2], build


def stalled_deal(rule: FollowUpRule, now: dt.datetime) -> Iterable[Found]:
    from rapport.sales.models import Deal, DealStatus

    cutoff = now - dt.timedelta(days=rule.days)
    rows = (Deal.objects.filter(status=DealStatus.OPEN, deleted_at__isnull=True, last_activity_at__lt=cutoff)
            .values_list("id", "name", "owner_id", "team_id", "company_id", "last_activity_at"))
    for row in _rows(rows, (5,)):
        key = f"deal:{row[0]}:{row[5].date().isoformat()}"

        def build(row=row, key=key) -> Candidate:
            pk, name, owner, team, company, last = row
            return Candidate(
                key=key, title=f"Revive the deal {name}"[:200],
                reason=(f"No activity on this deal for {(now - last).days} days (since {last:%Y-%m-%d}); the rule "
                        f"flags open deals after {rule.days} days.")[:300],
                assignee_id=owner, team_id=team, due_at=now, deal_id=pk, company_id=company)
        yield key, row[2], build


def new_customer(rule: FollowUpRule, now: dt.datetime) -> Iterable[Found]:
    from rapport.sales.models import Order

    offsets = sorted({int(d) for d in _setting(rule, "check_in_days")})
    if not offsets:
        return
    window = dt.timedelta(days=max(rule.days, 1))
    # Only customers whose first order is recent enough for a check-in still to be due: read
    # the recent orders (order date index) and drop contacts with an earlier order.
    lower = now - dt.timedelta(days=offsets[-1]) - window
    earlier = Order.objects.filter(contact_id=OuterRef("contact_id"), ordered_at__lt=lower, deleted_at__isnull=True)
    rows = (Order.objects.filter(ordered_at__gte=lower, ordered_at__lte=now, contact__isnull=False,
                                 deleted_at__isnull=True, contact__deleted_at__isnull=True)
            .filter(~Exists(earlier))
            .values_list("contact_id", "contact__owner_id", "contact__team_id", "contact__company_id",
                         "contact__first_name", "contact__last_name")
            .annotate(first=Min("ordered_at")).order_by())
    for row in _rows(rows, (6,)):
        contact, owner, team, company, first_name, last_name, first = row
        for offset in offsets:
            day = first + dt.timedelta(days=offset)
            if now - window <= day <= now:
                key = f"contact:{contact}:day{offset}"

                def build(key=key, offset=offset, day=day, row=row) -> Candidate:
                    who = _name(row[4], row[5], "the new customer")
                    return Candidate(
                        key=key, title=f"Day-{offset} check-in with {who}"[:200],
                        reason=(f"First purchase on {row[6]:%Y-%m-%d}: new customers get a check-in {offset} days "
                                "after it.")[:300],
                        assignee_id=row[1], team_id=row[2], due_at=day, contact_id=row[0], company_id=row[3])
                yield key, owner, build


def _intervals_from_scores(min_orders: int, since: dt.datetime):
    from rapport.reports.models import CustomerScore

    rows = (CustomerScore.objects.filter(contact__isnull=False, usual_interval_days__gt=0, orders__gte=min_orders,
                                         last_order_at__gte=since, contact__deleted_at__isnull=True)
            .values_list("contact_id", "last_order_at", "usual_interval_days", "contact__owner_id",
                         "contact__team_id", "contact__company_id", "contact__first_name", "contact__last_name"))
    return _rows(rows, (1,))


def _intervals_from_orders(min_orders: int, since: dt.datetime):
    """Before any insights refresh: (last - first) / (orders - 1) per customer, contract
    renewals left out as the refresh does."""
    from rapport.sales.models import Order

    rows = (Order.objects.filter(contact__isnull=False, deleted_at__isnull=True, is_subscription=False,
                                 contact__deleted_at__isnull=True)
            .values_list("contact_id", "contact__owner_id", "contact__team_id", "contact__company_id",
                         "contact__first_name", "contact__last_name")
            .annotate(n=Count("id"), first=Min("ordered_at"), last=Max("ordered_at"))
            .filter(n__gte=min_orders, last__gte=since).order_by())
    for contact, owner, team, company, first_name, last_name, n, first, last in _rows(rows, (7, 8)):
        interval = (last - first).total_seconds() / 86400 / (n - 1)
        if interval > 0:
            yield (contact, last, interval, owner, team, company, first_name, last_name)


def purchase_interval(rule: FollowUpRule, now: dt.datetime) -> Iterable[Found]:
    from rapport.reports.models import CustomerScore

    min_orders = max(int(_setting(rule, "min_orders")), 2)
    give_up = float(_setting(rule, "give_up_after_intervals"))
    since = now - dt.timedelta(days=3 * 365)
    if CustomerScore.objects.filter(contact__isnull=False).exists():
        rows = _intervals_from_scores(min_orders, since)
        source = "usual interval from the latest insights refresh"
    else:
        rows = _intervals_from_orders(min_orders, since)
        source = "usual interval from their orders"
    grace = dt.timedelta(days=rule.days)
    for row in rows:
        contact, last, interval, owner = row[0], row[1], row[2], row[3]
        expected = last + dt.timedelta(days=interval)
        if not (expected + grace <= now < last + dt.timedelta(days=interval * give_up)):
            continue
        key = f"contact:{contact}:after:{last.date().isoformat()}"

        def build(row=row, key=key) -> Candidate:
            contact, last, interval, owner, team, company, first_name, last_name = row
            who = _name(first_name, last_name, "the customer")
            return Candidate(
                key=key, title=f"Check in with {who}: next purchase overdue"[:200],
                reason=(f"Usually buys every {interval:.0f} days ({source}); last purchase {last:%Y-%m-%d}, "
                        f"{(now - last).days} days ago.")[:300],
                assignee_id=owner, team_id=team, due_at=now, contact_id=contact, company_id=company)
        yield key, owner, build


def lead_sla(rule: FollowUpRule, now: dt.datetime) -> Iterable[Found]:
    from rapport.leads.models import OPEN_STATUSES, Lead

    ahead = now + dt.timedelta(hours=float(_setting(rule, "hours_before")))
    rows = (Lead.objects.filter(first_response_at__isnull=True, response_due_at__lte=ahead,
                                response_due_at__gte=now - dt.timedelta(days=7), status__in=OPEN_STATUSES,
                                deleted_at__isnull=True)
            .values_list("id", "title", "owner_id", "team_id", "contact_id", "company_id", "response_due_at",
                         "contact__first_name", "contact__last_name"))
    for row in _rows(rows, (6,)):
        key = f"lead:{row[0]}:{row[6]:%Y-%m-%dT%H:%M}"

        def build(row=row, key=key) -> Candidate:
            pk, title, owner, team, contact, company, due, first, last = row
            who = _name(first, last, "a new lead")
            late = due < now
            return Candidate(
                key=key, title=f"Respond to {who}"[:200],
                reason=(f"{'First response was due' if late else 'First response due'} {due:%Y-%m-%d %H:%M} UTC"
                        f"{f' ({title})' if title else ''}; nobody has answered yet.")[:300],
                assignee_id=owner, team_id=team, due_at=due, contact_id=contact, company_id=company, lead_id=pk,
                priority=FIXED_PRIORITY[RuleKind.LEAD_SLA])
        yield key, row[2], build


RULES: dict[str, Callable[[FollowUpRule, dt.datetime], Iterable[Found]]] = {
    RuleKind.AFTER_MEETING: after_meeting,
    RuleKind.STALLED_DEAL: stalled_deal,
    RuleKind.NEW_CUSTOMER: new_customer,
    RuleKind.PURCHASE_INTERVAL: purchase_interval,
    RuleKind.LEAD_SLA: lead_sla,
}


# --- making the tasks ---------------------------------------------------------------------

def _known_keys(rule: FollowUpRule, keys: list[str]) -> set[str]:
    """Which of these keys the rule has used (its unique index answers each; plain SQL, as
    building the ORM's IN list of thousands of values costs more than the lookups)."""
    known: set[str] = set()
    table = connection.ops.quote_name(Task._meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(keys), KEY_CHUNK):
            chunk = keys[start:start + KEY_CHUNK]
            cursor.execute(f"SELECT trigger_key FROM {table} WHERE rule_id = %s AND trigger_key IN "
                           f"({', '.join(['%s'] * len(chunk))})", [rule.pk, *chunk])
            known.update(key for (key,) in cursor.fetchall())
    return known


def _insert(rule: FollowUpRule, batch: list[Candidate], now: dt.datetime) -> int:
    """Insert a batch with one executemany (no model instances: a first run over a big
    database makes hundreds of thousands of tasks), skipping any trigger another run took
    meanwhile (ON CONFLICT DO NOTHING on the unique rule/trigger index); then one audit entry
    per task made, written by one INSERT ... SELECT. Returns how many were made."""
    fields = [f for f in Task._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(Task._meta.db_table)
    sql = (f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))}) "
           "ON CONFLICT DO NOTHING")
    fixed = {"origin": TaskOrigin.RULE, "rule_id": rule.pk, "created_at": now, "updated_at": now}
    prepared = {f.attname: f.get_db_prep_save(fixed[f.attname] if f.attname in fixed else f.get_default(), connection)
                for f in fields}
    due_field = Task._meta.get_field("due_at")
    varying = ["title", "reason", "assignee_id", "team_id", "due_at", "contact_id", "company_id", "deal_id",
               "lead_id", "priority", "trigger_key"]
    positions = [i for i, f in enumerate(fields) if f.attname in varying]
    order = [fields[i].attname for i in positions]
    template = [prepared[f.attname] for f in fields]
    rows = []
    for c in batch:
        values = {"title": c.title, "reason": c.reason, "assignee_id": c.assignee_id, "team_id": c.team_id,
                  "due_at": due_field.get_db_prep_save(c.due_at, connection), "contact_id": c.contact_id,
                  "company_id": c.company_id, "deal_id": c.deal_id, "lead_id": c.lead_id,
                  "priority": c.priority or rule.priority, "trigger_key": c.key}
        row = list(template)
        for i, name in zip(positions, order, strict=True):
            row[i] = values[name]
        rows.append(row)
    audit_table = connection.ops.quote_name(AuditEntry._meta.db_table)
    changes = json.dumps({"origin": [None, "rule"], "rule": [None, rule.kind]})
    cast = "::jsonb" if connection.vendor == "postgresql" else ""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, rows)
        cursor.execute(
            f"INSERT INTO {audit_table} (at, actor_id, action, record_type, record_id, changes, source) "
            f"SELECT %s, NULL, %s, %s, id, %s{cast}, %s FROM {table} WHERE rule_id = %s AND created_at = %s "
            f"AND trigger_key IN ({', '.join(['%s'] * len(batch))})",
            [prepared["created_at"], AuditAction.CREATE, "assistant.task", changes, "system", rule.pk,
             prepared["created_at"], *[c.key for c in batch]])
        return cursor.rowcount


def _create_missing(rule: FollowUpRule, found: Iterable[Found], now: dt.datetime, result: RuleResult) -> None:
    pending: dict[str, Callable[[], Candidate]] = {}

    def flush() -> None:
        if not pending:
            return
        known = _known_keys(rule, list(pending))
        fresh = [build() for key, build in pending.items() if key not in known]
        if fresh:
            result.created += _insert(rule, fresh, now)
        pending.clear()

    for key, assignee_id, build in found:
        result.candidates += 1
        if assignee_id is None:
            result.skipped_no_owner += 1
            continue
        pending[key] = build
        if len(pending) >= BATCH:
            flush()
    flush()


def check_rule_settings(rule: FollowUpRule) -> None:
    """Refuse settings a rule cannot run with, naming the setting."""
    errors = {}
    settings_ = rule.settings or {}
    if rule.kind not in RULES:
        errors["kind"] = f"unknown rule kind {rule.kind!r}"
    days = settings_.get("check_in_days", [7])
    # An empty list would leave the rule on but making nothing: switching it off says that.
    if (not isinstance(days, list) or not days
            or not all(isinstance(d, int) and not isinstance(d, bool) and 0 < d <= 3650 for d in days)):
        errors["settings.check_in_days"] = "one or more whole days from 1 to 3650, such as 7, 30, 90"
    for name, low, high in (("look_back_days", 1, 365), ("hours_before", 0, 24 * 14), ("min_orders", 2, 1000),
                            ("give_up_after_intervals", 1, 100)):
        if name in settings_:
            value = settings_[name]
            if not isinstance(value, int | float) or isinstance(value, bool) or not low <= value <= high:
                errors[f"settings.{name}"] = f"a number from {low} to {high}"
    if errors:
        raise ValidationFailed(errors)


def run_rule(rule: FollowUpRule, *, now: dt.datetime | None = None) -> RuleResult:
    now = now or timezone.now()
    started = time.perf_counter()
    check_rule_settings(rule)
    result = RuleResult(kind=rule.kind)
    _create_missing(rule, RULES[rule.kind](rule, now), now, result)
    result.seconds = time.perf_counter() - started
    FollowUpRule.objects.filter(pk=rule.pk).update(last_run_at=now, last_created=result.created)
    return result


def run_follow_up_rules(*, now: dt.datetime | None = None, kinds: list[str] | None = None,
                        progress: Callable[[str, RuleResult], None] | None = None,
                        cadences: bool = True) -> RunSummary:
    """Run every enabled rule (or those named), then advance the cadences. Safe to run again."""
    from .cadences import advance_enrolments

    started = time.perf_counter()
    now = now or timezone.now()
    if kinds:
        unknown = sorted(set(kinds) - set(RULES))
        if unknown:
            raise ValidationFailed({"rule": f"unknown rule(s) {', '.join(unknown)}; choose from {', '.join(RULES)}"})
    summary = RunSummary()
    rules = FollowUpRule.objects.filter(enabled=True).order_by("id")
    if kinds:
        rules = rules.filter(kind__in=kinds)
    for rule in rules:
        result = run_rule(rule, now=now)
        summary.results.append(result)
        if progress:
            progress(rule.kind, result)
    if cadences and not kinds:
        advanced = advance_enrolments(now=now)
        summary.cadence_tasks, summary.cadences_stopped = advanced.tasks, advanced.stopped
    summary.seconds = time.perf_counter() - started
    return summary


RULE_FIELDS = ("enabled", "days", "settings", "priority")


def rule_update_errors(rule: FollowUpRule, data: dict[str, Any]) -> dict[str, str]:
    """Every reason `data` cannot be saved on the rule, by field (settings as "settings.<name>"),
    all at once so a form can show each next to its field. Changes nothing."""
    errors = {name: "unknown field" for name in set(data) - set(RULE_FIELDS)}
    if "priority" in data and data["priority"] not in TaskPriority.values:
        errors["priority"] = f"choose one of: {', '.join(TaskPriority.values)}"
    if "days" in data and (not isinstance(data["days"], int) or isinstance(data["days"], bool)
                           or not 0 <= data["days"] <= 3650):
        errors["days"] = "a whole number of days from 0 to 3650"
    if "settings" in data and not isinstance(data["settings"], dict):
        errors["settings"] = "an object of the rule's settings"
    if "enabled" in data and not isinstance(data["enabled"], bool):
        errors["enabled"] = "true or false"
    if isinstance(data.get("settings", {}), dict):
        try:
            check_rule_settings(FollowUpRule(kind=rule.kind, settings=data.get("settings", rule.settings)))
        except ValidationFailed as exc:
            errors.update(exc.errors)
    return errors


@transaction.atomic
def update_rule(*, actor, rule: FollowUpRule, data: dict[str, Any], source: str = "web") -> FollowUpRule:
    """An admin switches a rule on or off or tunes it; every value is checked before anything
    is saved (ValidationFailed names each field that is wrong), and the change is audited."""
    from rapport.core import audit
    from rapport.core.errors import NotAllowed
    from rapport.core.visibility import is_admin

    if not is_admin(actor):
        raise NotAllowed("only admins change follow-up rules")
    errors = rule_update_errors(rule, data)
    if errors:
        raise ValidationFailed(errors)
    audit.save_changes(actor=actor, instance=rule, values=data, fields=list(RULE_FIELDS), source=source)
    return rule
