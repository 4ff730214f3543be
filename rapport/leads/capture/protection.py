"""Keeping robots and floods out of public forms without bothering people.

- a honeypot field people never see (robots fill every field they find);
- a signed start time: a form sent sooner than a person could type is refused, and one opened
  long ago gets a fresh start (the visitor's values are kept either way);
- a per-address rate limit;
- size limits on the whole post and on the number of fields.

Settings (with these defaults): RAPPORT_FORM_MIN_SECONDS = 3, RAPPORT_FORM_RATE_LIMIT = 10
submissions per RAPPORT_FORM_RATE_WINDOW = 600 seconds per address, RAPPORT_FORM_MAX_BYTES = 32 KB.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core import signing
from django.core.cache import cache

START_SALT = "rapport.leads.form-start"
MAX_OPEN_SECONDS = 24 * 3600
MAX_FIELDS = 60


def min_seconds() -> float:
    return float(getattr(settings, "RAPPORT_FORM_MIN_SECONDS", 3))


def max_bytes() -> int:
    return int(getattr(settings, "RAPPORT_FORM_MAX_BYTES", 32 * 1024))


def start_token(slug: str) -> str:
    """A token saying "the form `slug` was shown at this time", which only this server can make."""
    return signing.dumps({"f": slug, "t": time.time()}, salt=START_SALT, compress=False)


def check_start(token: str, slug: str) -> str | None:
    """None when the form was open long enough, else the reason to show the visitor."""
    try:
        data = signing.loads(token or "", salt=START_SALT, max_age=MAX_OPEN_SECONDS)
    except signing.SignatureExpired:
        return "This form was open for a long time; please check your details and send it again."
    except signing.BadSignature:
        return "Please check your details and send the form again."
    if not isinstance(data, dict) or data.get("f") != slug or not isinstance(data.get("t"), int | float):
        return "Please check your details and send the form again."
    if time.time() - data["t"] < min_seconds():
        return "That was quicker than we expected; please check your details and send the form again."
    return None


def client_address(request) -> str:
    # Behind a reverse proxy REMOTE_ADDR is the proxy's; deployments set it from the proxy's
    # header in the proxy or WSGI server (docs/deployment.md), not by trusting X-Forwarded-For here.
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def over_rate_limit(address: str) -> bool:
    """Count this attempt; True when the address has sent too many in the window."""
    limit = int(getattr(settings, "RAPPORT_FORM_RATE_LIMIT", 10))
    window = int(getattr(settings, "RAPPORT_FORM_RATE_WINDOW", 600))
    key = f"rapport:form-rate:{int(time.time() // window)}:{address}"
    if cache.add(key, 1, timeout=window):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window)
            count = 1
    return count > limit


def too_large(request) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True
    return length > max_bytes()
