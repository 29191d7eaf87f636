"""Pages of the sales module: one router per area, gathered here for the composition root."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from loopcrm.modules.sales.assignment import views as assignment
from loopcrm.modules.sales.forecasting import views as forecasting
from loopcrm.modules.sales.leads import views as leads
from loopcrm.modules.sales.opportunities import views as opportunities
from loopcrm.modules.sales.orders import views as orders
from loopcrm.modules.sales.quotes import views as quotes

router = APIRouter()
for area in (opportunities, leads, quotes, orders, assignment, forecasting):
    router.include_router(area.router)


@router.get("/sales", include_in_schema=False)
def sales_home() -> RedirectResponse:
    """The module's entry: the kanban of the reader's default pipeline."""
    return RedirectResponse("/sales/opportunities/kanban", status_code=303)
