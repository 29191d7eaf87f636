"""REST routes of the customers module under ``/api/v1``: accounts, contacts, tags, custom fields,
saved views, imports and exports, duplicates and merges, and the global search. Each area keeps
its own router; this package only gathers them."""

from __future__ import annotations

from fastapi import APIRouter

from loopcrm.modules.customers.api.custom_fields import router as custom_fields_router
from loopcrm.modules.customers.api.duplicates import router as duplicates_router
from loopcrm.modules.customers.api.imports import router as imports_router
from loopcrm.modules.customers.api.records import router as records_router
from loopcrm.modules.customers.api.search import router as search_router
from loopcrm.modules.customers.api.tags import router as tags_router
from loopcrm.modules.customers.api.views import router as views_router

router = APIRouter()
router.include_router(imports_router)  # first: /accounts/export before /accounts/{account_id}
router.include_router(records_router)
router.include_router(tags_router)
router.include_router(custom_fields_router)
router.include_router(views_router)
router.include_router(duplicates_router)
router.include_router(search_router)
