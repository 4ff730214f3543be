"""Display helpers: stored values stay canonical, people read them in familiar forms."""

import phonenumbers
from django import template

register = template.Library()


@register.filter
def phone(value: str) -> str:
    """+442079460958 → +44 20 7946 0958."""
    if not value:
        return ""
    try:
        return phonenumbers.format_number(phonenumbers.parse(value, None),
                                          phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return value
