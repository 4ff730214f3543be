"""The leads app's API: one router per part, assembled here."""

from ninja import Router

from . import capture, leads, routing, scoring

router = Router()
router.add_router("/", capture.router)
router.add_router("/", leads.router)
router.add_router("/", routing.router)
router.add_router("/", scoring.router)
