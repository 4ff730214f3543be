"""Pieces every app's API schemas share."""

from __future__ import annotations

from ninja import Schema
from pydantic import ConfigDict


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
