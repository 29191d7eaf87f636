"""The platform's object types and who may touch them by default."""

from __future__ import annotations

from loopcrm.platform.permissions import (
    GRANT_ALL,
    Action,
    ObjectType,
    Scope,
    SecurityLevel,
    register_object_type,
)

_OWN_TOKENS = {Action.CREATE: Scope.OWN, Action.READ: Scope.OWN, Action.DELETE: Scope.OWN}

USER = register_object_type(
    ObjectType(
        key="user",
        label="Users",
        default_grants={"admin": GRANT_ALL, "sales_manager": {Action.READ: Scope.TEAM}},
        field_levels={"email": SecurityLevel.INTERNAL, "phone": SecurityLevel.CONFIDENTIAL},
    )
)
TEAM = register_object_type(
    ObjectType(
        key="team",
        label="Teams",
        default_grants={"admin": GRANT_ALL, "sales_manager": {Action.READ: Scope.TEAM}},
    )
)
ROLE = register_object_type(ObjectType(key="role", label="Roles", default_grants={"admin": GRANT_ALL}))
TOKEN = register_object_type(
    ObjectType(
        key="api_token",
        label="API tokens",
        default_grants={
            "admin": GRANT_ALL,
            "sales_manager": _OWN_TOKENS,
            "sales_rep": _OWN_TOKENS,
            "marketer": _OWN_TOKENS,
            "service_agent": _OWN_TOKENS,
            "analyst": _OWN_TOKENS,
            "read_only": _OWN_TOKENS,
        },
    )
)
