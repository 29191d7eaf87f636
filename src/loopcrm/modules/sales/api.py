"""The REST API of the sales module: one router per area, gathered here for the composition root."""

from __future__ import annotations

from fastapi import APIRouter

from loopcrm.modules.sales.assignment import api as assignment
from loopcrm.modules.sales.forecasting import api as forecasting
from loopcrm.modules.sales.leads import api as leads
from loopcrm.modules.sales.opportunities import api as opportunities
from loopcrm.modules.sales.orders import api as orders
from loopcrm.modules.sales.quotes import api as quotes

router = APIRouter()
for area in (opportunities, leads, quotes, orders, assignment, forecasting):
    router.include_router(area.router)
