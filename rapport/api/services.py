"""Creating and revoking personal API tokens.

A token is shown to its owner once, when it is made; only its SHA-256 hash is stored, so a
database leak does not leak working credentials. Tokens start with "rpt_" so a token pasted
into a chat, a repository or a log can be found by secret scanners and grep.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from rapport.core.errors import NotVisible, ValidationFailed

from .models import ApiToken

TOKEN_PREFIX = "rpt_"
# 32 random bytes = 43 URL-safe characters (256 bits), well past guessing.
TOKEN_BYTES = 32
VISIBLE_PREFIX_LENGTH = 12
NAME_LIMIT = 100
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    raw: str  # the only time the secret exists outside the client


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def create_token(*, actor, name: str) -> NewToken:
    """A new token for `actor` itself; users never mint tokens for others through this path."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed({"name": "give the token a name, e.g. the script or app that will use it"})
    if len(name) > NAME_LIMIT:
        raise ValidationFailed({"name": f"at most {NAME_LIMIT} characters"})
    raw = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    token = ApiToken.objects.create(
        user=actor, name=name, prefix=raw[:VISIBLE_PREFIX_LENGTH], token_hash=hash_token(raw)
    )
    return NewToken(token=token, raw=raw)


@transaction.atomic
def revoke_token(*, actor, token_id: int) -> ApiToken:
    """Revoke one of the actor's own tokens; another user's token is NotVisible (404)."""
    token = ApiToken.objects.select_for_update().filter(pk=token_id, user=actor).first()
    if token is None:
        raise NotVisible(f"token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def record_token_use(token: ApiToken) -> None:
    """Stamp `last_used_at`, at most once a minute per token.

    Recording every use would turn each API read into a write; a minute is precise enough for
    "last used" and for spotting forgotten tokens.
    """
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
