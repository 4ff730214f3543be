"""Admins shape the sales process: pipelines, their stages and the lists of close reasons.

Deals point at stages by id, so renaming and reordering never touch a deal. A stage that
still holds deals (open or closed) cannot be removed: its deals would lose their history.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from rapport.core import audit
from rapport.core.errors import NotAllowed, ValidationFailed
from rapport.core.models import AuditAction
from rapport.core.visibility import is_admin

from ..models import CloseReason, Deal, DealStatus, Pipeline, PipelineKind, Stage

PIPELINE_FIELDS = ["name", "kind", "position", "stall_days"]
STAGE_FIELDS = ["pipeline", "name", "position", "probability"]


def _require_admin(actor) -> None:
    if not is_admin(actor):
        raise NotAllowed("only an admin may change pipelines, stages and close reasons")


def _clean_pipeline(data: dict[str, Any], *, instance: Pipeline | None = None) -> dict[str, Any]:
    errors: dict[str, str] = {name: "unknown field" for name in set(data) - {"name", "kind", "stall_days"}}
    cleaned: dict[str, Any] = {}
    if "name" in data or instance is None:
        name = str(data.get("name") or "").strip()
        if not name:
            errors["name"] = "give the pipeline a name"
        elif len(name) > 100:
            errors["name"] = "at most 100 characters"
        elif Pipeline.objects.filter(name__iexact=name, deleted_at__isnull=True).exclude(
                pk=instance.pk if instance else None).exists():
            errors["name"] = "another pipeline has this name"
        cleaned["name"] = name
    if "kind" in data:
        if data["kind"] not in PipelineKind.values:
            errors["kind"] = f"choose one of: {', '.join(PipelineKind.values)}"
        cleaned["kind"] = data["kind"]
    if "stall_days" in data:
        try:
            days = int(data["stall_days"])
            if not 1 <= days <= 365:
                raise ValueError
            cleaned["stall_days"] = days
        except (TypeError, ValueError):
            errors["stall_days"] = "a whole number of days from 1 to 365"
    if errors:
        raise ValidationFailed(errors)
    return cleaned


@transaction.atomic
def create_pipeline(*, actor, data: dict[str, Any], stages: list[dict[str, Any]] | None = None,
                    source: str = "web") -> Pipeline:
    """A new pipeline, last in the order, with the given stages (name, probability)."""
    _require_admin(actor)
    cleaned = _clean_pipeline(data)
    position = (Pipeline.objects.aggregate(m=Max("position"))["m"] or 0) + 1
    pipeline = Pipeline.objects.create(created_by=actor, position=position, **cleaned)
    audit.audit_created(actor=actor, instance=pipeline, fields=PIPELINE_FIELDS, source=source)
    for stage in stages or []:
        add_stage(actor=actor, pipeline=pipeline, data=stage, source=source)
    return pipeline


@transaction.atomic
def update_pipeline(*, actor, pipeline: Pipeline, data: dict[str, Any], source: str = "web") -> Pipeline:
    _require_admin(actor)
    cleaned = _clean_pipeline(data, instance=pipeline)
    before = audit.snapshot(pipeline, PIPELINE_FIELDS)
    for name, value in cleaned.items():
        setattr(pipeline, name, value)
    pipeline.updated_at = timezone.now()
    pipeline.save()
    changes = audit.changes_between(before, audit.snapshot(pipeline, PIPELINE_FIELDS))
    if changes:
        audit.audit(actor=actor, action=AuditAction.UPDATE, instance=pipeline, changes=changes, source=source)
    return pipeline


@transaction.atomic
def delete_pipeline(*, actor, pipeline: Pipeline, source: str = "web") -> Pipeline:
    """Only an empty pipeline (no live deals) may go; its stages stay for the history."""
    _require_admin(actor)
    if Deal.objects.filter(pipeline=pipeline, deleted_at__isnull=True).exists():
        raise ValidationFailed({"pipeline": "move or close this pipeline's deals before removing it"})
    pipeline.deleted_at = timezone.now()
    pipeline.save(update_fields=["deleted_at"])
    audit.audit(actor=actor, action=AuditAction.DELETE, instance=pipeline, source=source)
    return pipeline


def _clean_stage(data: dict[str, Any], *, pipeline: Pipeline, instance: Stage | None = None) -> dict[str, Any]:
    errors: dict[str, str] = {name: "unknown field" for name in set(data) - {"name", "probability"}}
    cleaned: dict[str, Any] = {}
    if "name" in data or instance is None:
        name = str(data.get("name") or "").strip()
        if not name:
            errors["name"] = "give the stage a name"
        elif len(name) > 100:
            errors["name"] = "at most 100 characters"
        elif Stage.objects.filter(pipeline=pipeline, name__iexact=name).exclude(
                pk=instance.pk if instance else None).exists():
            errors["name"] = "this pipeline already has a stage with this name"
        cleaned["name"] = name
    if "probability" in data or instance is None:
        try:
            probability = int(data.get("probability", 10))
            if not 0 <= probability <= 100:
                raise ValueError
            cleaned["probability"] = probability
        except (TypeError, ValueError):
            errors["probability"] = "a percentage from 0 to 100"
    if errors:
        raise ValidationFailed(errors)
    return cleaned


@transaction.atomic
def add_stage(*, actor, pipeline: Pipeline, data: dict[str, Any], source: str = "web") -> Stage:
    _require_admin(actor)
    cleaned = _clean_stage(data, pipeline=pipeline)
    position = (Stage.objects.filter(pipeline=pipeline).aggregate(m=Max("position"))["m"] or -1) + 1
    stage = Stage.objects.create(pipeline=pipeline, position=position, **cleaned)
    audit.audit_created(actor=actor, instance=stage, fields=STAGE_FIELDS, source=source)
    return stage


@transaction.atomic
def update_stage(*, actor, stage: Stage, data: dict[str, Any], source: str = "web") -> Stage:
    """Rename a stage or change its default probability; its deals stay where they are."""
    _require_admin(actor)
    cleaned = _clean_stage(data, pipeline=stage.pipeline, instance=stage)
    before = audit.snapshot(stage, STAGE_FIELDS)
    for name, value in cleaned.items():
        setattr(stage, name, value)
    stage.save()
    changes = audit.changes_between(before, audit.snapshot(stage, STAGE_FIELDS))
    if changes:
        audit.audit(actor=actor, action=AuditAction.UPDATE, instance=stage, changes=changes, source=source)
    return stage


@transaction.atomic
def reorder_stages(*, actor, pipeline: Pipeline, stage_ids: list[int], source: str = "web") -> list[Stage]:
    """Put a pipeline's stages in the given order; the list must name each stage exactly once."""
    _require_admin(actor)
    stages = {s.pk: s for s in Stage.objects.filter(pipeline=pipeline)}
    try:
        wanted = [int(i) for i in stage_ids]
    except (TypeError, ValueError) as exc:
        raise ValidationFailed({"stages": "list the stage ids"}) from exc
    if sorted(wanted) != sorted(stages):
        raise ValidationFailed({"stages": "name every stage of this pipeline exactly once"})
    before = [s.pk for s in sorted(stages.values(), key=lambda s: (s.position, s.pk))]
    for position, stage_id in enumerate(wanted):
        stages[stage_id].position = position
    Stage.objects.bulk_update(stages.values(), ["position"])
    if before != wanted:
        audit.audit(actor=actor, action=AuditAction.UPDATE, instance=pipeline, source=source,
                    changes={"stage_order": [before, wanted]})
    return [stages[i] for i in wanted]


@transaction.atomic
def remove_stage(*, actor, stage: Stage, source: str = "web") -> None:
    _require_admin(actor)
    if Deal.objects.filter(stage=stage).exists():
        count = Deal.objects.filter(stage=stage, status=DealStatus.OPEN, deleted_at__isnull=True).count()
        raise ValidationFailed({"stage": f"{count} open deal(s) and closed deals' history use this stage; "
                                         "move the open ones and keep the stage"})
    if Stage.objects.filter(pipeline=stage.pipeline).count() == 1:
        raise ValidationFailed({"stage": "a pipeline needs at least one stage"})
    audit.audit(actor=actor, action=AuditAction.DELETE, instance=stage, source=source,
                changes={"name": [stage.name, None]})
    stage.delete()


@transaction.atomic
def save_close_reason(*, actor, data: dict[str, Any], reason: CloseReason | None = None,
                      source: str = "web") -> CloseReason:
    """Add or change a won/lost reason; retiring one (active=False) keeps it on closed deals."""
    _require_admin(actor)
    errors: dict[str, str] = {}
    label = str(data.get("label", reason.label if reason else "") or "").strip()
    outcome = data.get("outcome", reason.outcome if reason else None)
    if outcome not in (DealStatus.WON, DealStatus.LOST):
        errors["outcome"] = "choose won or lost"
    if not label:
        errors["label"] = "write the reason"
    elif len(label) > 120:
        errors["label"] = "at most 120 characters"
    elif CloseReason.objects.filter(outcome=outcome, label__iexact=label).exclude(
            pk=reason.pk if reason else None).exists():
        errors["label"] = "this reason is already on the list"
    if errors:
        raise ValidationFailed(errors)
    fields = ["outcome", "label", "active"]
    if reason is None:
        reason = CloseReason.objects.create(outcome=outcome, label=label, active=bool(data.get("active", True)),
                                            position=CloseReason.objects.filter(outcome=outcome).count())
        audit.audit_created(actor=actor, instance=reason, fields=fields, source=source)
        return reason
    before = audit.snapshot(reason, fields)
    reason.outcome, reason.label = outcome, label
    if "active" in data:
        reason.active = bool(data["active"])
    reason.save()
    audit.audit(actor=actor, action=AuditAction.UPDATE, instance=reason, source=source,
                changes=audit.changes_between(before, audit.snapshot(reason, fields)))
    return reason
