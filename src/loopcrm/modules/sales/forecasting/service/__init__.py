"""Use cases of forecasting: the win-probability model, sales targets and the sales dashboard.

Importing this package plugs the model into the opportunities core: its outcome listener learns
from every deal that is won, lost or reopened, and its estimator gives open deals their automatic
probability.
"""

from __future__ import annotations

from loopcrm.modules.sales.forecasting.service.dashboard import current_quarter, dashboard
from loopcrm.modules.sales.forecasting.service.object_types import SALES_TARGET
from loopcrm.modules.sales.forecasting.service.targets import (
    company_currency_code,
    delete_target,
    get_target,
    list_targets,
    month_targets,
    set_target,
    settable_users,
    update_target,
)
from loopcrm.modules.sales.forecasting.service.win_model import (
    DEFAULT_ATTRIBUTE_NAMES,
    estimate_open_deal,
    get_model_settings,
    learn_outcome,
    model_summary,
    rebuild_model,
    rebuild_model_in,
    update_model_settings,
    win_probability,
)
from loopcrm.modules.sales.opportunities import service as opportunities

opportunities.register_outcome_listener(learn_outcome)
opportunities.register_probability_estimator(estimate_open_deal)

__all__ = [
    "DEFAULT_ATTRIBUTE_NAMES",
    "SALES_TARGET",
    "company_currency_code",
    "current_quarter",
    "dashboard",
    "delete_target",
    "estimate_open_deal",
    "get_model_settings",
    "get_target",
    "learn_outcome",
    "list_targets",
    "model_summary",
    "month_targets",
    "rebuild_model",
    "rebuild_model_in",
    "set_target",
    "settable_users",
    "update_model_settings",
    "update_target",
    "win_probability",
]
