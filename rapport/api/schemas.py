"""Pieces every app's API schemas share."""

from __future__ import annotations

from ninja import Schema
from pydantic import ConfigDict

from rapport.core.errors import ValidationFailed


class InputSchema(Schema):
    """Request bodies: an unknown field is an error (422 naming it), never silently dropped.

    Dropping unknown fields would let a client believe it set `team` or `created_by` when it did
    not, and would hide typos such as `emial`.
    """

    model_config = ConfigDict(extra="forbid")


class Problem(Schema):
    """An error that is not about one field (401, 403, 404)."""

    detail: str


class FieldError(Schema):
    loc: list[str | int]
    msg: str
    type: str


class ValidationProblem(Schema):
    """422: one entry per rejected field; `loc` is ["body" or "query", field, ...]."""

    detail: list[FieldError]


def reject_unknown_params(request, *schemas: type[Schema], names: tuple[str, ...] = (),
                          prefix: str | None = None) -> None:
    """A misspelt filter (`?stag=lead`) must fail, not quietly return the unfiltered list."""
    known = set(names)
    for schema in schemas:
        known.update(schema.model_fields)
    unknown = [k for k in request.GET if k not in known and not (prefix and k.startswith(prefix))]
    if unknown:
        raise ValidationFailed({k: "unknown parameter" for k in unknown})
