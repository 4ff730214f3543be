"""The reports part of /api/v1/: one router per area, mounted together."""

from ninja import Router

from . import scores

router = Router()
router.add_router("/", scores.router)
