"""/api/v1/ endpoints for deals."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["deals"])
