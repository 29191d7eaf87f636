"""Demo sales: a year of leads, deals, quotes and orders over the demo customers, for
``loopcrm demo`` (``loopcrm.demo.load_demo_data``).

``ensure_settings`` (``setup``) makes the sales settings through the areas' services;
``plan_demo_sales`` plans the records as plain data over a snapshot of the demo customers and
those settings (seeded, deterministic, no database); ``load_demo_sales`` does all of it once, as
the demo admin, and rebuilds the win-probability model.
"""

from loopcrm.modules.sales.demo.load import DemoSales, load_demo_sales, read_world
from loopcrm.modules.sales.demo.plan import (
    DEALS_PER_ACCOUNT,
    DEMO_SALES_SEED,
    LEADS_PER_ACCOUNT,
    SalesPlan,
    plan_demo_sales,
)

__all__ = [
    "DEALS_PER_ACCOUNT",
    "DEMO_SALES_SEED",
    "LEADS_PER_ACCOUNT",
    "DemoSales",
    "SalesPlan",
    "load_demo_sales",
    "plan_demo_sales",
    "read_world",
]
