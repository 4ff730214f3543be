"""The phone fast path must give exactly what phonenumbers gives: same E.164 form, same errors.

`reference` below is the plain phonenumbers recipe normalize_phone used before the fast path;
every test compares normalize_phone (and the fast path on its own) with it.
"""

from __future__ import annotations

import random

import phonenumbers
import phonenumbers.phonenumberutil as pnu
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rapport.people.normalize import InvalidValue, _e164_of_plain_number, _parse_phone, normalize_phone

REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
FORMATS = (phonenumbers.PhoneNumberFormat.E164, phonenumbers.PhoneNumberFormat.INTERNATIONAL,
           phonenumbers.PhoneNumberFormat.NATIONAL)


def phonenumbers_says(raw: str, region: str) -> str:
    """The plain phonenumbers recipe: the E.164 form, or the error normalize_phone raises."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return f"error: '{raw}' is not a phone number"
    if not phonenumbers.is_possible_number(number):
        return f"error: '{raw}' is not a possible phone number for its country"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def reference(raw: str, region: str) -> str:
    """What normalize_phone must give: phonenumbers' answer, except that a form with a 0 after
    the country code which reads back as another number is replaced by that reading when it is
    stable, and refused when it is not (a stored phone must not change when saved again)."""
    first = phonenumbers_says(raw, region)
    if first.startswith("error") or not pnu._extract_country_code(first[1:])[1].startswith("0"):
        return first
    second, third = reread(first), None
    if second == first:
        return first
    third = reread(second)
    return second if third == second else f"error: '{raw}' is not a phone number"


def reread(phone: str) -> str:
    return phonenumbers.format_number(phonenumbers.parse(phone, None), phonenumbers.PhoneNumberFormat.E164)


def ours(raw: str, region: str) -> str:
    _parse_phone.cache_clear()  # judge the code, not an earlier answer
    try:
        return normalize_phone(raw, region)
    except InvalidValue as exc:
        return f"error: {exc}"


def written_forms() -> list[tuple[str, str]]:
    """(text, region) pairs: every region's example numbers as people write them, and near misses."""
    rng = random.Random(2026)
    cases = []
    for region in REGIONS:
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE,
                     phonenumbers.PhoneNumberType.TOLL_FREE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            national = phonenumbers.national_significant_number(example)
            code = str(example.country_code)
            texts = [phonenumbers.format_number(example, f) for f in FORMATS]
            texts += [
                texts[1].replace(" ", "-"), texts[2].replace(" ", "."),  # other separators
                f"00{code}{national}", f"011 {code} {national}",  # dialled with an international prefix
                f"{code}{national}", f"0{national}",  # own country code without "+", trunk zero
                national[:-1], f"{national}7", f"{national}77", f"+{code}{national}000000",  # too short or long
                f"+{code} (0) {national}",
            ]
            for text in texts:
                for dialled_from in (region, rng.choice(REGIONS), "US", "GB", "DE", "IT"):
                    cases.append((text, dialled_from))
    return cases


WRITTEN = written_forms()


def test_every_regions_examples_come_out_as_phonenumbers_says():
    mismatches = [(text, region, ours(text, region), reference(text, region))
                  for text, region in WRITTEN if ours(text, region) != reference(text, region)]
    assert mismatches == []


def test_the_fast_path_itself_agrees_and_takes_most_written_forms():
    taken = 0
    for text, region in WRITTEN:
        fast = _e164_of_plain_number(text, region)
        if fast is not None:
            taken += 1
            assert fast == phonenumbers_says(text, region), (text, region)
    # The point of the fast path: the usual ways of writing a number do not need the full parse.
    assert taken > len(WRITTEN) / 2


@pytest.mark.parametrize(("text", "region", "expected"), [
    ("(212) 555-1234", "US", "+12125551234"),
    ("212.555.1234", "US", "+12125551234"),
    ("+44 20 7946 0123", "US", "+442079460123"),
    ("+44 (0) 20 7946 0123", "US", "+442079460123"),  # the trunk zero in brackets is dropped
    ("020 7946 0123", "GB", "+442079460123"),
    ("0044 20 7946 0123", "GB", "+442079460123"),  # international prefix of the UK
    ("011 44 20 7946 0123", "US", "+442079460123"),  # international prefix of the US
    ("44 20 7946 0123", "GB", "+442079460123"),  # country code without "+"
    ("030 12345678", "DE", "+493012345678"),
    ("01 42 68 53 00", "FR", "+33142685300"),
    ("06 1234 5678", "IT", "+390612345678"),  # Italian numbers keep their leading zero
    ("+39 06 1234 5678", "GB", "+390612345678"),
    ("+1 212 555 1234", "XX", "+12125551234"),  # "+" numbers need no known region
])
def test_plain_numbers_take_the_fast_path(text, region, expected):
    assert _e164_of_plain_number(text, region) == expected
    assert ours(text, region) == reference(text, region) == expected


@pytest.mark.parametrize(("text", "region"), [
    ("call me maybe", "US"),
    ("12", "US"),  # two bare digits: phonenumbers' own viability rule
    ("1 2", "US"),
    ("+", "US"),
    ("+1", "US"),
    ("00", "GB"),
    ("+999 123 456", "US"),  # no such country code
    ("555 1234", "XX"),  # no "+" and no known region
    ("212 555 1234 ext. 7", "US"),  # extensions are the full parse's business
    ("１２１２５５５１２３４", "US"),  # full-width digits
    ("1-800-FLOWERS", "US"),  # vanity letters
    ("tel:+1-212-555-1234", "US"),
    ("1" * 30, "US"),
    ("0" * 5, "DE"),
])
def test_everything_else_is_left_to_phonenumbers_and_still_agrees(text, region):
    fast = _e164_of_plain_number(text, region)
    assert fast is None or fast == phonenumbers_says(text, region)
    assert ours(text, region) == reference(text, region)


def test_errors_name_the_number_as_typed():
    assert ours("call me maybe", "US") == "error: 'call me maybe' is not a phone number"
    assert ours("+44 20", "US") == "error: '+44 20' is not a possible phone number for its country"


PLAIN = st.text(alphabet="0123456789 ().-", min_size=1, max_size=24)


@settings(max_examples=3000, deadline=None)
@given(body=PLAIN, plus=st.booleans(), region=st.sampled_from(REGIONS))
def test_any_plainly_written_number_agrees(body, plus, region):
    text = (("+" if plus else "") + body).strip()
    if not text:
        return
    fast = _e164_of_plain_number(text, region)
    assert fast is None or fast == phonenumbers_says(text, region)
    assert ours(text, region) == reference(text, region)
