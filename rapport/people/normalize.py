"""Normalising what people type: e-mail addresses, phone numbers, web domains, stage names.

Each function returns the stored form or raises `InvalidValue` with a reason a user can act on.
The importer, the forms and the API all use these, so a value is judged the same way everywhere.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from django.conf import settings

from .models import LifecycleStage


class InvalidValue(ValueError):
    pass


# Pragmatic address syntax: one @, a dot-atom local part, a domain with a dot and a 2+ letter TLD.
EMAIL_RE = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
DOMAIN_RE = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def normalize_email(value: str) -> str:
    email = (value or "").strip()
    if not email:
        raise InvalidValue("an e-mail address is required")
    if len(email) > 254:
        raise InvalidValue("an e-mail address has at most 254 characters")
    if not EMAIL_RE.match(email):
        raise InvalidValue(f"'{email}' is not a valid e-mail address")
    # Domains are case-insensitive; nearly every mail server treats the local part the same way,
    # and duplicates that differ only in case are the commonest CRM mess.
    return email.lower()


@lru_cache(maxsize=65536)
def _parse_phone(raw: str, region: str) -> str:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidValue(f"'{raw}' is not a phone number") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidValue(f"'{raw}' is not a possible phone number for its country")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_phone(value: str, region: str | None = None) -> str:
    """E.164 form (+14155550123). Numbers without a country code are read in `region`."""
    raw = (value or "").strip()
    if not raw:
        return ""
    return _parse_phone(raw, (region or settings.RAPPORT_DEFAULT_PHONE_REGION).upper())


def normalize_domain(value: str) -> str:
    domain = (value or "").strip().lower()
    if not domain:
        return ""
    domain = re.sub(r"^[a-z]+://", "", domain).split("/")[0].split(":")[0]
    if domain.startswith("www."):
        domain = domain[4:]
    if not DOMAIN_RE.match(domain):
        raise InvalidValue(f"'{value}' is not a web domain")
    return domain


_STAGE_WORDS = {}
for _stage in LifecycleStage:
    for _word in (_stage.value, _stage.label):
        _STAGE_WORDS[re.sub(r"[^a-z]", "", _word.lower())] = _stage.value
_STAGE_WORDS.update({"mql": "marketing_qualified", "sql": "sales_qualified", "evangelist": "advocate",
                     "marketingqualifiedlead": "marketing_qualified", "salesqualifiedlead": "sales_qualified",
                     "other": None, "former": "former_customer", "churned": "former_customer"})


def normalize_stage(value: str) -> str:
    """Accepts our codes, our labels and the names common CRM exports use ("MQL", "Evangelist")."""
    key = re.sub(r"[^a-z]", "", (value or "").lower())
    stage = _STAGE_WORDS.get(key)
    if not stage:
        allowed = ", ".join(s.value for s in LifecycleStage)
        raise InvalidValue(f"'{value}' is not a lifecycle stage (use one of: {allowed})")
    return stage


def name_key(first: str, last: str) -> str:
    return f"{first} {last}".strip().lower()[:201]


def prefix_range(prefix: str) -> tuple[str, str]:
    """[prefix, upper) such that every string starting with prefix falls in the range.

    A range on an indexed column is the one prefix search every database answers from its
    B-tree index, whatever its collation or LIKE rules.
    """
    return prefix, prefix + "\uffff"
