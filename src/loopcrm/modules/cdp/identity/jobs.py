"""The identity job: resolves the event log to profiles, in order, a few seconds behind ingestion.

``loopcrm.app.register_tasks`` imports this module so that workers know the task.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from loopcrm.modules.cdp.identity import service as identity
from loopcrm.platform.jobs.registry import JobContext, periodic
from loopcrm.platform.unit_of_work import UnitOfWork

RESOLVE_IDENTITIES = "cdp.resolve_identities"


@periodic(RESOLVE_IDENTITIES, every=timedelta(seconds=5))
def resolve_identities(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    """Resolve the events ingested since the last run (at most one run's worth; the next slot
    takes the rest). The worker commits the cursor with the profiles, so a crash repeats nothing."""
    identity.resolve_pending_events_in(uow)
