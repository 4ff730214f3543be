"""The follow-up rules page's "Run now": queue a run for the background worker, and the worker's
side of it (mark the run running, run the rules, store what they made or why they failed).

A run of every rule reads every open deal, order and lead and may take minutes on a big
database, so it never runs inside a web request: `request_rule_run` makes a `FollowUpRun` row
and queues `run_follow_up_rules_task` for it once the transaction commits, as the scores
refresh does. One run at a time: running the rules twice at once would make nothing twice (the
rules are idempotent) but would only double the work.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from rapport.core.audit import audit
from rapport.core.errors import NotAllowed, ValidationFailed
from rapport.core.models import AuditAction
from rapport.core.visibility import is_admin

from ..models import FollowUpRule, FollowUpRun, RuleRunStatus
from .rules import RULES, run_follow_up_rules

logger = logging.getLogger(__name__)

# A run still queued or running after this long is taken to have lost its worker (stopped, or
# never started) and no longer holds back a new one. The benchmark's full run over a million
# contacts takes about a minute.
STALE_AFTER = dt.timedelta(hours=1)


def busy_run() -> FollowUpRun | None:
    """The run that is queued or running now, if any."""
    recent = timezone.now() - STALE_AFTER
    return (FollowUpRun.objects.filter(status__in=(RuleRunStatus.QUEUED, RuleRunStatus.RUNNING),
                                       requested_at__gte=recent)
            .select_related("requested_by").order_by("-id").first())


def request_rule_run(*, actor, kind: str = "", source: str = "web") -> FollowUpRun:
    """Queue a run of one rule (`kind`) or of every enabled rule and the cadences (no kind).

    Admins only. Refused with the reason (ValidationFailed on "run") for an unknown rule, a rule
    that is switched off (a run only runs rules that are on), or while another run is queued or
    running.
    """
    if not is_admin(actor):
        raise NotAllowed("only admins run the follow-up rules")
    from ..follow_up_jobs import run_follow_up_rules_task

    if kind:
        if kind not in RULES:
            raise ValidationFailed({"run": f"unknown rule {kind!r}; choose from {', '.join(RULES)}"})
        rule = FollowUpRule.objects.filter(kind=kind).first()
        if rule is None or not rule.enabled:
            raise ValidationFailed({"run": "this rule is switched off: switch it on and save before running it"})
    with transaction.atomic():
        # Two admins pressing in the same instant may both get through: harmless, as the second
        # run finds every task already made.
        busy = busy_run()
        if busy is not None:
            what = "a run of every rule" if not busy.kind else "a run of one rule"
            raise ValidationFailed({"run": f"{what} is already {busy.status} (since "
                                           f"{busy.requested_at:%Y-%m-%d %H:%M} UTC); wait for it to finish"})
        run = FollowUpRun.objects.create(kind=kind, requested_by=actor)
        audit(actor=actor, action=AuditAction.CREATE, instance=run,
              changes={"status": [None, RuleRunStatus.QUEUED], "kind": [None, kind or "all"]}, source=source)
        transaction.on_commit(lambda: run_follow_up_rules_task.enqueue(run_id=run.pk))
    return run


def carry_out_run(run_id: int) -> FollowUpRun | None:
    """The worker's side: run what was asked and keep the outcome on the row for the page.
    A run that is no longer queued (already done, or taken by another worker) is left alone."""
    started = timezone.now()
    taken = FollowUpRun.objects.filter(pk=run_id, status=RuleRunStatus.QUEUED).update(
        status=RuleRunStatus.RUNNING, started_at=started)
    if not taken:
        return None
    run = FollowUpRun.objects.get(pk=run_id)
    try:
        summary = run_follow_up_rules(kinds=[run.kind] if run.kind else None, now=started)
    except Exception as exc:  # the page must say what happened, whatever it was
        logger.exception("follow-up run %s failed", run_id)
        reason = "; ".join(f"{k}: {v}" for k, v in exc.errors.items()) if isinstance(exc, ValidationFailed) \
            else (str(exc) or exc.__class__.__name__)
        FollowUpRun.objects.filter(pk=run_id).update(status=RuleRunStatus.FAILED, finished_at=timezone.now(),
                                                     error=reason[:2000])
        raise
    results = {r.kind: r.created for r in summary.results}
    if not run.kind:
        results["cadences"] = summary.cadence_tasks
    FollowUpRun.objects.filter(pk=run_id).update(status=RuleRunStatus.DONE, finished_at=timezone.now(),
                                                 created=summary.created, results=results)
    run.refresh_from_db()
    return run
