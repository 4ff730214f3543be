"""A user's private calendar feed (secret URL, revocable) and their mail preferences."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from rapport.core import audit
from rapport.core.errors import NotVisible, ValidationFailed
from rapport.core.models import AuditAction

from ..models import CalendarFeedToken, MailPreferences
from ..selectors.meetings import hash_feed_secret

PREFERENCES = ("task_reminders", "daily_digest")


@transaction.atomic
def create_feed_token(*, actor, source: str = "web") -> tuple[CalendarFeedToken, str]:
    """A new feed secret for the actor. The raw secret is returned once, to show in the URL;
    only its hash is kept. Older feeds keep working until revoked."""
    raw = secrets.token_urlsafe(32)
    token = CalendarFeedToken.objects.create(user=actor, token_hash=hash_feed_secret(raw), prefix=raw[:8])
    audit.audit(actor=actor, action=AuditAction.CREATE, instance=token, source=source,
                changes={"prefix": [None, token.prefix]})
    return token, raw


@transaction.atomic
def revoke_feed_token(*, actor, token_id: int, source: str = "web") -> CalendarFeedToken:
    """Stop a feed URL working at once. Only the feed's owner may revoke it."""
    token = CalendarFeedToken.objects.select_for_update().filter(pk=token_id, user=actor).first()
    if token is None:
        raise NotVisible(f"calendar feed {token_id}")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.audit(actor=actor, action=AuditAction.UPDATE, instance=token, source=source,
                    changes={"revoked_at": [None, token.revoked_at.isoformat()]})
    return token


def note_feed_read(token: CalendarFeedToken) -> None:
    # At most one write an hour per feed: calendar clients poll often.
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 3600:
        CalendarFeedToken.objects.filter(pk=token.pk).update(last_used_at=now)


@transaction.atomic
def set_mail_preferences(*, actor, data: dict[str, Any], source: str = "web") -> MailPreferences:
    """Turn task reminders and the daily digest on or off for the actor."""
    errors = {name: "unknown field" for name in set(data) - set(PREFERENCES)}
    for name in PREFERENCES:
        if name in data and not isinstance(data[name], bool):
            errors[name] = "true or false"
    if errors:
        raise ValidationFailed(errors)
    preferences, _ = MailPreferences.objects.select_for_update().get_or_create(user=actor)
    changes = {}
    for name in PREFERENCES:
        if name in data and getattr(preferences, name) != data[name]:
            changes[name] = [getattr(preferences, name), data[name]]
            setattr(preferences, name, data[name])
    if changes:
        preferences.updated_at = timezone.now()
        preferences.save()
        audit.audit(actor=actor, action=AuditAction.UPDATE, instance=preferences, changes=changes, source=source)
    return preferences
