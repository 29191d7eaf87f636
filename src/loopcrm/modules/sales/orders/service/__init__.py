"""Use cases of orders, the one entry for entry points and other areas and modules
(``from loopcrm.modules.sales.orders import service as orders``).

* ``create_order`` (API, import, e-commerce) and ``create_order_from_quote_in`` (the quote
  acceptance listener: copies the lines, wins the deal, one order per quote);
* ``get_order``, ``list_orders``, ``change_status``, ``record_payment``;
* ``purchase_history`` for segments, the CDP and analytics;
* ``import_orders``, ``get_import``, ``list_imports`` for shop exports;
* the timeline source "orders" (kind "order"), registered with activities on import.
"""

from loopcrm.modules.sales.orders.service import timeline as _timeline  # noqa: F401 -- registers the source
from loopcrm.modules.sales.orders.service.imports import (
    COLUMN_NAMES,
    MAX_FILE_BYTES,
    UnreadableFile,
    get_import,
    import_orders,
    import_report_csv,
    list_imports,
)
from loopcrm.modules.sales.orders.service.names import (
    ORIGIN_NAMES,
    PAYMENT_METHOD_NAMES,
    PAYMENT_STATUS_NAMES,
    STATUS_NAMES,
)
from loopcrm.modules.sales.orders.service.object_types import ORDER
from loopcrm.modules.sales.orders.service.orders import (
    change_status,
    create_order,
    create_order_from_quote_in,
    get_order,
    list_orders,
    purchase_history,
    record_payment,
    take_order,
)

__all__ = [
    "COLUMN_NAMES",
    "MAX_FILE_BYTES",
    "ORDER",
    "ORIGIN_NAMES",
    "PAYMENT_METHOD_NAMES",
    "PAYMENT_STATUS_NAMES",
    "STATUS_NAMES",
    "UnreadableFile",
    "change_status",
    "create_order",
    "create_order_from_quote_in",
    "get_import",
    "get_order",
    "import_orders",
    "import_report_csv",
    "list_imports",
    "list_orders",
    "purchase_history",
    "record_payment",
    "take_order",
]
