"""Pages of this area, under /sales (gathered by loopcrm.modules.sales.views): the kanban board,
the list, a deal's page and forms, and the settings (pipelines, lost reasons, currencies)."""

from __future__ import annotations

from fastapi import APIRouter

from loopcrm.modules.sales.opportunities.views import admin, kanban, records

router = APIRouter()
# The board and the settings first: their fixed paths are matched before a deal's id.
for part in (kanban, admin, records):
    router.include_router(part.router)
