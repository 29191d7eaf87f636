"""Background work of the customers module: landing import files and undoing imports.

Each task does one step (one chunk of rows, or of records to reverse) and queues the next in
the same transaction, so a long import commits its progress chunk by chunk.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from loopcrm.modules.customers.service import imports
from loopcrm.platform.jobs.registry import JobContext, periodic, task
from loopcrm.platform.unit_of_work import UnitOfWork

# A step that fails is retried a few times (a locked database, a full disk); after the last
# attempt the run ends "failed" (on_give_up) instead of staying "running". A file that cannot be
# read is not a failure of the step: the run ends "failed" with the reason at once.
STEP_ATTEMPTS = 5


def _give_up_import(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    imports.give_up_import(uow, payload, context.settings.data_dir)


def _give_up_undo(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    imports.give_up_undo(uow, payload)


@task(imports.IMPORT_TASK, max_attempts=STEP_ATTEMPTS, on_give_up=_give_up_import)
def import_rows(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    imports.run_import_step(uow, payload, context)


@task(imports.UNDO_TASK, max_attempts=STEP_ATTEMPTS, on_give_up=_give_up_undo)
def undo_import(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    imports.run_undo_step(uow, payload, context)


@periodic("customers.import_housekeeping", every=timedelta(days=1))
def remove_abandoned_uploads(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    """Forget uploads that were never started (their files hold personal data)."""
    imports.remove_abandoned_uploads(uow, context.settings.data_dir, context.now)
