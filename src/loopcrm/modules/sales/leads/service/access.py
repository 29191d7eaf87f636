"""Who may touch leads and the lead settings (scoring rules, web forms, imports) by default;
admins change it per role (ADR 0004)."""

from __future__ import annotations

from loopcrm.modules.sales.opportunities.service.object_types import SALES_RECORD_GRANTS
from loopcrm.platform.permissions import (
    GRANT_ALL,
    GRANT_READ_ALL,
    Action,
    ObjectType,
    Scope,
    SecurityLevel,
    register_object_type,
)

# Reps work their own leads, managers their teams'. Marketing captures and nurtures leads from
# every channel, so it reaches all of them; service agents see none (they work tickets).
LEAD = register_object_type(
    ObjectType(
        key="lead",
        label="Leads",
        default_grants={
            **SALES_RECORD_GRANTS,
            "marketer": {Action.CREATE: Scope.ALL, Action.READ: Scope.ALL, Action.UPDATE: Scope.ALL},
        },
        field_levels={"email": SecurityLevel.INTERNAL, "phone": SecurityLevel.INTERNAL},
    )
)

# Scoring rules, web forms and lead imports: admins and marketing set them up, managers read them.
LEAD_SETTINGS = register_object_type(
    ObjectType(
        key="lead_settings",
        label="Lead capture and scoring",
        default_grants={
            "admin": GRANT_ALL,
            "marketer": GRANT_ALL,
            "sales_manager": GRANT_READ_ALL,
            "sales_rep": GRANT_READ_ALL,
            "analyst": GRANT_READ_ALL,
            "read_only": GRANT_READ_ALL,
        },
    )
)
