"""/api/v1/ endpoints for proposals."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["proposals"])
