"""Use cases of assignment (线索分配), as one facade: other areas call ``assign_owner_in``,
``record_manual_assignment_in`` and ``register_open_load``; entry points the rest."""

from loopcrm.modules.sales.assignment.service.availability import (
    SELF_SERVICE_FIELDS,
    get_availability,
    list_availability,
    update_availability,
)
from loopcrm.modules.sales.assignment.service.engine import (
    OpenLoadCounter,
    assign_owner_in,
    open_loads,
    record_manual_assignment_in,
    register_open_load,
    registered_open_load,
)
from loopcrm.modules.sales.assignment.service.history import list_assignments
from loopcrm.modules.sales.assignment.service.object_types import (
    ASSIGNMENT,
    ASSIGNMENT_RULE,
    REP_AVAILABILITY,
)
from loopcrm.modules.sales.assignment.service.rules import (
    create_rule,
    delete_rule,
    get_rule,
    list_rules,
    move_rule,
    reorder_rules,
    update_rule,
)

__all__ = [
    "ASSIGNMENT",
    "ASSIGNMENT_RULE",
    "REP_AVAILABILITY",
    "SELF_SERVICE_FIELDS",
    "OpenLoadCounter",
    "assign_owner_in",
    "create_rule",
    "delete_rule",
    "get_availability",
    "get_rule",
    "list_assignments",
    "list_availability",
    "list_rules",
    "move_rule",
    "open_loads",
    "record_manual_assignment_in",
    "register_open_load",
    "registered_open_load",
    "reorder_rules",
    "update_availability",
    "update_rule",
]
