"""Background work of the follow-up rules: the worker runs every rule and advances cadences.

Enqueue it from cron or a systemd timer with `rapport assistant rules --enqueue` (or run it in
place without --enqueue), as the insights refresh is scheduled (docs/deployment.md). The follow-up
rules page's "Run now" queues it with the id of the `FollowUpRun` the page shows.
"""

from __future__ import annotations

from django_tasks import task


@task()
def run_follow_up_rules_task(run_id: int | None = None) -> dict:
    if run_id is not None:
        from .services.rule_runs import carry_out_run

        run = carry_out_run(run_id)
        if run is None:
            return {"run": run_id, "skipped": "not queued (already run, or removed)"}
        return {"run": run.pk, "created": run.created, "rules": run.results}

    from .services.rules import run_follow_up_rules

    summary = run_follow_up_rules()
    return {"created": summary.created, "seconds": round(summary.seconds, 2),
            "rules": {r.kind: r.created for r in summary.results}, "cadence_tasks": summary.cadence_tasks,
            "cadences_stopped": summary.cadences_stopped}
