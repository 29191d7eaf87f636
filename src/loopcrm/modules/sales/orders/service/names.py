"""How orders' states and choices are called on pages and timelines (English msgids)."""

from __future__ import annotations

from loopcrm.modules.sales.orders.models import OrderOrigin, OrderStatus, PaymentMethod, PaymentStatus
from loopcrm.platform.i18n import N_

STATUS_NAMES: dict[str, str] = {
    OrderStatus.CONFIRMED.value: N_("Confirmed"),
    OrderStatus.FULFILLED.value: N_("Fulfilled"),
    OrderStatus.CANCELLED.value: N_("Cancelled"),
}
PAYMENT_STATUS_NAMES: dict[str, str] = {
    PaymentStatus.UNPAID.value: N_("Unpaid"),
    PaymentStatus.PARTIAL.value: N_("Partly paid"),
    PaymentStatus.PAID.value: N_("Paid"),
}
ORIGIN_NAMES: dict[str, str] = {
    OrderOrigin.QUOTE.value: N_("Accepted quote"),
    OrderOrigin.API.value: N_("API"),
    OrderOrigin.IMPORT.value: N_("Import"),
    OrderOrigin.MANUAL.value: N_("Typed by hand"),
}
PAYMENT_METHOD_NAMES: dict[str, str] = {
    PaymentMethod.BANK_TRANSFER.value: N_("Bank transfer"),
    PaymentMethod.ALIPAY.value: N_("Alipay"),
    PaymentMethod.WECHAT_PAY.value: N_("WeChat Pay"),
    PaymentMethod.CARD.value: N_("Card"),
    PaymentMethod.CASH.value: N_("Cash"),
    PaymentMethod.OTHER.value: N_("Other"),
}
