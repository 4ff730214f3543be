"""/api/v1/ endpoints for forecasts."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["forecasts"])
