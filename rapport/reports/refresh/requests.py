"""The "Refresh now" button: queue a refresh for the background worker."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from rapport.core.audit import audit
from rapport.core.errors import NotAllowed, ValidationFailed
from rapport.core.models import AuditAction
from rapport.core.visibility import is_admin
from rapport.insights import MODEL_VERSION
from rapport.reports.models import ModelRun

# A run queued or running for longer than this is taken to have died with its worker and no
# longer blocks a new request.
STALE_AFTER = dt.timedelta(hours=6)


def busy_run() -> ModelRun | None:
    """The refresh that is queued or running now, if any."""
    recent = timezone.now() - STALE_AFTER
    return ModelRun.objects.filter(status__in=("queued", "running"), started_at__gte=recent).order_by("-id").first()


def request_refresh(*, actor, source: str = "web") -> ModelRun:
    """Queue a refresh of every score as of today.

    Only admins may: a refresh rewrites every customer's scores and keeps the worker busy for
    minutes on a big database. One at a time: while one is queued or running, another request
    is refused with the reason (ValidationFailed on "refresh").
    """
    if not is_admin(actor):
        raise NotAllowed("only admins can refresh the scores")
    from rapport.reports.tasks import refresh_scores_task

    with transaction.atomic():
        busy = busy_run()
        if busy is not None:
            raise ValidationFailed({"refresh": f"a refresh is already {busy.status} (since "
                                               f"{busy.started_at:%Y-%m-%d %H:%M} UTC); wait for it to finish"})
        run = ModelRun.objects.create(as_of=timezone.now().astimezone(dt.UTC).date(), engine_version=MODEL_VERSION,
                                      status="queued", requested_by=actor)
        audit(actor=actor, action=AuditAction.CREATE, instance=run, changes={"status": [None, "queued"]},
              source=source)
        transaction.on_commit(lambda: refresh_scores_task.enqueue(run.pk))
    return run
