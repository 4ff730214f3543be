"""Background imports: big files run in the task worker while the progress page polls."""

from __future__ import annotations

from django_tasks import task


@task()
def run_import_job(job_id: int) -> dict:
    from .jobs import run_job

    return run_job(job_id).as_dict()
