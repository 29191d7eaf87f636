"""Background work of leads: rescoring open leads with their activities counted afresh."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from loopcrm.modules.sales.leads import service as leads
from loopcrm.platform.jobs.registry import JobContext, periodic
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import JoinedUnitOfWork, UnitOfWork


# Hourly: activities logged on a lead reach its score on the lead's own page at once, and in
# lists within the hour.
@periodic(leads.RESCORE_TASK, every=timedelta(hours=1))
def rescore_open_leads(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    leads.rescore_open_leads(JoinedUnitOfWork(uow), system_actor())
