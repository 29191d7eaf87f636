"""HTTP entry points of the CDP: the ingestion paths (Segment's, at the root) and the REST API,
one router per area (sources and events; profiles; matching; privacy) gathered here."""

from fastapi import APIRouter

from loopcrm.modules.cdp.api import matching, profiles, sources, tracking
from loopcrm.modules.cdp.api.ingestion import router as ingestion_router
from loopcrm.modules.cdp.api.profile_data import router as profile_data_router

ingestion_router.include_router(tracking.router)  # analytics.js, served at the root too

router = APIRouter()
router.include_router(sources.router)
router.include_router(profile_data_router)
router.include_router(profiles.router)
router.include_router(matching.router)

__all__ = ["ingestion_router", "router"]
