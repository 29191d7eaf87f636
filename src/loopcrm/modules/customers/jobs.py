"""Background work of the customers module: landing import files and undoing imports.

Each task does one step (one chunk of rows, or of records to reverse) and queues the next in
the same transaction, so a long import commits its progress chunk by chunk.
"""

from __future__ import annotations

from typing import Any

from loopcrm.modules.customers.service import imports
from loopcrm.platform.jobs.registry import JobContext, task
from loopcrm.platform.unit_of_work import UnitOfWork

# A step that fails is retried a few times (a locked database, a full disk); a file that cannot
# be read is not a failure of the step: the run ends "failed" with the reason instead.
STEP_ATTEMPTS = 5


@task(imports.IMPORT_TASK, max_attempts=STEP_ATTEMPTS)
def import_rows(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    imports.run_import_step(uow, payload, context.settings.data_dir)


@task(imports.UNDO_TASK, max_attempts=STEP_ATTEMPTS)
def undo_import(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    imports.run_undo_step(uow, payload)
