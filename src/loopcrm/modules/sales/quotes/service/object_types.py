"""Who may touch products, price lists and quotes by default; admins change it per role (ADR 0004)."""

from __future__ import annotations

from loopcrm.modules.sales.opportunities.service.object_types import SALES_RECORD_GRANTS
from loopcrm.platform.permissions import (
    GRANT_ALL,
    GRANT_READ_ALL,
    Action,
    ObjectType,
    Scope,
    register_object_type,
)

# The catalogue (products and their price lists): admins and sales managers keep it, everyone in
# sales reads it (a quote's lines need it).
PRODUCT = register_object_type(
    ObjectType(
        key="product",
        label="Products and price lists",
        default_grants={
            "admin": GRANT_ALL,
            "sales_manager": GRANT_ALL,
            "sales_rep": GRANT_READ_ALL,
            "analyst": GRANT_READ_ALL,
            "read_only": GRANT_READ_ALL,
        },
    )
)

# Quotes follow their deal's owner and team, like the deal itself.
QUOTE = register_object_type(
    ObjectType(
        key="quote",
        label="Quotes",
        default_grants=SALES_RECORD_GRANTS,
    )
)

# Approving a discount above the threshold: a manager over the quote owner's team, or an admin.
# ``update`` is the right that counts, with its scope (team: the teams the manager leads).
QUOTE_APPROVAL = register_object_type(
    ObjectType(
        key="quote_approval",
        label="Quote discount approval",
        default_grants={
            "admin": {Action.READ: Scope.ALL, Action.UPDATE: Scope.ALL},
            "sales_manager": {Action.READ: Scope.TEAM, Action.UPDATE: Scope.TEAM},
        },
    )
)
