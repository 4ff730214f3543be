"""Merge fields in e-mail templates: {{ first_name }} and friends, checked and filled in.

Deliberately not Django's template language: a seller's template must not be able to reach
object attributes or tags, and a misspelt field must be an error the seller sees, not an empty
string the customer sees ("Dear ,").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapport.core.errors import ValidationFailed

FIELDS = {
    "first_name": "The contact's first name",
    "last_name": "The contact's last name",
    "name": "The contact's full name",
    "company": "The contact's company",
    "last_purchase": "The date of the contact's last purchase",
    "owner": "The name of the contact's owner",
    "sender": "Your name",
}

# {{ field }} with optional spaces; anything else between braces is reported as it was written.
PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


@dataclass(frozen=True)
class MergeValues:
    first_name: str = ""
    last_name: str = ""
    name: str = ""
    company: str = ""
    last_purchase: str = ""
    owner: str = ""
    sender: str = ""


def problems(text: str) -> list[str]:
    """Everything wrong with the merge fields of `text`, in plain words (empty when fine)."""
    found = []
    for match in PLACEHOLDER.finditer(text):
        name = match.group(1)
        if name not in FIELDS:
            shown = match.group(0)
            found.append(f"unknown merge field {shown}; use one of: "
                         + ", ".join("{{ " + f + " }}" for f in FIELDS))
    leftover = PLACEHOLDER.sub("", text)
    if "{{" in leftover or "}}" in leftover:
        found.append("a merge field is not closed: write it as {{ first_name }}")
    return found


def check(fields: dict[str, str]) -> None:
    """Raise ValidationFailed naming each field (subject, body) whose merge fields are wrong."""
    errors = {}
    for field_name, text in fields.items():
        found = problems(text or "")
        if found:
            errors[field_name] = "; ".join(dict.fromkeys(found))
    if errors:
        raise ValidationFailed(errors)


def fill(text: str, values: MergeValues) -> str:
    """`text` with every merge field replaced. Call `check` first: unknown fields raise."""
    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name not in FIELDS:
            raise ValidationFailed({"body": f"unknown merge field {match.group(0)}"})
        return getattr(values, name)

    return PLACEHOLDER.sub(replace, text)
