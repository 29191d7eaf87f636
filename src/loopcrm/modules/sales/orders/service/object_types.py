"""Who may touch orders by default; admins change it per role (ADR 0004)."""

from __future__ import annotations

from loopcrm.platform.permissions import GRANT_READ_ALL, Action, ObjectType, Scope, register_object_type

# Reps take and follow their own orders, managers their teams'; marketing, service and analysts
# read every order, because segments, tickets and reports need whole purchase histories.
ORDER = register_object_type(
    ObjectType(
        key="order",
        label="Orders",
        default_grants={
            "admin": {action: Scope.ALL for action in Action},
            "sales_manager": {Action.CREATE: Scope.ALL, Action.READ: Scope.TEAM, Action.UPDATE: Scope.TEAM},
            "sales_rep": {Action.CREATE: Scope.OWN, Action.READ: Scope.OWN, Action.UPDATE: Scope.OWN},
            "marketer": GRANT_READ_ALL,
            "service_agent": GRANT_READ_ALL,
            "analyst": GRANT_READ_ALL,
            "read_only": GRANT_READ_ALL,
        },
    )
)
