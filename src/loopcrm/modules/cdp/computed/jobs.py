"""The computed-traits job: folds the event log into per-profile aggregates, a few seconds behind
the identity job (it never reads past that job's cursor).

``loopcrm.app.register_tasks`` imports this module so that workers know the task.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from loopcrm.modules.cdp.computed import service as computed
from loopcrm.modules.cdp.identity import service as identity
from loopcrm.platform.jobs.registry import JobContext, periodic
from loopcrm.platform.jobs.service import enqueue_continuation
from loopcrm.platform.unit_of_work import UnitOfWork

COMPUTE_TRAITS = "cdp.compute_traits"


@periodic(COMPUTE_TRAITS, every=timedelta(seconds=5))
def compute_traits(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    """Fold what the identity job resolved since the last run, at most one run's worth; a full
    run queues the next (paused while ingestion is busy, as the identity job's). Day buckets use
    the installation's default time zone, fixed at the first run. The worker commits the cursor
    with the aggregates, so a crash repeats nothing."""
    settings = context.settings
    limit = settings.cdp_computed_events_per_run
    read = computed.update_computed_traits_in(uow, max_events=limit, time_zone=settings.default_timezone)
    if read >= limit:
        enqueue_continuation(uow, COMPUTE_TRAITS, context, contended=identity.ingestion_is_busy_in(uow))
