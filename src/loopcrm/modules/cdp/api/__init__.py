"""HTTP entry points of the CDP: the REST API of sources and events, and the ingestion paths."""

from loopcrm.modules.cdp.api.ingestion import router as ingestion_router
from loopcrm.modules.cdp.api.sources import router

__all__ = ["ingestion_router", "router"]
