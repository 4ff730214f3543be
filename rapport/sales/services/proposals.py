"""Writes for proposals: validate, audit and record timeline events in one transaction."""

from __future__ import annotations
