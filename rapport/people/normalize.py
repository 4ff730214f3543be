"""Normalising what people type: e-mail addresses, phone numbers, web domains, stage names.

Each function returns the stored form or raises `InvalidValue` with a reason a user can act on.
The importer, the forms and the API all use these, so a value is judged the same way everywhere.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from django.conf import settings
from phonenumbers import phonenumberutil as pnu
from phonenumbers.phonemetadata import PhoneMetadata

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


# Numbers written with ASCII digits, at most a leading "+", and spaces, dashes, dots or brackets:
# what nearly every CRM export holds. For these, everything phonenumbers.parse does before its
# region rules (finding the number in the text, extensions, RFC 3966, Unicode digits, vanity
# letters) leaves just the digits, so the fast path starts from them and runs the same region
# rules with phonenumbers' own functions. Anything else, and every failure, takes the full parse,
# so results and error messages are phonenumbers' own (rapport/people/tests/test_phone_fast_path.py).
_PLAIN_PHONE_RE = re.compile(r"\+?[0-9 ().\-]+")
_DIGITS_ONLY = str.maketrans("", "", "+ ().-")
_NO_NATIONAL_PREFIX = (pnu.ValidationResult.TOO_SHORT, pnu.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
                       pnu.ValidationResult.INVALID_LENGTH)


def _e164_of_plain_number(raw: str, region: str) -> str | None:
    """phonenumbers' E.164 form of a plainly written number, or None to leave it to the full parse.

    Follows phonenumbers.parse step by step (version 9.0) for input that is only digits.
    """
    if len(raw) > pnu._MAX_INPUT_STRING_LENGTH or not _PLAIN_PHONE_RE.fullmatch(raw):
        return None
    digits = raw.translate(_DIGITS_ONLY)
    if len(digits) < 3:  # two bare digits or fewer: parse's viability rules differ
        return None
    metadata = PhoneMetadata.metadata_for_region(region, None)
    if raw[0] == "+":
        international, full = True, digits
    else:
        if metadata is None:
            return None
        idd = metadata.international_prefix
        international, full = (False, digits) if idd is None else pnu._parse_prefix_as_idd(re.compile(idd), digits)
    country_code = 0
    if international:
        if len(full) <= pnu._MIN_LENGTH_FOR_NSN:
            return None
        country_code, national = pnu._extract_country_code(full)
        if country_code == 0:
            return None
    else:
        own_code = str(metadata.country_code)
        if digits.startswith(own_code):
            # The region's own country code written without "+": parse drops it when that makes
            # the number fit the region better.
            general = metadata.general_desc
            _, without, _ = pnu._maybe_strip_national_prefix_carrier_code(digits[len(own_code):], metadata)
            if ((not pnu._match_national_number(digits, general, False)
                 and pnu._match_national_number(without, general, False))
                    or pnu._test_number_length(digits, metadata) == pnu.ValidationResult.TOO_LONG):
                country_code, national = metadata.country_code, without
    if country_code:
        number_region = pnu.region_code_for_country_code(country_code)
        if number_region != region:
            metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, number_region)
    else:
        country_code, national = metadata.country_code, digits
    if metadata is None or len(national) < pnu._MIN_LENGTH_FOR_NSN:
        return None
    _, stripped, _ = pnu._maybe_strip_national_prefix_carrier_code(national, metadata)
    if pnu._test_number_length(stripped, metadata) not in _NO_NATIONAL_PREFIX:
        national = stripped
    if not pnu._MIN_LENGTH_FOR_NSN <= len(national) <= pnu._MAX_LENGTH_FOR_NSN:
        return None
    number = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(national))
    pnu._set_italian_leading_zeros_for_phone_number(national, number)
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=65536)
def _parse_phone(raw: str, region: str) -> str:
    fast = _e164_of_plain_number(raw, region)
    return _stable(raw, fast if fast is not None else _parse_phone_fully(raw, region))


def _reread(phone: str) -> str:
    return phonenumbers.format_number(phonenumbers.parse(phone, None), phonenumbers.PhoneNumberFormat.E164)


def _stable(raw: str, phone: str) -> str:
    """The E.164 form that reads back as itself, so saving a record twice never changes it.

    phonenumbers writes some oddly dialled numbers (a trunk 0 kept after the country code, as
    in "+44 07712 345") in a form it reads back as another number. Such a number is read once
    more; if that is stable it is the answer, otherwise (+49 00000 loses a zero on every
    reading) it is no phone number. Only numbers with a 0 after the country code pay for this.
    """
    _, national = pnu._extract_country_code(phone[1:])
    if not national.startswith("0"):
        return phone
    again = _reread(phone)
    if again == phone:
        return phone
    if _reread(again) == again:
        return again
    raise InvalidValue(f"'{raw}' is not a phone number")


def _parse_phone_fully(raw: str, region: str) -> str:
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
