"""Reads of core records: audit history, users and teams."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from .audit import record_label
from .models import AuditEntry
from .visibility import profile_of, visibility_of


def audit_history(record, *, limit: int = 100) -> list[AuditEntry]:
    """The audit entries of a record the caller already fetched through a selector taking the user."""
    return list(
        AuditEntry.objects.filter(record_type=record_label(record), record_id=record.pk)
        .select_related("actor").order_by("-at", "-id")[:limit]
    )


def assignable_users(user) -> QuerySet:
    """Users the acting user may give records to (see visibility.may_assign_owner)."""
    users = get_user_model().objects.filter(is_active=True).order_by("first_name", "last_name", "username")
    scope = visibility_of(user)
    profile = profile_of(user)
    if user.is_superuser or profile.role == "admin":
        return users
    if profile.role == "manager" and profile.team_id:
        return users.filter(profile__team_id=profile.team_id)
    return users.filter(pk=user.pk) if scope != "none" else users.none()


def visible_users(user) -> QuerySet:
    """Users shown in owner filters: everyone for all-scope roles, else the user's team."""
    users = get_user_model().objects.filter(is_active=True).order_by("first_name", "last_name", "username")
    scope = visibility_of(user)
    if scope == "all":
        return users
    team_id = profile_of(user).team_id
    if scope == "team" and team_id:
        return users.filter(profile__team_id=team_id)
    return users.filter(pk=user.pk)
