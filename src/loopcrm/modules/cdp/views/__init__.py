"""Pages of the CDP. Each area keeps its own router (sources; profiles; matching review; privacy);
this package only gathers them, and the composition root hands :data:`router` to ``install_web``.
"""

from __future__ import annotations

from fastapi import APIRouter

from loopcrm.modules.cdp.views import matching, profiles, sources
from loopcrm.modules.cdp.views.privacy import router as privacy_router

router = APIRouter()
router.include_router(sources.router)
router.include_router(privacy_router)
router.include_router(profiles.router)
router.include_router(matching.router)
