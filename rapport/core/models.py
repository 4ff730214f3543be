"""Users' roles and teams, the audit log and the mixins every user-edited record shares."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    SELLER = "seller", "Seller"
    MARKETER = "marketer", "Marketer"
    SERVICE = "service", "Service agent"


class Visibility(models.TextChoices):
    OWN = "own", "Own records"
    TEAM = "team", "Team's records"
    ALL = "all", "All records"


class Team(models.Model):
    name = models.CharField(max_length=120, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Profile(models.Model):
    """What Rapport knows about a user beyond Django's auth: role, team and time zone."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.SELLER)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    time_zone = models.CharField(max_length=64, default="UTC")

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"

    @property
    def visibility(self) -> str:
        if self.user.is_superuser:
            return Visibility.ALL
        return settings.RAPPORT_ROLE_VISIBILITY.get(self.role, Visibility.OWN)


class TrackedModel(models.Model):
    """Base for every record a user edits: who made it, when, and a soft delete with restore."""

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class AuditAction(models.TextChoices):
    CREATE = "create", "Created"
    UPDATE = "update", "Updated"
    DELETE = "delete", "Deleted"
    RESTORE = "restore", "Restored"


class AuditEntry(models.Model):
    """Who changed which record, when, and each field's old and new value. Append-only."""

    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=10, choices=AuditAction.choices)
    record_type = models.CharField(max_length=60)
    record_id = models.BigIntegerField()
    changes = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=30, default="web", help_text="web, api, import, cli, system")

    class Meta:
        indexes = [models.Index(fields=["record_type", "record_id", "at"], name="audit_record_idx")]
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.action} {self.record_type}#{self.record_id}"
