"""Idempotency keys for creating leads over the API.

A client that did not hear back (a timeout, a dropped connection) sends the same request again
with the same `Idempotency-Key`; it must get the first answer, not a second lead. The key is the
client's, so keys are kept per user: two clients picking the same key never see each other's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from rapport.core.errors import ValidationFailed

from ..models import LeadRequestKey

# After this long a key may be used again for a new request (clients retry within minutes).
KEY_LIFETIME = dt.timedelta(hours=24)
MAX_KEY_LENGTH = 255


class KeyReused(Exception):
    """The key was used before for a different request (or one still being answered)."""


@dataclass
class Reply:
    status: int
    body: Any
    replayed: bool


def body_fingerprint(body: bytes) -> str:
    """The same JSON with other spacing or key order is the same request."""
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body or b""
    return hashlib.sha256(canonical).hexdigest()


def clean_key(raw: str | None) -> str | None:
    if raw is None:
        return None
    key = raw.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationFailed({"Idempotency-Key": f"a key is 1 to {MAX_KEY_LENGTH} printable characters"})
    return key


def once(*, user, key: str | None, endpoint: str, body: bytes, answer: Callable[[], tuple[int, Any]]) -> Reply:
    """Run `answer()` (returning status and JSON body) once per (user, key); replay it afterwards.

    The key is written in the same transaction as the lead: if the request fails, neither stays,
    and the corrected request may reuse the key.
    """
    if key is None:
        status, payload = answer()
        return Reply(status, payload, replayed=False)
    fingerprint = body_fingerprint(body)
    with transaction.atomic():
        LeadRequestKey.objects.filter(user=user, key=key, created_at__lt=timezone.now() - KEY_LIFETIME).delete()
        try:
            with transaction.atomic():
                record = LeadRequestKey.objects.create(user=user, key=key, endpoint=endpoint, body_hash=fingerprint,
                                                       status_code=0)
        except IntegrityError:
            record = LeadRequestKey.objects.filter(user=user, key=key).first()
            if record is None or record.endpoint != endpoint or record.body_hash != fingerprint:
                raise KeyReused("this Idempotency-Key was already used for a different request; "
                                "use a new key for a new request") from None
            if record.status_code == 0:
                raise KeyReused("a request with this Idempotency-Key is still being answered; retry shortly") from None
            return Reply(record.status_code, record.response, replayed=True)
        status, payload = answer()
        record.status_code, record.response = status, payload
        record.save(update_fields=["status_code", "response"])
        return Reply(status, payload, replayed=False)
