"""Who may touch sales targets by default; admins change it per role (ADR 0004)."""

from __future__ import annotations

from loopcrm.platform.permissions import (
    GRANT_ALL,
    GRANT_READ_ALL,
    Action,
    ObjectType,
    Scope,
    register_object_type,
)

# A target belongs to the rep it is for (its "owner"): managers set their teams' targets, admins
# everyone's, reps read their own (the leaderboard measures them against it).
SALES_TARGET = register_object_type(
    ObjectType(
        key="sales_target",
        label="Sales targets",
        default_grants={
            "admin": GRANT_ALL,
            "sales_manager": {
                Action.CREATE: Scope.TEAM,
                Action.READ: Scope.TEAM,
                Action.UPDATE: Scope.TEAM,
                Action.DELETE: Scope.TEAM,
            },
            "sales_rep": {Action.READ: Scope.OWN},
            "analyst": GRANT_READ_ALL,
            "read_only": GRANT_READ_ALL,
        },
    )
)
