"""Property tests: the normalisers accept or reject any text cleanly and are idempotent."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rapport.core.errors import ValidationFailed
from rapport.core.pagination import decode_cursor, encode_cursor
from rapport.people.normalize import InvalidValue, normalize_domain, normalize_email, normalize_phone

pytestmark = pytest.mark.django_db(False)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_email_is_normalised_or_rejected_with_a_reason(text):
    try:
        email = normalize_email(text)
    except InvalidValue as exc:
        assert str(exc)
    else:
        assert email == email.lower() and "@" in email
        assert normalize_email(email) == email


@settings(max_examples=300, deadline=None)
@given(st.emails())
def test_generated_addresses_round_trip_when_accepted(address):
    try:
        email = normalize_email(address)
    except InvalidValue:
        return  # stricter than RFC 5322 on purpose (no quoted local parts, 2+ letter TLD)
    assert normalize_email(email.upper()) == email


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789 +-().", max_size=20), st.sampled_from(["US", "GB", "DE", "FR", "BR"]))
def test_phone_is_e164_and_stable_or_rejected(text, region):
    try:
        phone = normalize_phone(text, region)
    except InvalidValue as exc:
        assert str(exc)
        return
    if phone:
        assert phone.startswith("+") and phone[1:].isdigit()
        assert normalize_phone(phone, "US") == phone


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_domain_is_normalised_or_rejected(text):
    try:
        domain = normalize_domain(text)
    except InvalidValue:
        return
    if domain:
        assert normalize_domain(domain) == domain and not domain.startswith("www.")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_cursor_string_decodes_or_fails_cleanly(text):
    try:
        decode_cursor(text)
    except ValidationFailed as exc:
        assert "cursor" in exc.errors


@given(st.one_of(st.text(max_size=30), st.integers()), st.integers(min_value=1, max_value=2**62))
def test_cursors_round_trip(value, last_id):
    assert decode_cursor(encode_cursor([value, last_id])) == [value, last_id]
