"""Who may touch deals and the sales settings by default; admins change it per role (ADR 0004)."""

from __future__ import annotations

from loopcrm.platform.permissions import (
    GRANT_ALL,
    GRANT_READ_ALL,
    Action,
    ObjectType,
    Scope,
    register_object_type,
)

# The records of a sales process (deals, and quotes and leads like them): reps work their own,
# managers their teams'; analysts and read-only users read them all for reports.
SALES_RECORD_GRANTS = {
    "admin": GRANT_ALL,
    "sales_manager": {
        Action.CREATE: Scope.ALL,
        Action.READ: Scope.TEAM,
        Action.UPDATE: Scope.TEAM,
        Action.DELETE: Scope.TEAM,
    },
    "sales_rep": {Action.CREATE: Scope.OWN, Action.READ: Scope.OWN, Action.UPDATE: Scope.OWN},
    "analyst": GRANT_READ_ALL,
    "read_only": GRANT_READ_ALL,
}

# Reps work their own deals, managers their teams'; analysts and read-only users read them all for
# reports. Marketing and service see no deals unless an admin grants it: amounts are commercial.
OPPORTUNITY = register_object_type(
    ObjectType(
        key="opportunity",
        label="Opportunities",
        default_grants=SALES_RECORD_GRANTS,
    )
)

# Pipelines, stages, lost reasons and currencies: admins change them, everyone reads them (a form
# offers the stages, a report names them).
SALES_SETTINGS = register_object_type(
    ObjectType(
        key="sales_settings",
        label="Sales settings",
        default_grants={
            "admin": GRANT_ALL,
            "sales_manager": GRANT_READ_ALL,
            "sales_rep": GRANT_READ_ALL,
            "marketer": GRANT_READ_ALL,
            "service_agent": GRANT_READ_ALL,
            "analyst": GRANT_READ_ALL,
            "read_only": GRANT_READ_ALL,
        },
    )
)
