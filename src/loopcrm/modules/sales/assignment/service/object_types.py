"""Who may manage assignment rules, reps' availability and read the assignment history."""

from __future__ import annotations

from loopcrm.platform.permissions import (
    GRANT_ALL,
    GRANT_READ_ALL,
    Action,
    ObjectType,
    Scope,
    register_object_type,
)

# Rules decide who gets the company's leads: admins and sales managers write them, the sales
# team may look at them (a rep can see why a lead came to them).
ASSIGNMENT_RULE = register_object_type(
    ObjectType(
        key="assignment_rule",
        label="Assignment rules",
        default_grants={
            "admin": GRANT_ALL,
            "sales_manager": GRANT_ALL,
            "sales_rep": GRANT_READ_ALL,
            "analyst": GRANT_READ_ALL,
        },
    )
)

# A rep's availability is "owned" by the rep: a manager reaches the reps of their teams, a rep
# only themselves (and may change only their own time away, see service.availability).
REP_AVAILABILITY = register_object_type(
    ObjectType(
        key="rep_availability",
        label="Rep availability",
        default_grants={
            "admin": GRANT_ALL,
            "sales_manager": {Action.READ: Scope.TEAM, Action.UPDATE: Scope.TEAM},
            "sales_rep": {Action.READ: Scope.OWN, Action.UPDATE: Scope.OWN},
            "analyst": GRANT_READ_ALL,
        },
    )
)

# The history of owner changes: a rep sees the changes that gave them or took from them a
# record, a manager those of their teams' reps.
ASSIGNMENT = register_object_type(
    ObjectType(
        key="assignment",
        label="Assignment history",
        default_grants={
            "admin": GRANT_READ_ALL,
            "sales_manager": {Action.READ: Scope.TEAM},
            "sales_rep": {Action.READ: Scope.OWN},
            "analyst": GRANT_READ_ALL,
        },
    )
)
