"""The matching job: one run of the probabilistic matcher (``cdp.matching.run``).

``loopcrm.app.register_tasks`` imports this module so that workers know the task.
"""

from __future__ import annotations

from typing import Any

from loopcrm.modules.cdp.matching import service as matching
from loopcrm.platform.jobs.registry import JobContext, task
from loopcrm.platform.unit_of_work import UnitOfWork


def _give_up(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    matching.give_up_run(uow, payload)


# One attempt: a run commits stage by stage, so a retry would start over on a half-merged graph;
# a person starts a new run instead (which picks up where the failed one stopped).
@task(matching.RUN_TASK, max_attempts=1, on_give_up=_give_up)
def run_matching(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    """Load, train, predict, merge and queue; progress is committed as the run goes."""
    matching.run_matching_job(uow, payload)
