"""Reads of the follow-up rules page: the rules (admins only), what each does in plain words,
and the runs asked for with "Run now"."""

from __future__ import annotations

from rapport.core.errors import NotAllowed, NotVisible, ValidationFailed
from rapport.core.visibility import is_admin

from ..models import FollowUpRule, FollowUpRun, RuleKind
from ..services.rule_runs import busy_run
from ..services.rules import check_rule_settings, setting_of


def _check_admin(user) -> None:
    if not is_admin(user):
        raise NotAllowed("only admins see and change the follow-up rules")


def rules_for(user) -> list[FollowUpRule]:
    """Every rule, in the order they were shipped. Admins only (NotAllowed otherwise)."""
    _check_admin(user)
    return list(FollowUpRule.objects.order_by("id"))


def rule_for(user, rule_id: int) -> FollowUpRule:
    _check_admin(user)
    rule = FollowUpRule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise NotVisible("no such follow-up rule")
    return rule


def run_status(user) -> dict:
    """The run queued or running now (`busy`), else the latest one asked for (`latest`), with
    what it ran and, once done, the tasks each rule made (`latest_results`, label and count)."""
    _check_admin(user)
    busy = busy_run()
    latest = busy or FollowUpRun.objects.select_related("requested_by").order_by("-id").first()
    labels = {**dict(RuleKind.choices), "cadences": "Cadence steps"}
    results = [(labels.get(kind, kind), count) for kind, count in (latest.results if latest else {}).items()]
    return {"busy": busy, "latest": latest, "latest_results": results,
            "latest_label": labels.get(latest.kind, latest.kind) if latest and latest.kind else ""}


def _days(n: int) -> str:
    return f"{n} day{'' if n == 1 else 's'}"


def _number(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _listing(values: list) -> str:
    words = [str(v) for v in values]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def describe_rule(rule: FollowUpRule) -> str:
    """What the rule does, with its N and settings filled in, as an admin would say it. Settings
    stored behind the service's back that a run would refuse are named instead."""
    try:
        check_rule_settings(rule)
    except ValidationFailed as exc:
        wrong = "; ".join(f"{k.removeprefix('settings.').replace('_', ' ')}: {v}" for k, v in exc.errors.items())
        return f"This rule cannot run until its settings are corrected below ({wrong})."
    n = rule.days
    if rule.kind == RuleKind.AFTER_MEETING:
        return (f"After a meeting is logged, whoever logged it gets a “Follow up” task due {_days(n)} later. "
                f"Only meetings of the last {_days(int(setting_of(rule, 'look_back_days')))} count, so switching "
                "the rule on does not bring back old meetings.")
    if rule.kind == RuleKind.STALLED_DEAL:
        return (f"An open deal with no activity for {_days(n)} gets a “Revive the deal” task for its owner, due "
                f"the day the rule notices. New activity followed by another {_days(n)} of silence makes a new task.")
    if rule.kind == RuleKind.NEW_CUSTOMER:
        offsets = sorted({int(d) for d in setting_of(rule, "check_in_days")})
        return (f"A new customer's owner gets a check-in {_listing(offsets)} days after the customer's first "
                f"purchase. A check-in a run missed is still made up to {_days(max(n, 1))} late.")
    if rule.kind == RuleKind.PURCHASE_INTERVAL:
        orders = setting_of(rule, "min_orders")
        give_up = _number(setting_of(rule, "give_up_after_intervals"))
        return (f"A customer with at least {orders} orders whose next purchase is more than {_days(n)} overdue, "
                "going by how often they usually buy, gets a “Check in” task for their owner. After "
                f"{give_up} usual intervals without a purchase the rule stops asking: by then they count as "
                "at risk on the customer health list.")
    if rule.kind == RuleKind.LEAD_SLA:
        hours = _number(setting_of(rule, "hours_before"))
        return (f"An open lead nobody has answered gets a high-priority “Respond” task for its owner "
                f"{hours} hour{'' if hours == '1' else 's'} before its first-response deadline, due at the "
                "deadline (at once if the deadline passed in the last 7 days).")
    return "A rule of a kind this version of Rapport does not know; it cannot run."
