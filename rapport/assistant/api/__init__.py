"""The assistant app's API: one router per part, assembled here."""

from ninja import Router

from . import meetings, tasks

router = Router()
router.add_router("/", meetings.router)
router.add_router("/", tasks.router)
