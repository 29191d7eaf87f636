"""Imports every table definition so that ``Base.metadata`` describes the whole database.

Alembic's autogenerate and the schema checks read the metadata from here; each module adds
its ``models`` import when it adds tables.
"""

from loopcrm.modules.activities import models as activities_models
from loopcrm.modules.cdp import models as cdp_models
from loopcrm.modules.cdp.computed import models as cdp_computed_models
from loopcrm.modules.cdp.identity import models as cdp_identity_models
from loopcrm.modules.cdp.matching import models as cdp_matching_models
from loopcrm.modules.cdp.privacy import models as cdp_privacy_models
from loopcrm.modules.customers import models as customers_models
from loopcrm.modules.sales.assignment import models as sales_assignment_models
from loopcrm.modules.sales.forecasting import models as sales_forecasting_models
from loopcrm.modules.sales.leads import models as sales_leads_models
from loopcrm.modules.sales.opportunities import models as sales_opportunities_models
from loopcrm.modules.sales.orders import models as sales_orders_models
from loopcrm.modules.sales.quotes import models as sales_quotes_models
from loopcrm.platform.audit import models as audit_models
from loopcrm.platform.auth import models as auth_models
from loopcrm.platform.db import Base
from loopcrm.platform.http import models as http_models
from loopcrm.platform.jobs import models as jobs_models
from loopcrm.platform.notifications import models as notifications_models

metadata = Base.metadata

__all__ = [
    "activities_models",
    "audit_models",
    "auth_models",
    "cdp_computed_models",
    "cdp_identity_models",
    "cdp_matching_models",
    "cdp_models",
    "cdp_privacy_models",
    "customers_models",
    "http_models",
    "jobs_models",
    "metadata",
    "notifications_models",
    "sales_assignment_models",
    "sales_forecasting_models",
    "sales_leads_models",
    "sales_opportunities_models",
    "sales_orders_models",
    "sales_quotes_models",
]
