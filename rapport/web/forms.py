"""What every page form shares."""

from __future__ import annotations

from rapport.core.errors import ValidationFailed


class ServiceErrors:
    """Mix into a Django form: a service's ValidationFailed shows each error next to the field
    it names, and the rest above the form, saying what they concern.

    `error_fields` maps a service's name for a field to the form's (`due_at` → `due_date`), or to
    None when the form has no such field; `field_for_error` can be overridden for names that
    follow a pattern (`contacts.3.role` → `role`).
    """

    error_fields: dict[str, str | None] = {}

    def field_for_error(self, name: str) -> str | None:
        return self.error_fields.get(name, name)

    def add_service_errors(self, exc: ValidationFailed) -> None:
        for field, reason in exc.errors.items():
            name = self.field_for_error(field)
            if name in self.fields:
                self.add_error(name, reason)
            else:
                self.add_error(None, f"{field.replace('_', ' ').replace('.', ' ')}: {reason}")
