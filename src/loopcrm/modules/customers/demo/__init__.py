"""Demo customers: about 1,000 accounts and 5,000 contacts that read like a real Chinese
pipeline, for ``loopcrm demo`` (``loopcrm.demo.load_demo_data``).

``plan_demo_customers`` plans them as plain data (seeded, deterministic, no database);
``load_demo_customers`` writes the plan once, as the demo admin, and returns the
``(subject_type, subject_id, owner_user_id)`` triples the activities demo gives a history.
"""

from loopcrm.modules.customers.demo.load import DemoCustomers, load_demo_customers
from loopcrm.modules.customers.demo.plan import (
    CUSTOM_FIELDS,
    DEMO_ACCOUNTS,
    DEMO_CONTACTS,
    DEMO_SEED,
    TAGS,
    DemoPlan,
    plan_demo_customers,
)

__all__ = [
    "CUSTOM_FIELDS",
    "DEMO_ACCOUNTS",
    "DEMO_CONTACTS",
    "DEMO_SEED",
    "TAGS",
    "DemoCustomers",
    "DemoPlan",
    "load_demo_customers",
    "plan_demo_customers",
]
