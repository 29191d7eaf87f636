"""Tables of orders (订单), their lines and payments, the yearly order-number counters and the runs
of order imports.

An order keeps its own copy of every line and amount: a quote revised, or a product repriced,
after the order was taken never changes what the customer bought. Amounts are exact decimals.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from loopcrm.platform.db import Base, Record, new_id, utc_now


class OrderStatus(StrEnum):
    """Where an order stands in its delivery."""

    CONFIRMED = "confirmed"  # taken and confirmed with the customer; still to be delivered
    FULFILLED = "fulfilled"  # delivered (final)
    CANCELLED = "cancelled"  # called off before delivery; nothing is delivered (final)


class PaymentStatus(StrEnum):
    """How much of an order's total has been paid, worked out from its recorded payments."""

    UNPAID = "unpaid"  # nothing paid yet
    PARTIAL = "partial"  # some paid, less than the total
    PAID = "paid"  # the total paid in full


class OrderOrigin(StrEnum):
    """How an order came into LoopCRM."""

    QUOTE = "quote"  # the customer accepted a quote
    API = "api"  # created through the REST API (a shop or ERP integration, a user's script)
    IMPORT = "import"  # a CSV/XLSX file of e-commerce orders
    MANUAL = "manual"  # typed by a user on the new-order page (taken by phone, email or in person)


class PaymentMethod(StrEnum):
    """How a payment was made."""

    BANK_TRANSFER = "bank_transfer"  # 银行转账
    ALIPAY = "alipay"  # 支付宝
    WECHAT_PAY = "wechat_pay"  # 微信支付
    CARD = "card"  # bank or credit card
    CASH = "cash"  # cash
    OTHER = "other"  # anything else


# Which status an order may move to from each status; anything else is refused.
ALLOWED_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.CONFIRMED: frozenset({OrderStatus.FULFILLED, OrderStatus.CANCELLED}),
    OrderStatus.FULFILLED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


def payment_status_of(total: Decimal, amount_paid: Decimal) -> PaymentStatus:
    """The payment status an order with this total and this much paid has."""
    if amount_paid <= 0:
        return PaymentStatus.PAID if total <= 0 else PaymentStatus.UNPAID
    return PaymentStatus.PAID if amount_paid >= total else PaymentStatus.PARTIAL


class Order(Record, Base):
    """An order: what a customer bought, at which prices, and how far it is delivered and paid.

    ``account_id`` and/or ``contact_id`` name the customer (a consumer's order has a contact
    only). ``customer_name`` is the customer's name when the order was taken, so lists need not
    look customers up. ``(channel, external_id)`` is the order's id in the shop it came from:
    importing or posting the same shop order again finds this one instead of adding another.
    """

    __tablename__ = "sales_orders"

    number: Mapped[str] = mapped_column(String(30), unique=True)  # SO-2026-000123
    origin: Mapped[str] = mapped_column(String(20), default=OrderOrigin.API.value)
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"))
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("contacts.id"))
    customer_name: Mapped[str] = mapped_column(String(200), default="")
    opportunity_id: Mapped[str | None] = mapped_column(ForeignKey("sales_opportunities.id"))
    # The accepted quote it was made from; at most one order per quote.
    quote_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0))  # before discounts
    discount_total: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0))
    tax_total: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0))
    total: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0))  # what the customer owes
    amount_paid: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0))
    status: Mapped[str] = mapped_column(String(20), default=OrderStatus.CONFIRMED.value)
    payment_status: Mapped[str] = mapped_column(String(20), default=PaymentStatus.UNPAID.value)
    ordered_at: Mapped[datetime] = mapped_column(default=utc_now)
    fulfilled_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
    channel: Mapped[str | None] = mapped_column(String(40))  # the shop: tmall, jd, youzan, shopify …
    external_id: Mapped[str | None] = mapped_column(String(100))
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id"))
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_sales_orders_channel_external_id"),
        # Timelines and purchase histories: a customer's orders, newest first.
        Index("ix_sales_orders_account_ordered", "account_id", "ordered_at"),
        Index("ix_sales_orders_contact_ordered", "contact_id", "ordered_at"),
        Index("ix_sales_orders_owner", "owner_id", "id"),
        Index("ix_sales_orders_opportunity", "opportunity_id"),
        Index("ix_sales_orders_ordered_at", "ordered_at"),
    )


class OrderLine(Base):
    """One line of an order, with its amounts worked out when the order was taken.

    ``discount_percent`` and ``tax_rate`` are percentages (13 means 13 % VAT).
    """

    __tablename__ = "sales_order_lines"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    order_id: Mapped[str] = mapped_column(ForeignKey("sales_orders.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    product_id: Mapped[str | None] = mapped_column(String(36))
    sku: Mapped[str] = mapped_column(String(64), default="")
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    discount_percent: Mapped[Decimal] = mapped_column(Numeric(7, 4), default=Decimal(0))
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(7, 4), default=Decimal(0))
    subtotal: Mapped[Decimal] = mapped_column(Numeric(18, 2))  # quantity × unit price
    discount_amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    tax_amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    total: Mapped[Decimal] = mapped_column(Numeric(18, 2))  # subtotal − discount + tax


class OrderPayment(Base):
    """A payment received for an order; the order's ``amount_paid`` is their sum."""

    __tablename__ = "sales_order_payments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    order_id: Mapped[str] = mapped_column(ForeignKey("sales_orders.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    paid_at: Mapped[datetime] = mapped_column(default=utc_now)
    method: Mapped[str] = mapped_column(String(20), default=PaymentMethod.BANK_TRANSFER.value)
    reference: Mapped[str | None] = mapped_column(String(100))
    recorded_by: Mapped[str | None] = mapped_column(String(36))
    recorded_at: Mapped[datetime] = mapped_column(default=utc_now)


class OrderNumberCounter(Base):
    """The last order number given out in a year, so numbers run SO-2026-000001, …000002 without gaps
    or repeats; the row is locked by the UPDATE that takes the next number."""

    __tablename__ = "sales_order_number_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class OrderImport(Base):
    """One upload of an e-commerce orders file: what landed, and the rejected rows with their reasons.

    ``report`` holds one item per rejected row: ``{"row", "external_id", "field", "message",
    "params"}`` (the message an English msgid, translated when the report is shown).
    """

    __tablename__ = "sales_order_imports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    file_name: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str | None] = mapped_column(String(40))
    created_by: Mapped[str | None] = mapped_column(String(36), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    orders_created: Mapped[int] = mapped_column(Integer, default=0)
    orders_unchanged: Mapped[int] = mapped_column(Integer, default=0)  # already imported before
    orders_rejected: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
