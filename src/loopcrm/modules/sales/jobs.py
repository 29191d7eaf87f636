"""Background tasks of the sales module: importing this registers every area's tasks."""

from __future__ import annotations

import loopcrm.modules.sales.forecasting.jobs  # the win-probability model's rebuild
import loopcrm.modules.sales.leads.jobs  # rescoring open leads
import loopcrm.modules.sales.quotes.jobs  # noqa: F401  (emailing quotes, expiring them)
