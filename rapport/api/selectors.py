"""Reads of API tokens: the owner's list, and resolving a presented token to its user."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import ApiToken
from .services import TOKEN_PREFIX, hash_token


def tokens_of(user) -> QuerySet[ApiToken]:
    """The user's own tokens, newest first (revoked ones too, so the list explains itself)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def live_token(raw: str) -> ApiToken | None:
    """The live token matching `raw` (with its user), or None for unknown, revoked or inactive."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = (ApiToken.objects.select_related("user")
             .filter(token_hash=hash_token(raw), revoked_at__isnull=True).first())
    if token is None or not token.user.is_active:
        return None
    return token
