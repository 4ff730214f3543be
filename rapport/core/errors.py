"""Errors services raise; views render them next to fields, the API as 422, the CLI as text."""

from __future__ import annotations


class ValidationFailed(Exception):
    """Bad input: `errors` maps each field name to the reason it was rejected."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


class NotVisible(Exception):
    """The record does not exist or the user may not see it; both answer 404."""


class NotAllowed(Exception):
    """The user sees the record but may not do this to it."""
