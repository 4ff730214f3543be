"""Writing audit entries. Services call these inside their transaction, never views."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import models

from .models import AuditAction, AuditEntry


def plain(value: Any) -> Any:
    """A JSON-safe rendering of a field value for the audit log."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def snapshot(instance: models.Model, fields: list[str]) -> dict[str, Any]:
    """Field values as stored (foreign keys as their ids) so two snapshots can be compared."""
    data = {}
    for name in fields:
        field = instance._meta.get_field(name)
        attname = getattr(field, "attname", name)
        data[name] = plain(getattr(instance, attname))
    return data


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}


def record_label(instance: models.Model) -> str:
    return instance._meta.label_lower


def audit(
    *,
    actor,
    action: str,
    instance: models.Model,
    changes: dict[str, Any] | None = None,
    source: str = "web",
) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        record_type=record_label(instance),
        record_id=instance.pk,
        changes=changes or {},
        source=source,
    )


def audit_created(*, actor, instance: models.Model, fields: list[str], source: str = "web") -> AuditEntry:
    after = snapshot(instance, fields)
    return audit(
        actor=actor,
        action=AuditAction.CREATE,
        instance=instance,
        changes={k: [None, v] for k, v in after.items() if v not in (None, "", [], {})},
        source=source,
    )


def save_changes(*, actor, instance: models.Model, values: dict[str, Any], fields: list[str],
                 source: str = "web") -> dict[str, list[Any]]:
    """Apply already-validated `values` to `instance`, stamp `updated_at`, save it, and write one
    update entry with what really changed (none when nothing did). Returns those changes."""
    from django.utils import timezone

    before = snapshot(instance, fields)
    for name, value in values.items():
        setattr(instance, name, value)
    instance.updated_at = timezone.now()
    instance.save()
    changes = changes_between(before, snapshot(instance, fields))
    if changes:
        audit(actor=actor, action=AuditAction.UPDATE, instance=instance, changes=changes, source=source)
    return changes
