"""Who may touch customer records by default; admins change it per role (ADR 0004)."""

from __future__ import annotations

from loopcrm.platform.permissions import (
    GRANT_ALL,
    GRANT_READ_ALL,
    Action,
    ObjectType,
    Scope,
    SecurityLevel,
    register_object_type,
)

# Reps work their own customers; managers their teams'; marketing and service reach every
# customer, because campaigns and tickets are not split by sales territory.
_CUSTOMER_GRANTS = {
    "admin": GRANT_ALL,
    "sales_manager": {
        Action.CREATE: Scope.ALL,
        Action.READ: Scope.TEAM,
        Action.UPDATE: Scope.TEAM,
        Action.DELETE: Scope.TEAM,
    },
    "sales_rep": {Action.CREATE: Scope.OWN, Action.READ: Scope.OWN, Action.UPDATE: Scope.OWN},
    "marketer": {Action.CREATE: Scope.ALL, Action.READ: Scope.ALL, Action.UPDATE: Scope.ALL},
    "service_agent": {Action.CREATE: Scope.ALL, Action.READ: Scope.ALL, Action.UPDATE: Scope.ALL},
    "analyst": GRANT_READ_ALL,
    "read_only": GRANT_READ_ALL,
}

ACCOUNT = register_object_type(
    ObjectType(
        key="account",
        label="Accounts",
        default_grants=_CUSTOMER_GRANTS,
        field_levels={
            "phones": SecurityLevel.INTERNAL,
            "emails": SecurityLevel.INTERNAL,
            "annual_revenue": SecurityLevel.CONFIDENTIAL,
        },
    )
)
CONTACT = register_object_type(
    ObjectType(
        key="contact",
        label="Contacts",
        default_grants=_CUSTOMER_GRANTS,
        field_levels={
            "phones": SecurityLevel.INTERNAL,
            "emails": SecurityLevel.INTERNAL,
            "wechat_id": SecurityLevel.INTERNAL,
            "address": SecurityLevel.INTERNAL,
            "birthday": SecurityLevel.CONFIDENTIAL,
        },
    )
)
TAG = register_object_type(
    ObjectType(
        key="tag",
        label="Tags",
        default_grants={
            "admin": GRANT_ALL,
            "sales_manager": {Action.CREATE: Scope.ALL, Action.READ: Scope.ALL, Action.UPDATE: Scope.ALL},
            "marketer": {Action.CREATE: Scope.ALL, Action.READ: Scope.ALL, Action.UPDATE: Scope.ALL},
            "sales_rep": GRANT_READ_ALL,
            "service_agent": GRANT_READ_ALL,
            "analyst": GRANT_READ_ALL,
            "read_only": GRANT_READ_ALL,
        },
    )
)
CUSTOM_FIELD = register_object_type(
    ObjectType(
        key="custom_field",
        label="Custom fields",
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

OBJECT_TYPE_OF_KIND = {"account": ACCOUNT, "contact": CONTACT}
