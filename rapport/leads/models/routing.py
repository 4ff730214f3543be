"""Routing and hand-off: assignment rules, seller capacity and the first-response SLA."""

from __future__ import annotations
