"""Background work of the reports app: the insights refresh, off the web request."""

from __future__ import annotations

from django_tasks import task


@task()
def refresh_scores_task(run_id: int | None = None) -> dict:
    """Run a refresh as of today: the run an admin queued ("Refresh now"), or a new one."""
    from .models import ModelRun
    from .refresh import refresh_scores

    run = None
    if run_id is not None:
        run = ModelRun.objects.filter(pk=run_id).first()
        if run is None or run.status != "queued":
            return {"run": run_id, "skipped": "not queued (already run, or removed)"}
    run = refresh_scores(run=run)
    return {"run": run.pk, "status": run.status, "customers": run.customers, "companies": run.companies,
            "seconds": run.seconds}
