"""The opportunities area's use cases — the only entry other areas, the API and the pages use
(``from loopcrm.modules.sales.opportunities import service as opportunities``).

* ``settings``: pipelines and stages, lost reasons, currencies, the standard pipeline;
* ``deals``: a deal's life (create, change, move, win by an order);
* ``listing``: the list and the kanban board;
* ``registries``: the outcome listeners and the probability estimator other areas plug in;
* ``timeline``: deals as subjects of activities.
"""

from loopcrm.modules.sales.opportunities.service.deals import (
    change_stage,
    change_stage_in,
    create_opportunity,
    create_opportunity_in,
    delete_opportunity,
    get_opportunity,
    refresh_automatic_probabilities_in,
    stage_history,
    update_opportunity,
    win_by_order_in,
)
from loopcrm.modules.sales.opportunities.service.listing import (
    FIELDS,
    KANBAN_CARDS_PER_COLUMN,
    kanban,
    list_opportunities,
    readable,
)
from loopcrm.modules.sales.opportunities.service.object_types import OPPORTUNITY, SALES_SETTINGS
from loopcrm.modules.sales.opportunities.service.registries import (
    OutcomeListener,
    ProbabilityEstimator,
    register_outcome_listener,
    register_probability_estimator,
)
from loopcrm.modules.sales.opportunities.service.settings import (
    STANDARD_LOST_REASONS,
    STANDARD_STAGES,
    active_settings,
    company_currency,
    create_currency,
    create_lost_reason,
    create_pipeline,
    create_standard_pipeline,
    default_pipeline,
    delete_lost_reason,
    get_pipeline,
    list_currencies,
    list_lost_reasons,
    list_pipelines,
    to_company_currency,
    update_currency,
    update_lost_reason,
    update_pipeline,
)
from loopcrm.modules.sales.opportunities.service.timeline import SUBJECT_TYPE, timeline_subjects

__all__ = [
    "FIELDS",
    "KANBAN_CARDS_PER_COLUMN",
    "OPPORTUNITY",
    "SALES_SETTINGS",
    "STANDARD_LOST_REASONS",
    "STANDARD_STAGES",
    "SUBJECT_TYPE",
    "OutcomeListener",
    "ProbabilityEstimator",
    "active_settings",
    "change_stage",
    "change_stage_in",
    "company_currency",
    "create_currency",
    "create_lost_reason",
    "create_opportunity",
    "create_opportunity_in",
    "create_pipeline",
    "create_standard_pipeline",
    "default_pipeline",
    "delete_lost_reason",
    "delete_opportunity",
    "get_opportunity",
    "get_pipeline",
    "kanban",
    "list_currencies",
    "list_lost_reasons",
    "list_opportunities",
    "list_pipelines",
    "readable",
    "refresh_automatic_probabilities_in",
    "register_outcome_listener",
    "register_probability_estimator",
    "stage_history",
    "timeline_subjects",
    "to_company_currency",
    "update_currency",
    "update_lost_reason",
    "update_opportunity",
    "update_pipeline",
    "win_by_order_in",
]
