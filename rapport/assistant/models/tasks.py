"""Tasks, follow-up rules and cadences."""

from __future__ import annotations
