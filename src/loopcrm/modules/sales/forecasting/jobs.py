"""The win-probability model's periodic rebuild (``sales.rebuild_win_model``).

Live updates keep the counts right as deals close; the daily rebuild recomputes them from the
closed deals, so deals deleted or edited after closing, and changes of the configured attributes,
are reflected. ``loopcrm.modules.sales.jobs`` imports this module so that workers know the task.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from loopcrm.modules.sales.forecasting import service as forecasting
from loopcrm.platform.jobs.registry import JobContext, periodic
from loopcrm.platform.unit_of_work import UnitOfWork

REBUILD_WIN_MODEL = "sales.rebuild_win_model"


@periodic(REBUILD_WIN_MODEL, every=timedelta(days=1))
def rebuild_win_model(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    """Recompute the counts from every closed deal; committed with the job's completion."""
    forecasting.rebuild_model_in(uow)
