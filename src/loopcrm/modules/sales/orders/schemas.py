"""Input and output contracts of orders: what the API, the pages, the import and other modules
send and receive."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from loopcrm.modules.sales.orders.models import (
    OrderOrigin,
    OrderStatus,
    PaymentMethod,
    PaymentStatus,
)

RecordId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=36)]
CurrencyCode = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{3}$")
]
Channel = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=40, pattern=r"^\S+$"),
]
ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
# Orders hold at most this many lines: a larger shop order is an export, not an order.
MAX_LINES = 500


class Input(BaseModel):
    """Inputs refuse fields they do not know, so a typo is an error rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


class OrderLineIn(Input):
    """One line as sent: the amounts are worked out by the service."""

    product_id: RecordId | None = None
    sku: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] = ""
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    quantity: Decimal = Field(gt=0, max_digits=18, decimal_places=4)
    unit_price: Decimal = Field(ge=0, max_digits=18, decimal_places=4)
    discount_percent: Decimal = Field(default=Decimal(0), ge=0, le=100, max_digits=7, decimal_places=4)
    tax_rate: Decimal = Field(
        default=Decimal(0), ge=0, le=100, max_digits=7, decimal_places=4, description="percent, 13 for 13 %"
    )


class OrderCreate(Input):
    """A new order. A business order names an account (and maybe the buyer as contact); a
    consumer's order names a contact only. ``channel`` + ``external_id`` name a shop's order:
    sending the same pair again answers the order already taken and changes nothing."""

    account_id: RecordId | None = None
    contact_id: RecordId | None = None
    opportunity_id: RecordId | None = None
    currency: CurrencyCode | None = Field(default=None, description="defaults to the company currency")
    ordered_at: datetime | None = Field(default=None, description="defaults to now")
    channel: Channel | None = None
    external_id: ExternalId | None = None
    owner_id: RecordId | None = Field(default=None, description="defaults to the creator")
    team_id: RecordId | None = None
    note: Annotated[str, StringConstraints(max_length=5000)] | None = None
    lines: list[OrderLineIn] = Field(min_length=1, max_length=MAX_LINES)

    @model_validator(mode="after")
    def _names_a_customer(self) -> OrderCreate:
        if self.account_id is None and self.contact_id is None:
            raise ValueError("an order needs an account or a contact")
        if (self.channel is None) != (self.external_id is None):
            raise ValueError("channel and external_id go together")
        return self


class OrderLineOut(BaseModel):
    id: str
    position: int
    product_id: str | None
    sku: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    tax_rate: Decimal
    subtotal: Decimal
    discount_amount: Decimal
    tax_amount: Decimal
    total: Decimal


class PaymentIn(Input):
    """A payment received: positive, and at most what is still owed."""

    amount: Decimal = Field(gt=0, max_digits=18, decimal_places=2)
    paid_at: datetime | None = Field(default=None, description="defaults to now")
    method: PaymentMethod = PaymentMethod.BANK_TRANSFER
    reference: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None


class PaymentOut(BaseModel):
    id: str
    amount: Decimal
    paid_at: datetime
    method: PaymentMethod
    reference: str | None
    recorded_by: str | None
    recorded_at: datetime


class OrderOut(BaseModel):
    """An order with its lines and payments."""

    id: str
    number: str
    origin: OrderOrigin
    account_id: str | None
    contact_id: str | None
    customer_name: str
    opportunity_id: str | None
    quote_id: str | None
    currency: str
    subtotal: Decimal
    discount_total: Decimal
    tax_total: Decimal
    total: Decimal
    amount_paid: Decimal
    amount_due: Decimal
    status: OrderStatus
    payment_status: PaymentStatus
    ordered_at: datetime
    fulfilled_at: datetime | None
    cancelled_at: datetime | None
    channel: str | None
    external_id: str | None
    owner_id: str | None
    owner_name: str | None = None
    team_id: str | None
    note: str | None
    created_at: datetime
    updated_at: datetime
    version: int
    lines: list[OrderLineOut]
    payments: list[PaymentOut]


class OrderStatusChange(Input):
    """``PATCH /orders/{id}``: move the order to another status (confirmed → fulfilled or cancelled)."""

    status: OrderStatus


class OrderFilter(Input):
    """Which orders a list shows; every given condition must hold."""

    status: OrderStatus | None = None
    payment_status: PaymentStatus | None = None
    account_id: RecordId | None = None
    contact_id: RecordId | None = None
    channel: Channel | None = None
    ordered_from: date | None = Field(default=None, description="first day, in the reader's time zone")
    ordered_to: date | None = Field(default=None, description="last day, in the reader's time zone")
    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = Field(
        default=None, description="an order number, external id or customer name (prefix)"
    )


class ImportProblem(BaseModel):
    """One rejected row of an import and why (``message`` is translated when shown)."""

    row: int = Field(description="the row number in the file, the header being row 1")
    external_id: str | None
    field: str | None
    message: str
    params: dict[str, Any] = Field(default_factory=dict)


class OrderImportOut(BaseModel):
    """What one upload did: orders created, already there (unchanged) and rejected, row by row."""

    id: str
    file_name: str
    channel: str | None
    created_by: str | None
    created_at: datetime
    row_count: int
    orders_created: int
    orders_unchanged: int
    orders_rejected: int
    rows_rejected: int
    problems: list[ImportProblem]
