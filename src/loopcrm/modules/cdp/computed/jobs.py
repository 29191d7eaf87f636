"""The computed-traits job: folds the event log into per-profile aggregates, a few seconds behind
the identity job (it never reads past that job's cursor).

``loopcrm.app.register_tasks`` imports this module so that workers know the task.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from loopcrm.modules.cdp.computed import service as computed
from loopcrm.platform.jobs.registry import JobContext, periodic
from loopcrm.platform.unit_of_work import UnitOfWork

COMPUTE_TRAITS = "cdp.compute_traits"


@periodic(COMPUTE_TRAITS, every=timedelta(seconds=5))
def compute_traits(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    """Fold what the identity job resolved since the last run (at most one run's worth; the next
    slot takes the rest). Day buckets use the installation's default time zone, fixed at the
    first run. The worker commits the cursor with the aggregates, so a crash repeats nothing."""
    computed.update_computed_traits_in(uow, time_zone=context.settings.default_timezone)
